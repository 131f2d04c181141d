/**
 * A node's ingress: the listeners the route table asks for (HTTP by host and
 * path, HTTPS by SNI, TCP, UDP) and the replica sets they send to. `apply`
 * takes a new plan (route table + replicas per target) and changes only what
 * differs: listeners open and close by port, replica sets update in place, so
 * connections and counters survive a change. A port that cannot be bound is
 * reported, not fatal (the rest still serve).
 */
import type { Cidr } from "../../core/ingress/address.ts";
import type { BackendSpec, BalancerConfig } from "../../core/ingress/balancer.ts";
import { matchHttpRoute, targetKey, type HttpRoute, type RouteTable, type ServiceRef } from "../../core/ingress/routes.ts";
import { BackendSet } from "./backends.ts";
import type { CertStore } from "./certs.ts";
import { HttpListener } from "./http-listener.ts";
import { HttpSession, type HttpProxyConfig } from "./http-proxy.ts";
import type { IngressMetrics } from "./metrics.ts";
import { TcpIngress } from "./tcp-listener.ts";
import { UdpIngress } from "./udp-listener.ts";
import { UpstreamPool, type Upstream } from "./upstream-pool.ts";

export interface IngressPlan {
  readonly table: RouteTable;
  /** Replicas per target (targetKey). */
  readonly backends: ReadonlyMap<string, readonly BackendSpec<Upstream>[]>;
}

export { targetKey };

export interface IngressServerOptions {
  /** Address the listeners bind (e.g. "0.0.0.0", or a test's loopback address). */
  readonly bind: string;
  /** Ranges whose X-Forwarded-For/Forwarded headers are believed. */
  readonly trustedProxies: readonly Cidr[];
  /** Ranges that must send a PROXY protocol header first (load balancers in front). */
  readonly acceptProxyFrom: readonly Cidr[];
  readonly certs: CertStore;
  acmeChallenge(token: string): string | undefined;
  readonly metrics?: IngressMetrics;
  readonly connectTimeoutMs?: number;
  readonly waitForReadyMs?: number;
  readonly responseTimeoutMs?: number;
  readonly clientIdleMs?: number;
  readonly udpIdleMs?: number;
  readonly balancer?: BalancerConfig;
  now(): number;
}

export interface ListenerProblem {
  readonly port: number;
  readonly kind: "http" | "https" | "tcp" | "udp";
  readonly error: string;
  /** The system's error code (EADDRINUSE: another process holds the port; EACCES: a privileged port), when there is one. */
  readonly code?: string;
}

/** A bind failure's text with its code: Bun's says only "Failed to listen at 0.0.0.0", the code says why. */
function listenError(e: unknown): { error: string; code?: string } {
  const message = e instanceof Error ? e.message : String(e);
  const code = (e as { code?: unknown } | undefined)?.code;
  if (typeof code !== "string" || code === "") return { error: message };
  return { error: message.includes(code) ? message : `${message}: ${code}`, code };
}

type Listener =
  | { kind: "http" | "https"; l: HttpListener; routes: readonly HttpRoute[] }
  | { kind: "tcp"; l: TcpIngress; key: string; pp: 1 | 2 | undefined; app: "http" | "tcp" | "auto" }
  | { kind: "udp"; l: UdpIngress; key: string };

export class IngressServer {
  private listeners = new Map<string, Listener>();
  private sets = new Map<string, BackendSet>();
  private readonly pool: UpstreamPool;
  /** Each route's target key, computed once (it is needed per request). */
  private readonly routeKeys = new WeakMap<HttpRoute, string>();

  /** HTTP sessions on published ports (sniffed or app_protocol: http), swept like an HTTP listener's. */
  private readonly l4Http = new Set<HttpSession>();
  private readonly sweeper: ReturnType<typeof setInterval>;

