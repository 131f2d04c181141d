/**
 * Runtime smoke check outside bun:test: `deno run -A test/platform/transport/deno-smoke.ts`
 * (also runs under bun). Exercises the real UDP and TCP transports on 127.0.0.1 —
 * delivery, wrong-key drop, TCP request and wrong-key rejection — and exits non-zero
 * on any mismatch.
 */
import { createKeyring, type Keyring } from "../../../core/cluster-crypto/keyring.ts";
import { isFizzError } from "../../../core/errors.ts";
import { UdpTransport } from "../../../platform/transport/udp.ts";
import { connect, request, TcpServer } from "../../../platform/transport/tcp.ts";

function ring(fill: number): Keyring {
  const r = createKeyring(new Uint8Array(32).fill(fill));
  if (!r.ok) throw new Error(r.error.message);
  return r.keyring;
}
const enc = new TextEncoder();
const dec = new TextDecoder();
const failures: string[] = [];
const check = (name: string, ok: boolean) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}`);
  if (!ok) failures.push(name);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const got: string[] = [];
const b = await UdpTransport.bind({ host: "127.0.0.1", port: 0, keyring: ring(1), onPacket: (p) => got.push(dec.decode(p)) });
const a = await UdpTransport.bind({ host: "127.0.0.1", port: 0, keyring: ring(1), onPacket: () => {} });
const x = await UdpTransport.bind({ host: "127.0.0.1", port: 0, keyring: ring(2), onPacket: () => {} });
a.send(b.address, enc.encode("hello"));
x.send(b.address, enc.encode("evil"));
for (let i = 0; i < 100 && b.counters.received < 2; i++) await sleep(10);
check("udp delivered", got.join() === "hello");
check("udp wrong key dropped", b.counters.dropped["unknown-key"] === 1);
await Promise.all([a.close(), b.close(), x.close()]);

const clusterId = new Uint8Array(16);
const srv = await TcpServer.listen({
  host: "127.0.0.1",
  port: 0,
  keyring: ring(1),
  clusterId,
  nodeId: "s",
  onStream: async (s) => {
    const m = await s.receive();
    if (m) await s.send(enc.encode(dec.decode(m).toUpperCase()));
  },
});
const opts = { host: "127.0.0.1", port: srv.address.port, clusterId, nodeId: "c", intent: "push-pull" as const };
check("tcp request", dec.decode(await request({ ...opts, keyring: ring(1) }, enc.encode("state"))) === "STATE");
try {
  await connect({ ...opts, keyring: ring(2) });
  check("tcp wrong key rejected", false);
} catch (e) {
  check("tcp wrong key rejected", isFizzError(e) && e.code === "cluster.wrong_key");
}
await srv.close();
if (failures.length > 0) process.exit(1);
