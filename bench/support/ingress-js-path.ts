/**
 * The ingress's JavaScript per proxied request, without sockets: a real
 * HttpSession, UpstreamPool, BackendSet and the agent's metrics over fake
 * connections that take every write, fed a request and its response N times;
 * prints CPU nanoseconds per request and the JavaScript objects each request
 * leaves for the collector (by type, counted with bun:jsc's heapStats over
 * 1,000 requests after a full collection; the bench's own input buffers are
 * made beforehand). What bench/ingress.ts cannot separate
 * from the socket layer and the machine's load; used to measure changes to
 * the hot path (docs/ENGINEERING.md). TREE is a checkout whose ingress code
 * to load (default: this one), so two versions can be run in turn.
 *
 *   bun bench/support/ingress-js-path.ts [TREE] [N]        (BROWSER=1: a browser's headers)
 */
import { join } from "node:path";

const tree = process.argv[2] ?? join(import.meta.dir, "..", "..");
const N = Number(process.argv[3] ?? 200000);
const { HttpSession } = await import(`${tree}/platform/ingress/http-proxy.ts`);
const { UpstreamPool } = await import(`${tree}/platform/ingress/upstream-pool.ts`);
const { BackendSet } = await import(`${tree}/platform/ingress/backends.ts`);
const { createIngressMetrics } = await import(`${tree}/platform/ingress/metrics.ts`);
const { Registry } = await import("prom-client");

class FakeConn {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the session's handlers, typed in the tree loaded at run time
  h: any = { onData() {}, onDrain() {}, onEnd() {}, onClose() {} };
  closed = false;
  written = 0;
  constructor(readonly remoteAddress: string, readonly remotePort = 1, readonly localAddress = "127.0.0.1", readonly localPort = 2) {}
  setHandlers(h: typeof this.h) { this.h = h; }
  prepend() {}
  write(b: Uint8Array) { this.written += b.length; return true; }
  writeScratch(_b: Uint8Array, n: number) { this.written += n; return true; }
  end() {}
  destroy() { this.closed = true; }
  pause() {}
  resume() {}
}
const pool = new UpstreamPool(1000);
const set = new BackendSet("bench/web:80");
const target = { host: "127.0.0.1", port: 9 };
set.update([{ key: "web/0", state: "ready", target }]);
const up = new FakeConn("127.0.0.1");
const pc = { conn: up, key: UpstreamPool.key(target), owner: pool, reused: false, idleSince: 0 };
up.setHandlers({ onData: (d: Uint8Array) => pc.owner.upData(pc, d), onDrain: () => pc.owner.upDrain(pc), onEnd: () => pc.owner.upEnd(pc), onClose: () => pc.owner.upClose(pc) });
pool.give(pc, 0);
const metrics = createIngressMetrics(new Registry());
const client = new FakeConn("10.0.0.7");
new HttpSession(client as any, { scheme: "http", trusted: [], resolve: () => set.hit ?? { backends: set, route: set.label }, pool, waitForReadyMs: 1000, maxAttempts: 3, clientIdleMs: 60000, responseTimeoutMs: 60000, record: metrics.recordHttp, now: () => performance.now() });
const HDRS = process.env.BROWSER ? "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\nAccept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8\r\nAccept-Language: en-GB,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nConnection: keep-alive\r\nUpgrade-Insecure-Requests: 1\r\nCookie: session=0123456789abcdef0123456789abcdef\r\n" : "";
// Buffers, as the sockets deliver them (made beforehand, so the counts below are the proxy's alone).
const reqs = Array.from({ length: 64 }, () => Buffer.from(`GET /index.html HTTP/1.1\r\nHost: bench.test\r\n${HDRS}\r\n`));
const ress = Array.from({ length: 64 }, () => Buffer.from("HTTP/1.1 200 OK\r\ncontent-length: 30\r\ncontent-type: text/plain\r\ncache-control: no-cache\r\n\r\nhello from a backend, 32 bytes"));
function run(n: number) {
  for (let i = 0; i < n; i++) {
    client.h.onData(reqs[i & 63]!);
    up.h.onData(ress[i & 63]!);
  }
}
run(20000);
const before = client.written;
const t0 = process.cpuUsage();
run(N);
const t = process.cpuUsage(t0);
if (client.written === before) throw new Error("nothing proxied");
// Objects per request: what a full collection leaves, then what 1,000 requests add (no collection runs in between at this size).
const jsc = await import("bun:jsc");
const K = 1000;
jsc.fullGC();
const c0 = jsc.heapStats().objectTypeCounts as Record<string, number>;
run(K);
const c1 = jsc.heapStats().objectTypeCounts as Record<string, number>;
const perType = Object.keys(c1)
  .map((k) => [k, ((c1[k] ?? 0) - (c0[k] ?? 0)) / K] as const)
  .filter(([, n]) => n >= 0.01)
  .sort((a, b) => b[1] - a[1]);
const objects = perType.reduce((a, [, n]) => a + n, 0);
console.log(`${tree.split("/").pop()} ${process.env.BROWSER ? "browser-headers" : "wrk-headers"} ns/request ${(((t.user + t.system) * 1000) / N).toFixed(0)} objects/request ${objects.toFixed(2)} (${perType.map(([k, n]) => `${k} ${n.toFixed(2)}`).join(", ") || "none"})`);
