/**
 * The cluster resolver's sockets: UDP (platform/dns/udp.ts: on Bun on Linux
 * a native socket whose own thread answers repeated simple questions, else
 * Bun's socket with batched replies; node:dgram on Deno) and TCP (RFC 1035
 * two-byte length framing, several queries per connection) on each listen
 * address. It asks `decide` (core/net/dns-answer.ts over the current table)
 * what to do with a query, and forwards what is not the cluster's to the
 * upstream resolvers (forward.ts). Thin: no policy.
 *
 * Counting is plain integer increments per query (`counters`, and by
 * transport in `byTransport`, which several servers may share through the
 * `counts` option); metrics read them when scraped (metrics.ts). An
 * `onQuery` callback costs a call per query, which at the resolver's rate
 * matters: a labelled prom-client `inc` is ~170 ns, as much as answering a
 * query from the cache.
 *
 * Remembered answers (native UDP sockets only, and only when the owner says
 * what the answers come from: `tableVersion`): an answer `decide` gave to a
 * single A question is handed to the socket's thread, which gives it
 * (rotated) to the same asker's same question from then on without a
 * wake-up of JavaScript. They are forgotten as soon as `tableVersion()`
 * returns something else: checked at every query that reaches JavaScript and
 * every TABLE_CHECK_MS, so an answer outlives a change of the table by at
 * most that long. Queries answered so are counted as answered (read every
 * TABLE_CHECK_MS). With `onQuery`, nothing is remembered (it would not be
 * called for them).
 */
import { Buffer } from "node:buffer";
import { createServer, type Server, type Socket as TcpSocket } from "node:net";
import { parseIp } from "../../core/net/cidr.ts";
import { servfail, type DnsDecision } from "../../core/net/dns-answer.ts";
import type { Upstream } from "../../core/net/resolv-conf.ts";
import { forwardTcp, forwardUdp } from "./forward.ts";
import { listenUdp, type PeerAddress, type UdpImplementation, type UdpListener } from "./udp.ts";

export interface DnsListen {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
}

export type DnsTransport = "udp" | "tcp";
export type DnsOutcome = "answered" | "forwarded" | "forward_failed" | "dropped" | "truncated";

export interface DnsServerOptions {
  readonly listen: readonly DnsListen[];
  readonly decide: (query: Uint8Array, ctx: { askerIp: number | undefined; transport: DnsTransport; rotation: number }) => DnsDecision;
  readonly upstreams: () => readonly Upstream[];
  /** Deadline for an upstream answer (default 2000 ms). */
  readonly forwardTimeoutMs?: number;
  /** Where queries are counted by transport; several servers may share one (default: the server's own). */
  readonly counts?: DnsQueryCounts;
  /** Called for every query (see the header: prefer `counts` and metrics.ts). */
  readonly onQuery?: (outcome: DnsOutcome, transport: DnsTransport) => void;
  /**
   * What `decide` answers from (its identity: the table): while it returns
   * the same thing, native UDP sockets may give `decide`'s answers again by
   * themselves (see the header). Without it, every query reaches `decide`.
   */
  readonly tableVersion?: () => unknown;
}

/** How often a changed `tableVersion` is looked for (and remembered answers' counts collected), in ms. */
export const TABLE_CHECK_MS = 25;

export interface DnsCounters {
  answered: number;
  forwarded: number;
  forwardFailed: number;
  dropped: number;
  truncated: number;
}

const MAX_TCP_QUERY = 65535;
const TCP_IDLE_MS = 10_000;
const MAX_ASKERS = 4096;
/**
 * Bounds against a flood (each a socket or a connection to the upstream, or
 * memory): queries being forwarded at once (past it: SERVFAIL at once,
 * counted as forward_failed), TCP connections open at once (past it: closed
 * on accept), and replies a TCP asker has not read (past it: its connection
 * is not read until it drains).
 */
const MAX_FORWARDS_IN_FLIGHT = 256;
const MAX_TCP_CONNECTIONS = 256;
const MAX_TCP_UNREAD = 256 * 1024;

export interface DnsQueryCounts {
  readonly udp: DnsCounters;
  readonly tcp: DnsCounters;
}

const zero = (): DnsCounters => ({ answered: 0, forwarded: 0, forwardFailed: 0, dropped: 0, truncated: 0 });

