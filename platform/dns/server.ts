/**
 * The cluster resolver's sockets: UDP and TCP (RFC 1035 two-byte length
 * framing, several queries per connection) on each listen address. It asks
 * `decide` (core/net/dns-answer.ts over the current table) what to do with a
 * query, and forwards what is not the cluster's to the upstream resolvers:
 * the first upstream that answers within the deadline wins; after the
 * deadline the asker gets SERVFAIL rather than silence. Thin: no policy.
 */
import { Buffer } from "node:buffer";
import { createSocket, type Socket } from "node:dgram";
import { createServer, connect, type Server, type Socket as TcpSocket } from "node:net";
import { parseIp } from "../../core/net/cidr.ts";
import { servfail, type DnsDecision } from "../../core/net/dns-answer.ts";
import type { Upstream } from "../../core/net/resolv-conf.ts";
import { bunUdpBind, type BunUdpSocket } from "../runtime.ts";

export interface DnsListen {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
}

export interface DnsServerOptions {
  readonly listen: readonly DnsListen[];
  readonly decide: (query: Uint8Array, ctx: { askerIp: number | undefined; transport: "udp" | "tcp"; rotation: number }) => DnsDecision;
  readonly upstreams: () => readonly Upstream[];
  /** Deadline for an upstream answer (default 2000 ms). */
  readonly forwardTimeoutMs?: number;
  readonly onQuery?: (outcome: "answered" | "forwarded" | "forward_failed" | "dropped" | "truncated", transport: "udp" | "tcp") => void;
}

export interface DnsCounters {
  answered: number;
  forwarded: number;
  forwardFailed: number;
  dropped: number;
  truncated: number;
}

const MAX_TCP_QUERY = 65535;
const TCP_IDLE_MS = 10_000;

export class DnsServer {
  private readonly udp: Socket[] = [];
  private readonly bunUdp: BunUdpSocket[] = [];
  private readonly tcp: Server[] = [];
  private readonly conns = new Set<TcpSocket>();
  private rotation = 0;
  readonly counters: DnsCounters = { answered: 0, forwarded: 0, forwardFailed: 0, dropped: 0, truncated: 0 };

