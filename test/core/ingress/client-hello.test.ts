import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import net from "node:net";
import tls from "node:tls";
import { clientHelloServerName } from "../../../core/ingress/client-hello.ts";

/** A real ClientHello from this runtime's TLS client, asking for `servername` (or none). */
async function hello(servername: string | undefined): Promise<Uint8Array> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
  const got = new Promise<Uint8Array>((resolve) => {
    srv.once("connection", (s) => {
      let buf = Buffer.alloc(0);
      s.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        const len = buf.length >= 5 ? ((buf[3]! << 8) | buf[4]!) + 5 : Infinity;
        if (buf.length >= len) {
          resolve(new Uint8Array(buf.subarray(0, len)));
          s.destroy();
        }
      });
    });
  });
  const c = tls.connect({ host: "127.0.0.1", port: (srv.address() as net.AddressInfo).port, ...(servername ? { servername } : {}), rejectUnauthorized: false });
  c.on("error", () => {});
  const b = await got;
  c.destroy();
  srv.close();
  return b;
}

describe("ClientHello server name", () => {
  test("read from real ClientHellos; every prefix needs more; a hello split over two records reads the same", async () => {
    for (const name of ["shop.test", "A.Example.COM", "x.y.z.example"]) {
      const h = await hello(name);
      expect(clientHelloServerName(h)).toEqual({ kind: "ok", serverName: name.toLowerCase() });
      for (let i = 0; i < h.length; i += 7) expect(clientHelloServerName(h.subarray(0, i)).kind).toBe("need-more");
      // Followed by more bytes (the rest of the stream): still the same.
      expect(clientHelloServerName(new Uint8Array([...h, 1, 2, 3]))).toEqual({ kind: "ok", serverName: name.toLowerCase() });
      // The same handshake in two records.
      const body = h.subarray(5);
      const cut = 40;
      const rec = (part: Uint8Array) => new Uint8Array([0x16, 0x03, 0x01, part.length >> 8, part.length & 0xff, ...part]);
      const split = new Uint8Array([...rec(body.subarray(0, cut)), ...rec(body.subarray(cut))]);
      expect(clientHelloServerName(split)).toEqual({ kind: "ok", serverName: name.toLowerCase() });
    }
    // An IP address gets no SNI from a client; a hello without it is fine.
    expect(clientHelloServerName(await hello(undefined))).toEqual({ kind: "ok", serverName: undefined });
  });

  test("what cannot start a TLS handshake is said at once; garbage never throws", () => {
    expect(clientHelloServerName(new TextEncoder().encode("GET / HTTP/1.1\r\n")).kind).toBe("not-tls");
    expect(clientHelloServerName(new Uint8Array([0x16, 0x03, 0x01, 0, 0])).kind).toBe("not-tls");
    expect(clientHelloServerName(new Uint8Array([0x16, 0x03, 0x01, 0, 4, 0x02, 0, 0, 0])).kind).toBe("not-tls");
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.boolean(), (b, prefix) => {
        const input = prefix ? new Uint8Array([0x16, 0x03, 0x01, b.length >> 8, b.length & 0xff, 0x01, ...b]) : b;
        const r = clientHelloServerName(input);
        expect(["need-more", "not-tls", "ok"]).toContain(r.kind);
      }),
      { numRuns: 2000 },
    );
  });
});
