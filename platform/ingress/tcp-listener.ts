/**
 * One TCP ingress port (a published port or an x-fizz.ingress tcp entry):
 * each connection goes whole to the replica with the fewest open
 * connections. Trusted load balancers in front may send a PROXY header, which
 * is read first; a backend that opted in gets one (v1 or v2) naming the
 * client, so it sees who connected even though Fizz relays the bytes. A
 * refused connection is retried on another replica; with no ready replica
 * the connection waits up to a bound. Bytes are spliced both ways with
 * backpressure and half-close.
 */
import { inAnyCidr, type Cidr } from "../../core/ingress/address.ts";
import { encodeProxyHeader, type ProxyEndpoint } from "../../core/ingress/proxy-protocol.ts";
import { sniffHttp } from "../../core/ingress/http-head.ts";

/** How long a sniffed port waits for a client's first bytes before relaying as TCP (server-first protocols). */
const SNIFF_MS = 150;
import type { BackendSet } from "./backends.ts";
import { headerClient, readProxyHeader } from "./proxy-accept.ts";
import { ConnectError, listenTcp, type Conn, type TcpListener } from "./sockets.ts";
import { connectUpstream } from "./upstream-pool.ts";

export interface TcpIngressOptions {
  readonly host: string;
  readonly port: number;
  /** The replica set (looked up per connection, so route updates apply to new connections). */
  backends(): BackendSet | undefined;
  /** PROXY protocol version to send to the backend, if it opted in. */
  proxyProtocol(): 1 | 2 | undefined;
  /** What the port carries: HTTP (proxied with forwarding headers), raw TCP, or sniffed per connection. */
  app(): "http" | "tcp" | "auto";
  /** Runs a connection as HTTP (its first bytes already prepended); `peer` from a trusted PROXY header. */
  startHttp(c: Conn, peer: string | undefined): void;
  readonly acceptProxyFrom: readonly Cidr[];
  readonly connectTimeoutMs: number;
  readonly waitForReadyMs: number;
  readonly maxAttempts: number;
  record?(r: { route: string; ok: boolean; retries: number; seconds: number }): void;
  now(): number;
}

export class TcpIngress {
  private tcp: TcpListener | undefined;
  private open = new Set<Conn>();

  private constructor(private readonly o: TcpIngressOptions) {}

  static async open(o: TcpIngressOptions): Promise<TcpIngress> {
    const t = new TcpIngress(o);
    t.tcp = await listenTcp(o.host, o.port, (c) => t.accept(c));
    return t;
  }

  get port(): number {
    return this.tcp?.port ?? this.o.port;
  }

  connections(): number {
    return this.open.size;
  }

  private accept(c: Conn): void {
    this.open.add(c);
    // Until a backend is connected, client bytes are held here.
    const held: Uint8Array[] = [];
    let ended = false;
    let closed = false;
    const hold = {
      onData: (d: Uint8Array) => held.push(d),
      onDrain() {},
      onEnd: () => void (ended = true),
      onClose: () => {
        closed = true;
        this.open.delete(c);
      },
    };
    const relay = (client: ProxyEndpoint) => {
      c.setHandlers(hold);
      this.relay(c, client, held, () => ended, () => closed).catch(() => c.destroy());
    };
    const http = (client: ProxyEndpoint) => {
      this.open.delete(c);
      this.o.startHttp(c, client.address === c.remoteAddress ? undefined : client.address);
    };
    const go = (client: ProxyEndpoint) => {
      const app = this.o.app();
      if (app === "tcp") return relay(client);
      if (app === "http") return http(client);
      // Sniff: an HTTP request line means HTTP; anything else, or silence (a server-first protocol), means bytes.
      let buf = new Uint8Array(0);
      let decided = false;
      const decide = (as: "http" | "tcp") => {
        if (decided) return;
        decided = true;
        clearTimeout(timer);
        if (buf.length > 0) c.prepend(buf);
        if (as === "http") http(client);
        else relay(client);
      };
      const timer = setTimeout(() => decide("tcp"), SNIFF_MS);
      c.setHandlers({
        onData: (d) => {
          const all = new Uint8Array(buf.length + d.length);
          all.set(buf);
          all.set(d, buf.length);
          buf = all;
          const s = sniffHttp(buf);
          if (s !== "maybe") decide(s === "yes" ? "http" : "tcp");
        },
        onDrain() {},
        onEnd: () => {
          ended = true;
          decide("tcp");
        },
        onClose: () => {
          closed = true;
          clearTimeout(timer);
          this.open.delete(c);
        },
      });
    };
    if (inAnyCidr(this.o.acceptProxyFrom, c.remoteAddress)) {
      readProxyHeader(c, 5_000, (h) => go(headerClient(h) ?? { address: c.remoteAddress, port: c.remotePort }));
    } else go({ address: c.remoteAddress, port: c.remotePort });
  }

