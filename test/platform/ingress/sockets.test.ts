// Conn.writeScratch on real loopback sockets (Bun's and node:net): the
// caller overwrites its buffer right after each call, so whatever the kernel
// did not take at once must have been copied. A receiver that does not read
// makes the writes queue; every byte must still arrive as it was written.
import { afterEach, describe, expect, test } from "bun:test";
import { connectTcp, listenTcp, type Conn, type TcpListener } from "../../../platform/ingress/sockets.ts";

for (const impl of ["bun", "node"] as const) {
  describe(`Conn.writeScratch (${impl} sockets)`, () => {
    let listener: TcpListener | undefined;
    const conns: Conn[] = [];
    afterEach(() => {
      for (const c of conns) c.destroy();
      conns.length = 0;
      listener?.close();
      listener = undefined;
      delete process.env.FIZZ_INGRESS_SOCKETS;
    });

    test("bytes queued behind a full socket are the ones written, not what the buffer holds later", async () => {
      process.env.FIZZ_INGRESS_SOCKETS = impl;
      let server: Conn | undefined;
      const got: Uint8Array[] = [];
      let gotBytes = 0;
      let done: () => void = () => {};
      const CHUNK = 256 * 1024;
      let total = 0;
      const finished = new Promise<void>((r) => (done = r));
      listener = await listenTcp("127.0.0.1", 0, (c) => {
        server = c;
        conns.push(c);
        c.pause();
        c.setHandlers({
          onData: (d) => {
            got.push(Uint8Array.prototype.slice.call(d));
            gotBytes += d.length;
            if (total > 0 && gotBytes >= total) done();
          },
          onDrain() {},
          onEnd() {},
          onClose() {},
        });
      });
      const client = await connectTcp("127.0.0.1", listener.port, 2_000);
      conns.push(client);
      client.setHandlers({ onData() {}, onDrain() {}, onEnd() {}, onClose() {} });
      for (let i = 0; i < 200 && !server; i++) await Bun.sleep(5);
      const scratch = new Uint8Array(CHUNK + 100);
      let chunks = 0;
      let queued = 0;
      // Write until the kernel stops taking bytes, then three more (the queue path).
      while (queued < 4 && chunks < 400) {
        scratch.fill(1 + (chunks % 250));
        if (!client.writeScratch(scratch, CHUNK)) queued++;
        chunks++;
        scratch.fill(0xff);
      }
      expect(queued).toBe(4);
      total = chunks * CHUNK;
      server!.resume();
      await Promise.race([finished, Bun.sleep(10_000)]);
      expect(gotBytes).toBe(total);
      const all = new Uint8Array(total);
      let o = 0;
      for (const g of got) {
        all.set(g, o);
        o += g.length;
      }
      for (let k = 0; k < chunks; k++) {
        const want = 1 + (k % 250);
        const part = all.subarray(k * CHUNK, (k + 1) * CHUNK);
        expect(Buffer.from(part.buffer, part.byteOffset, part.length).equals(Buffer.alloc(CHUNK, want))).toBe(true);
      }
    }, 20_000);
  });
}