  constructor(private readonly o: IngressServerOptions) {
    this.pool = new UpstreamPool(o.connectTimeoutMs ?? 2_000);
    this.sweeper = setInterval(() => {
      const now = this.o.now();
      for (const s of this.l4Http) {
        if (s.closed) this.l4Http.delete(s);
        else s.tick(now);
      }
    }, 1000);
    this.sweeper.unref?.();
  }

  private httpConfig(scheme: "http" | "https"): Omit<HttpProxyConfig, "resolve"> {
    return {
      scheme,
      trusted: this.o.trustedProxies,
      acmeChallenge: (t) => this.o.acmeChallenge(t),
      pool: this.pool,
      waitForReadyMs: this.o.waitForReadyMs ?? 10_000,
      maxAttempts: 3,
      clientIdleMs: this.o.clientIdleMs ?? 60_000,
      responseTimeoutMs: this.o.responseTimeoutMs ?? 60_000,
      ...(this.o.metrics ? { record: this.o.metrics.recordHttp } : {}),
      now: this.o.now,
    };
  }

  private set(key: string, label: string): BackendSet {
    let s = this.sets.get(key);
    if (!s) this.sets.set(key, (s = new BackendSet(label, this.o.balancer)));
    return s;
  }

  async apply(plan: IngressPlan): Promise<ListenerProblem[]> {
    const problems: ListenerProblem[] = [];
    const wanted = new Map<string, () => Promise<Listener>>();
    const label = (s: ServiceRef, t: number) => `${s.project}/${s.service}:${t}`;
    for (const [key, specs] of plan.backends) this.sets.get(key)?.update(specs);
    const ensure = (s: ServiceRef, t: number) => {
      const k = targetKey(s, t);
      const set = this.set(k, label(s, t));
      set.update(plan.backends.get(k) ?? []);
      return k;
    };
    for (const h of plan.table.http) {
      for (const r of h.routes) ensure(r.service, r.target);
      const kind = h.tls ? "https" : "http";
      wanted.set(`${h.port}/tcp`, async () => {
        const cur = this.listeners.get(`${h.port}/tcp`);
        if (cur && cur.kind === kind) return { ...cur, routes: h.routes };
        cur?.l.close();
        const holder: { routes: readonly HttpRoute[] } = { routes: h.routes };
        const l = await HttpListener.open({
          host: this.o.bind,
          port: h.port,
          acceptProxyFrom: this.o.acceptProxyFrom,
          ...(h.tls ? { tls: this.o.certs } : {}),
          proxy: {
            ...this.httpConfig(kind),
            resolve: (host, target) => {
              const entry = this.listeners.get(`${h.port}/tcp`);
              const routes = entry && (entry.kind === "http" || entry.kind === "https") ? entry.routes : holder.routes;
              const r = matchHttpRoute(routes, host, target);
              if (!r) return undefined;
              let k = this.routeKeys.get(r);
              if (k === undefined) this.routeKeys.set(r, (k = targetKey(r.service, r.target)));
              const set = this.sets.get(k);
              return set?.hit;
            },
          },
        });
        return { kind, l, routes: h.routes };
      });
    }
    for (const r of plan.table.l4) {
      const key = ensure(r.service, r.target);
      const id = `${r.port}/${r.kind}`;
      wanted.set(id, async () => {
        const cur = this.listeners.get(id);
        if (r.kind === "tcp") {
          if (cur && cur.kind === "tcp") return { ...cur, key, pp: r.proxyProtocol, app: r.app };
          cur?.l.close();
          const l = await TcpIngress.open({
            host: this.o.bind,
            port: r.port,
            backends: () => {
              const e = this.listeners.get(id);
              return this.sets.get(e && e.kind === "tcp" ? e.key : key);
            },
            proxyProtocol: () => {
              const e = this.listeners.get(id);
              return e && e.kind === "tcp" ? e.pp : r.proxyProtocol;
            },
            app: () => {
              const e = this.listeners.get(id);
              return e && e.kind === "tcp" ? e.app : r.app;
            },
            startHttp: (c, peer) => {
              const e = this.listeners.get(id);
              const set = this.sets.get(e && e.kind === "tcp" ? e.key : key);
              if (!set) {
                c.destroy();
                return;
              }
              this.l4Http.add(new HttpSession(c, { ...this.httpConfig("http"), resolve: () => set.hit }, peer));
            },
            acceptProxyFrom: this.o.acceptProxyFrom,
            connectTimeoutMs: this.o.connectTimeoutMs ?? 2_000,
            waitForReadyMs: this.o.waitForReadyMs ?? 10_000,
            maxAttempts: 3,
            ...(this.o.metrics ? { record: this.o.metrics.recordTcp } : {}),
            now: this.o.now,
          });
          return { kind: "tcp", l, key, pp: r.proxyProtocol, app: r.app };
        }
        if (cur && cur.kind === "udp") return { ...cur, key };
        cur?.l.close();
        const l = await UdpIngress.open({
          host: this.o.bind,
          port: r.port,
          backends: () => {
            const e = this.listeners.get(id);
            return this.sets.get(e && e.kind === "udp" ? e.key : key);
          },
          idleMs: this.o.udpIdleMs ?? 30_000,
          now: this.o.now,
        });
        return { kind: "udp", l, key };
      });
    }
    for (const [id, cur] of [...this.listeners]) {
      if (!wanted.has(id)) {
        cur.l.close();
        this.listeners.delete(id);
      }
    }
    for (const [id, make] of wanted) {
      try {
        this.listeners.set(id, await make());
      } catch (e) {
        this.listeners.delete(id);
        const [port, proto] = id.split("/") as [string, string];
        const kind = proto === "udp" ? "udp" : plan.table.http.find((h) => h.port === Number(port))?.tls ? "https" : proto === "tcp" && plan.table.http.some((h) => h.port === Number(port)) ? "http" : "tcp";
        problems.push({ port: Number(port), kind, ...listenError(e) });
      }
    }
    const live = new Set<string>();
    for (const l of this.listeners.values()) live.add(l.kind === "tcp" || l.kind === "udp" ? l.key : "");
    for (const h of plan.table.http) for (const r of h.routes) live.add(targetKey(r.service, r.target));
    for (const [k, s] of [...this.sets]) if (!live.has(k) && s.waiting() === 0) this.sets.delete(k);
    // Idle connections to replicas that left or are draining are closed (a draining replica's node waits for them).
    const addrs = new Set<string>();
    for (const s of this.sets.values()) for (const b of s.balancer.backends()) if (b.state === "ready") addrs.add(UpstreamPool.key(b.target));
    this.pool.sweep(this.o.now(), addrs);
    return problems;
  }

  /** What this node routes, for `fizz why` and the API. */
  status(): { listeners: { port: number; kind: string; connections: number }[]; targets: { key: string; label: string; replicas: { key: string; state: string; outstanding: number; ejected: boolean; address: string }[] }[] } {
    const now = this.o.now();
    return {
      listeners: [...this.listeners.entries()].map(([id, l]) => ({
        port: Number(id.split("/")[0]),
        kind: l.kind,
        connections: l.kind === "udp" ? l.l.flowCount() : l.l.connections(),
      })),
      targets: [...this.sets.entries()].map(([key, s]) => ({
        key,
        label: s.label,
        replicas: s.balancer.backends().map((b) => ({ key: b.key, state: b.state, outstanding: b.outstanding, ejected: b.ejectedUntil > now, address: `${b.target.host}:${b.target.port}` })),
      })),
    };
  }

  /** Requests in flight to one replica on this node (what a drain waits for). */
  inFlight(replicaKey: string): number {
    let n = 0;
    for (const s of this.sets.values()) n += s.balancer.outstanding(replicaKey);
    return n;
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const l of this.listeners.values()) l.l.close();
    this.listeners.clear();
    this.pool.closeAll();
  }
}