  private async relay(c: Conn, client: ProxyEndpoint, held: Uint8Array[], ended: () => boolean, closed: () => boolean): Promise<void> {
    const t0 = this.o.now();
    const tried: string[] = [];
    let attempts = 0;
    for (;;) {
      if (closed()) return;
      const set = this.o.backends();
      if (!set) {
        c.destroy();
        return;
      }
      const b = set.balancer.pick(this.o.now(), tried);
      if (!b) {
        const left = t0 + this.o.waitForReadyMs - this.o.now();
        if (attempts === 0 && set.balancer.ready() === 0 && left > 0) {
          const woke = await new Promise<boolean>((resolve) => set.wait(left, () => resolve(true), () => resolve(false)));
          if (woke) continue;
        }
        this.o.record?.({ route: set.label, ok: false, retries: Math.max(0, attempts - 1), seconds: (this.o.now() - t0) / 1000 });
        c.destroy();
        return;
      }
      attempts++;
      tried.push(b.key);
      set.balancer.start(b);
      let up: Conn;
      try {
        up = await connectUpstream(b.target, this.o.connectTimeoutMs);
      } catch (e) {
        set.balancer.finish(b, e instanceof ConnectError && e.kind === "refused" ? "refused" : "failed", this.o.now());
        if (attempts < this.o.maxAttempts) continue;
        this.o.record?.({ route: set.label, ok: false, retries: attempts - 1, seconds: (this.o.now() - t0) / 1000 });
        c.destroy();
        return;
      }
      if (closed()) {
        set.balancer.finish(b, "ok", this.o.now());
        up.destroy();
        return;
      }
      this.o.record?.({ route: set.label, ok: true, retries: attempts - 1, seconds: (this.o.now() - t0) / 1000 });
      const pp = this.o.proxyProtocol();
      if (pp) {
        up.write(encodeProxyHeader(pp, { command: "proxy", transport: "tcp", source: client, destination: { address: c.localAddress, port: c.localPort } }));
      }
      splice(c, up, held, ended(), () => set.balancer.finish(b, "ok", this.o.now()));
      return;
    }
  }

  close(): void {
    this.tcp?.close();
    for (const c of this.open) c.destroy();
  }
}

/** Relays both ways until both sides closed; `done` once. */
export function splice(a: Conn, b: Conn, heldFromA: readonly Uint8Array[], aEnded: boolean, done: () => void): void {
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    done();
  };
  for (const d of heldFromA) b.write(d);
  let aDone = aEnded;
  let bDone = false;
  a.setHandlers({
    onData: (d) => {
      if (!b.write(d)) a.pause();
    },
    onDrain: () => b.resume(),
    onEnd: () => {
      aDone = true;
      b.end();
      if (bDone) a.end();
    },
    onClose: () => {
      b.destroy();
      finish();
    },
  });
  b.setHandlers({
    onData: (d) => {
      if (!a.write(d)) b.pause();
    },
    onDrain: () => a.resume(),
    onEnd: () => {
      bDone = true;
      a.end();
      if (aDone) b.end();
    },
    onClose: () => {
      a.destroy();
      finish();
    },
  });
  if (aEnded) b.end();
}
