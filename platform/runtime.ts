/**
 * The only place that knows whether we run on Bun or Deno. Everything else
 * uses `node:` built-ins, which both runtimes provide.
 */
declare const Bun:
  | {
      version: string;
      listen?: unknown;
      connect?: unknown;
      gc?(force?: boolean): void;
      shrink?(): void;
      unsafe?: { setJITPolicy?(scale: number): void };
      udpSocket?(opts: { hostname: string; port: number; binaryType?: "uint8array"; socket: BunUdpHandler }): Promise<BunUdpSocket>;
    }
  | undefined;
declare const Deno:
  | {
      version: { deno: string };
      createHttpClient?(o: { caCerts?: string[]; cert?: string; key?: string }): unknown;
    }
  | undefined;

export type RuntimeName = "bun" | "deno" | "node";

/** Bun's native UDP socket (a subset of its API). */
export interface BunUdpSocket {
  readonly port: number;
  readonly hostname: string;
  send(data: Uint8Array, port: number, address: string): boolean;
  /**
   * Several datagrams in one sendmmsg: a flat list of (data, port, address)
   * triples. Returns how many went out; for fewer than all, the socket is
   * full and `drain` is called once it takes more.
   */
  sendMany(packets: readonly (Uint8Array | number | string)[]): number;
  close(): void;
}

export interface BunUdpHandler {
  /** One datagram; `buf` is the datagram's own copy. */
  data(s: BunUdpSocket, buf: Uint8Array, port: number, address: string): void;
  drain?(s: BunUdpSocket): void;
}

/**
 * Bun's native UDP bind, or undefined elsewhere (use node:dgram). Measured for
 * the cluster resolver: a no-parse echo server answers dnsperf at 129k
 * queries/s through it against 119k through node:dgram on Bun (bench/dns.ts).
 */
export function bunUdpBind(): ((host: string, port: number, handler: BunUdpHandler) => Promise<BunUdpSocket>) | undefined {
  if (typeof Bun === "undefined" || typeof Bun.udpSocket !== "function") return undefined;
  const udp = Bun.udpSocket.bind(Bun);
  return (hostname, port, socket) => udp({ hostname, port, binaryType: "uint8array", socket });
}

/** Bun's foreign function interface (bun:ffi), or undefined on other runtimes. */
export async function bunFfi(): Promise<typeof import("bun:ffi") | undefined> {
  if (typeof Bun === "undefined") return undefined;
  // Not a literal: Deno builds its module graph from literal specifiers and knows no bun: scheme.
  const specifier = "bun:ffi";
  try {
    return (await import(specifier)) as typeof import("bun:ffi");
  } catch {
    return undefined;
  }
}

export function runtimeName(): RuntimeName {
  if (typeof Bun !== "undefined") return "bun";
  if (typeof Deno !== "undefined") return "deno";
  return "node";
}