export function newDnsQueryCounts(): DnsQueryCounts {
  return { udp: zero(), tcp: zero() };
}

export class DnsServer {
  private readonly udp: UdpListener[] = [];
  private readonly tcp: Server[] = [];
  private readonly conns = new Set<TcpSocket>();
  private rotation = 0;
  /** Queries sent upstream and not yet answered or timed out. */
  private forwarding = 0;
  /** Asker address as the socket gives it → its number (parsed once per asker). */
  private readonly askers = new Map<string, number | undefined>();
  /** This server's totals over both transports. */
  readonly counters: DnsCounters = zero();
  /** By transport: `opts.counts` when given (shared), else this server's own. */
  readonly byTransport: DnsQueryCounts;
  /** Whether answers are remembered by native sockets (tableVersion given, no onQuery). */
  private readonly remembering: boolean;
  /** The tableVersion() the remembered answers came from. */
  private version: unknown;
  private checker: ReturnType<typeof setInterval> | undefined;

  private constructor(private readonly opts: DnsServerOptions) {
    this.byTransport = opts.counts ?? newDnsQueryCounts();
    this.remembering = opts.tableVersion !== undefined && opts.onQuery === undefined;
    if (this.remembering) this.version = opts.tableVersion!();
  }

  static async start(opts: DnsServerOptions): Promise<DnsServer> {
    const s = new DnsServer(opts);
    try {
      for (const l of opts.listen) await s.bind(l);
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  /** Bound addresses (host:port), UDP and TCP share each port. */
  addresses(): { host: string; port: number }[] {
    return this.udp.map((u) => ({ host: u.host, port: u.port }));
  }

  /** Which UDP implementation each listen address got (udp.ts): bun or node. */
  udpImplementations(): UdpImplementation[] {
    return this.udp.map((u) => u.impl);
  }

  /** Replies the UDP sockets could not send (queue full, or the send failed). */
  get udpSendDrops(): number {
    let n = 0;
    for (const u of this.udp) n += u.sendDrops;
    return n;
  }

  async close(): Promise<void> {
    if (this.checker) clearInterval(this.checker);
    this.checker = undefined;
    this.collectRemembered();
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    await Promise.all([...this.udp.map((u) => u.close()), ...this.tcp.map((t) => new Promise<void>((r) => t.close(() => r())))]);
    this.udp.length = 0;
    this.tcp.length = 0;
  }

  /**
   * UDP and TCP on one port. With port 0 the port is the one UDP was given,
   * which TCP may have in use (other port space): then both try again.
   */
  private async bind(l: DnsListen): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const u = await listenUdp(l.host, l.port, (q, port, address, via) => this.onUdp(q, port, address, via));
      const t = createServer((c) => this.onTcp(c));
      try {
        await new Promise<void>((resolve, reject) => {
          t.once("error", reject);
          t.listen(u.port, l.host, () => {
            t.off("error", reject);
            resolve();
          });
        });
      } catch (e) {
        await u.close();
        if (l.port === 0 && (e as { code?: string }).code === "EADDRINUSE" && attempt < 8) continue;
        throw e;
      }
      this.udp.push(u);
      this.tcp.push(t);
      if (this.remembering && u.impl === "native" && !this.checker) {
        this.checker = setInterval(() => {
          this.checkTable();
          this.collectRemembered();
        }, TABLE_CHECK_MS);
        (this.checker as { unref?: () => void }).unref?.();
      }
      return;
    }
  }

  private count(outcome: DnsOutcome, transport: DnsTransport): void {
    const by = this.byTransport[transport];
    switch (outcome) {
      case "answered":
        this.counters.answered++;
        by.answered++;
        break;
      case "truncated":
        this.counters.truncated++;
        by.truncated++;
        break;
      case "forwarded":
        this.counters.forwarded++;
        by.forwarded++;
        break;
      case "forward_failed":
        this.counters.forwardFailed++;
        by.forwardFailed++;
        break;
      case "dropped":
        this.counters.dropped++;
        by.dropped++;
        break;
    }
    this.opts.onQuery?.(outcome, transport);
  }

  /** Forgets the sockets' remembered answers if the table changed since they were given. */
  private checkTable(): void {
    const v = this.opts.tableVersion!();
    if (v === this.version) return;
    this.version = v;
    for (const u of this.udp) u.forget();
  }