  private constructor(private readonly opts: DnsServerOptions) {}

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
    return [
      ...this.udp.map((u) => {
        const a = u.address();
        return { host: a.address, port: a.port };
      }),
      ...this.bunUdp.map((u) => ({ host: u.hostname, port: u.port })),
    ];
  }

  async close(): Promise<void> {
    for (const c of this.conns) c.destroy();
    this.conns.clear();
    await Promise.all([
      ...this.udp.map((u) => new Promise<void>((r) => u.close(() => r()))),
      ...this.tcp.map((t) => new Promise<void>((r) => t.close(() => r()))),
    ]);
    for (const u of this.bunUdp) u.close();
    this.udp.length = 0;
    this.bunUdp.length = 0;
    this.tcp.length = 0;
  }

  private async bind(l: DnsListen): Promise<void> {
    const native = bunUdpBind();
    const port = native ? await this.bindBun(native, l) : await this.bindDgram(l);
    const t = createServer((c) => this.onTcp(c));
    await new Promise<void>((resolve, reject) => {
      t.once("error", reject);
      t.listen(port, l.host, () => {
        t.off("error", reject);
        resolve();
      });
    });
    this.tcp.push(t);
  }

  private async bindBun(bind: NonNullable<ReturnType<typeof bunUdpBind>>, l: DnsListen): Promise<number> {
    const u = await bind(l.host, l.port, (s, buf, port, address) => this.onUdp((b) => void s.send(b, port, address), buf, address));
    this.bunUdp.push(u);
    return u.port;
  }

  private async bindDgram(l: DnsListen): Promise<number> {
    const u = createSocket({ type: "udp4", reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      u.once("error", reject);
      u.bind(l.port, l.host, () => {
        u.off("error", reject);
        resolve();
      });
    });
    u.on("error", () => {});
    u.on("message", (msg, rinfo) => this.onUdp((b) => u.send(b, rinfo.port, rinfo.address), new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), rinfo.address));
    this.udp.push(u);
    return u.address().port;
  }

  private count(outcome: "answered" | "forwarded" | "forward_failed" | "dropped" | "truncated", transport: "udp" | "tcp"): void {
    if (outcome === "forward_failed") this.counters.forwardFailed++;
    else this.counters[outcome]++;
    this.opts.onQuery?.(outcome, transport);
  }

  private readonly askers = new Map<string, number | undefined>();

  private decide(q: Uint8Array, asker: string, transport: "udp" | "tcp"): DnsDecision {
    this.rotation = (this.rotation + 1) >>> 0;
    let ip = this.askers.get(asker);
    if (ip === undefined && !this.askers.has(asker)) {
      ip = parseIp(asker.replace(/^::ffff:/, ""));
      if (this.askers.size > 4096) this.askers.clear();
      this.askers.set(asker, ip);
    }
    return this.opts.decide(q, { askerIp: ip, transport, rotation: this.rotation });
  }

  private onUdp(reply: (b: Uint8Array) => void, q: Uint8Array, host: string): void {
    const d = this.decide(q, host, "udp");
    if (d.kind === "answer") {
      this.count(d.truncated ? "truncated" : "answered", "udp");
      reply(d.bytes);
    } else if (d.kind === "drop") this.count("dropped", "udp");
    else {
      void this.forwardUdp(q).then((r) => {
        this.count(r ? "forwarded" : "forward_failed", "udp");
        const out = r ?? servfail(q);
        if (out) reply(out);
      });
    }
  }

  private onTcp(c: TcpSocket): void {
    this.conns.add(c);
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
    } else {
      const r = await this.forwardTcp(q);
      this.count(r ? "forwarded" : "forward_failed", "tcp");
      out = r ?? servfail(q);
    }
    if (!out || c.destroyed) return;
    const frame = Buffer.alloc(2 + out.length);
    frame.writeUInt16BE(out.length, 0);
    frame.set(out, 2);
    c.write(frame);
  }

  private deadline(): number {
    return this.opts.forwardTimeoutMs ?? 2000;
  }

  /** Ask every upstream at once over UDP; the first answer with our id wins. */
  private forwardUdp(q: Uint8Array): Promise<Uint8Array | undefined> {
    const ups = this.opts.upstreams();
    if (ups.length === 0) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const s = createSocket("udp4");
      let done = false;
      const finish = (r: Uint8Array | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        s.close();
        resolve(r);
      };
      const timer = setTimeout(() => finish(undefined), this.deadline());
      s.on("error", () => finish(undefined));
      s.on("message", (m) => {
        if (m.length >= 2 && m[0] === own[0] && m[1] === own[1]) finish(new Uint8Array(m));
      });
      // Bun's UDP callback may reuse its buffer: keep our own copy for the id check.
      const own = q.slice();
      for (const u of ups) s.send(own, u.port, u.host);
    });
  }

  private forwardTcp(q: Uint8Array): Promise<Uint8Array | undefined> {
    const u = this.opts.upstreams()[0];
    if (!u) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      let done = false;
      let buf: Buffer = Buffer.alloc(0);
      const c = connect(u.port, u.host);
      const finish = (r: Uint8Array | undefined): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        c.destroy();
        resolve(r);
      };
      const timer = setTimeout(() => finish(undefined), this.deadline());
      c.on("error", () => finish(undefined));
      c.on("connect", () => {
        const f = Buffer.alloc(2 + q.length);
        f.writeUInt16BE(q.length, 0);
        f.set(q, 2);
        c.write(f);
      });
      c.on("data", (chunk: Buffer) => {
        buf = Buffer.concat([buf, chunk]);
        if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) finish(new Uint8Array(buf.subarray(2, 2 + buf.readUInt16BE(0))));
      });
      c.on("close", () => finish(undefined));
    });
  }
}
