import { describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { createKeyring } from "../../../core/cluster-crypto/keyring.ts";
import { UdpTransport } from "../../../platform/transport/udp.ts";
import { request, TcpServer } from "../../../platform/transport/tcp.ts";

// Some sandboxes have no ::1; skip there rather than fail on the environment.
const hasV6 = await new Promise<boolean>((resolve) => {
  const s = createSocket("udp6");
  s.once("error", () => resolve(false));
  s.bind(0, "::1", () => s.close(() => resolve(true)));
});

const kr = createKeyring(new Uint8Array(32).fill(6));
if (!kr.ok) throw new Error(kr.error.message);
const keyring = kr.keyring;
const enc = new TextEncoder();
const dec = new TextDecoder();

describe("IPv6 loopback", () => {
  test.skipIf(!hasV6)("UDP and TCP work on [::1]", async () => {
    const got: string[] = [];
    const b = await UdpTransport.bind({ host: "::1", port: 0, keyring, onPacket: (p) => got.push(dec.decode(p)) });
    const a = await UdpTransport.bind({ host: "::1", port: 0, keyring, onPacket: () => {} });
    const clusterId = new Uint8Array(16);
    const srv = await TcpServer.listen({
      host: "::1",
      port: 0,
      keyring,
      clusterId,
      nodeId: "s",
      onStream: async (s) => {
        const m = await s.receive();
        if (m) await s.send(m);
      },
    });
    try {
      a.send(`[::1]:${b.address.port}`, enc.encode("over v6"));
      const deadline = Date.now() + 2000;
      while (got.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
      expect(got).toEqual(["over v6"]);
      const reply = await request({ host: "::1", port: srv.address.port, keyring, clusterId, nodeId: "c", intent: "push-pull" }, enc.encode("pp"));
      expect(dec.decode(reply)).toBe("pp");
    } finally {
      await Promise.all([a.close(), b.close(), srv.close()]);
    }
  });
});