export function runtimeVersion(): string {
  if (typeof Bun !== "undefined") return `bun ${Bun.version}`;
  if (typeof Deno !== "undefined") return `deno ${Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

/** True when running as a `bun build --compile` single executable. */
export function isCompiledBinary(): boolean {
  return import.meta.url.includes("$bunfs") || import.meta.url.includes("~BUN");
}

/**
 * For a long-running process once its startup burst is over (the agent, after it
 * serves): ends the raised JIT tier-up thresholds the compiled binary starts with
 * (scripts/build.sh, --compile-jit-policy), so code that runs from now on is
 * compiled as usual, and hands back to the OS what startup left behind: garbage,
 * and the compiled code of run-once startup functions (JavaScriptCore's
 * shrink-when-idle; a function that runs again is reloaded from its bytecode).
 * Worth ~3-7 MB of resident memory on an idle agent (bench/agent-api.ts).
 * A no-op on Deno and Node.
 */
export function settleAfterStartup(): void {
  if (typeof Bun === "undefined") return;
  Bun.unsafe?.setJITPolicy?.(1);
  Bun.gc?.(true);
  Bun.shrink?.();
}

let gcTimer: ReturnType<typeof setTimeout> | undefined;

/**
 * Asks for a full garbage collection shortly (at most one pending at a time),
 * after work that left megabytes of garbage: a large request body is parsed,
 * validated and copied several times, and JavaScriptCore collects lazily, so
 * a run of them took the agent from 70 MB to 200+ MB (test/fuzz/api.fuzz.test.ts).
 * A no-op on Deno and Node.
 */
export function collectGarbageSoon(delayMs = 250): void {
  if (typeof Bun === "undefined" || gcTimer !== undefined) return;
  gcTimer = setTimeout(() => {
    gcTimer = undefined;
    Bun.gc?.(true);
  }, delayMs);
  (gcTimer as { unref?: () => void }).unref?.();
}

export interface MemoryGuard {
  /** Full collections the guard asked for so far. */
  readonly collections: () => number;
  stop(): void;
}

/**
 * Keeps a long-running process's resident memory near what it holds, the way
 * Go's GOMEMLIMIT does: JavaScriptCore collects when its own heap grows, but
 * it does not count native memory that JS objects own (request buffers,
 * SQLite statements, sockets), so a burst of requests let the agent's RSS
 * climb from 95 MB to 200+ MB while its live heap stayed at 25 MB (issue 18's
 * API fuzz, seed 182026; `bun --heap-prof-md`). Every `intervalMs` (50 ms: a
 * burst of garbage outgrows a 250 ms one: docs/ENGINEERING.md) this reads the
 * RSS (one cheap syscall); once it is `growthBytes` past what the last
 * full collection left (and past `floorBytes`), it asks for one, then frees
 * what the allocator holds (Bun.shrink). A no-op on Deno and Node, whose
 * collectors count external memory.
 */
export function startMemoryGuard(o: { intervalMs?: number; growthBytes?: number; floorBytes?: number; onCollect?: (rssBefore: number, rssAfter: number, ms: number) => void } = {}): MemoryGuard {
  let collections = 0;
  if (typeof Bun === "undefined" || !Bun.gc) return { collections: () => 0, stop: () => {} };
  const gc = Bun.gc;
  const growth = o.growthBytes ?? 24 * 1024 * 1024;
  const floor = o.floorBytes ?? 96 * 1024 * 1024;
  let base = process.memoryUsage.rss();
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss < floor || rss - base < growth) {
      // What the allocator gave back on its own counts as the new base.
      if (rss < base) base = rss;
      return;
    }
    const t0 = performance.now();
    gc(true);
    Bun?.shrink?.();
    collections++;
    base = process.memoryUsage.rss();
    o.onCollect?.(rss, base, performance.now() - t0);
  }, o.intervalMs ?? 50);
  (timer as { unref?: () => void }).unref?.();
  return { collections: () => collections, stop: () => clearInterval(timer) };
}

/**
 * Bun loads `.env` (and `.env.local`, `.env.<NODE_ENV>`) from the current
 * directory into process.env before any of our code runs, without Compose's
 * interpolation rules. In a compose project that file is the project's own
 * `.env`, which Fizz must read itself: `IMAGE=${IMAGE:-app}` would otherwise
 * arrive as a literal "shell" value and win. This puts back the environment
 * the process was started with, read from /proc/self/environ (Linux). The
 * release executable is built with --no-compile-autoload-dotenv, so this
 * only matters when running from source under Bun; elsewhere it is a no-op.
 */
export function restoreLaunchEnvironment(read: (path: string) => Uint8Array | undefined): void {
  if (typeof Bun === "undefined") return;
  const raw = read("/proc/self/environ");
  if (!raw) return;
  const launch = new Map<string, string>();
  for (const entry of new TextDecoder().decode(raw).split("\0")) {
    const eq = entry.indexOf("=");
    if (eq > 0) launch.set(entry.slice(0, eq), entry.slice(eq + 1));
  }
  if (launch.size === 0) return;
  for (const k of Object.keys(process.env)) if (!launch.has(k)) delete process.env[k];
  for (const [k, v] of launch) if (process.env[k] !== v) process.env[k] = v;
}

/**
 * Bun's native TCP API (Bun.listen / Bun.connect) when running on Bun, else
 * undefined. The ingress proxy's data path uses it because node:net in Bun
 * costs about twice the CPU per request (docs/ENGINEERING.md); its caller
 * (platform/ingress/sockets.ts) types it and falls back to node:net.
 */
export function bunTcp(): { listen: unknown; connect: unknown } | undefined {
  if (typeof Bun === "undefined" || typeof Bun.listen !== "function" || typeof Bun.connect !== "function") return undefined;
  return { listen: Bun.listen, connect: Bun.connect };
}

/**
 * TLS settings for the global fetch, in each runtime's own spelling (the
 * standard has none): Bun's `tls`, Deno's `client`. Used for bulk transfers
 * (registry blobs), where the runtime's native fetch is cheapest. Node's
 * fetch takes no such option; callers there keep undici.
 */
export function fetchTls(o: { ca?: string; cert?: string; key?: string; noHostnameCheck?: boolean } | undefined): Record<string, unknown> {
  if (!o) return {};
  if (typeof Bun !== "undefined") {
    return { tls: { ...(o.ca ? { ca: o.ca } : {}), ...(o.cert ? { cert: o.cert, key: o.key } : {}), ...(o.noHostnameCheck ? { checkServerIdentity: () => undefined } : {}) } };
  }
  if (typeof Deno !== "undefined" && Deno.createHttpClient) {
    return { client: Deno.createHttpClient({ ...(o.ca ? { caCerts: [o.ca] } : {}), ...(o.cert ? { cert: o.cert, key: o.key } : {}) }) };
  }
  return {};
}