  /** Counts the queries the sockets answered from remembered answers. */
  private collectRemembered(): void {
    for (const u of this.udp) {
      const n = u.takeAnswered();
      if (n === 0) continue;
      this.counters.answered += n;
      this.byTransport.udp.answered += n;
    }
  }

  private askerIp(asker: PeerAddress): number | undefined {
    if (typeof asker === "number") return asker;
    let ip = this.askers.get(asker);
    if (ip === undefined && !this.askers.has(asker)) {
      ip = parseIp(asker.startsWith("::ffff:") ? asker.slice(7) : asker);
      if (this.askers.size >= MAX_ASKERS) this.askers.clear();
      this.askers.set(asker, ip);
    }
    return ip;
  }

  private decide(q: Uint8Array, asker: PeerAddress, transport: DnsTransport): DnsDecision {
    this.rotation = (this.rotation + 1) >>> 0;
    return this.opts.decide(q, { askerIp: this.askerIp(asker), transport, rotation: this.rotation });
  }

  private onUdp(q: Uint8Array, port: number, address: PeerAddress, via: UdpListener): void {
    if (this.remembering) this.checkTable();
    const d = this.decide(q, address, "udp");
    if (d.kind === "answer") {
      this.count(d.truncated ? "truncated" : "answered", "udp");
      via.reply(d.bytes, port, address);
      if (this.remembering && !d.truncated && d.answers > 0) via.remember(q, address, d.bytes);
    } else if (d.kind === "drop") this.count("dropped", "udp");
    else if (this.forwarding >= MAX_FORWARDS_IN_FLIGHT) {
      this.count("forward_failed", "udp");
      const out = servfail(q);
      if (out) via.reply(out, port, address);
    } else {
      this.forwarding++;
      // A native socket reuses the query's memory once this call returns.
      const own = q.slice();
      void forwardUdp(own, this.opts.upstreams(), this.deadline()).then((r) => {
        this.forwarding--;
        this.count(r ? "forwarded" : "forward_failed", "udp");
        const out = r ?? servfail(own);
        if (out) via.reply(out, port, address);
      });
    }
  }

  private onTcp(c: TcpSocket): void {
    if (this.conns.size >= MAX_TCP_CONNECTIONS) return void c.destroy();
    this.conns.add(c);
    c.on("drain", () => c.resume());
    c.setTimeout(TCP_IDLE_MS, () => c.destroy());
    c.on("error", () => {});
    c.on("close", () => this.conns.delete(c));
    let buf: Buffer = Buffer.alloc(0);
    const asker = c.remoteAddress ?? "";
    c.on("data", (chunk: Buffer) => {
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
      while (buf.length >= 2) {
        const n = buf.readUInt16BE(0);
        if (n === 0 || n > MAX_TCP_QUERY) return void c.destroy();
        if (buf.length < 2 + n) break;
        const q = new Uint8Array(buf.subarray(2, 2 + n));
        buf = buf.subarray(2 + n);
        void this.answerTcp(c, q, asker);
      }
    });
  }

  private async answerTcp(c: TcpSocket, q: Uint8Array, asker: string): Promise<void> {
    const d = this.decide(q, asker, "tcp");
    let out: Uint8Array | undefined;
    if (d.kind === "answer") {
      this.count("answered", "tcp");
      out = d.bytes;
    } else if (d.kind === "drop") {
      this.count("dropped", "tcp");
      return void c.destroy();
    } else if (this.forwarding >= MAX_FORWARDS_IN_FLIGHT) {
      this.count("forward_failed", "tcp");
      out = servfail(q);
    } else {
      this.forwarding++;
      const r = await forwardTcp(q, this.opts.upstreams(), this.deadline());
      this.forwarding--;
      this.count(r ? "forwarded" : "forward_failed", "tcp");
      out = r ?? servfail(q);
    }
    if (!out || c.destroyed) return;
    const frame = Buffer.alloc(2 + out.length);
    frame.writeUInt16BE(out.length, 0);
    frame.set(out, 2);
    c.write(frame);
    if (c.writableLength > MAX_TCP_UNREAD) c.pause();
  }

  private deadline(): number {
    return this.opts.forwardTimeoutMs ?? 2000;
  }
}
