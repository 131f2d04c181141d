/**
 * The ingress route table: what every node listens on and where each
 * listener sends traffic, computed from the deployments alone (so every node
 * computes the same table). Two kinds:
 *   - L4 (tcp/udp): a published port (`ports: ["8080:80"]`, not `mode: host`)
 *     or an `x-fizz.ingress` entry with `protocol: tcp`; the whole connection
 *     (or datagram flow) goes to one replica's target port.
 *   - HTTP: `x-fizz.ingress` entries (protocol http), routed by Host and path
 *     prefix on a shared port (80 by default, and 443 when `tls: true`).
 * Claims that collide (same port, or same host+path on a port) are settled
 * the same way on every node: the deployment created first keeps the claim
 * (then the lower id), and the loser is listed in `conflicts`. `fizz up`
 * refuses such a deployment up front (conflicts.ts); this only makes a clash
 * that slipped in during a partition harmless and visible.
 */
import type { Project, Service } from "../compose/model.ts";

export interface ServiceRef {
  readonly deployment: string;
  readonly project: string;
  readonly service: string;
}

/** The identity of a route target (a service's container port): `<deployment>/<service>:<port>`. */
export function targetKey(s: ServiceRef, target: number): string {
  return `${s.deployment}/${s.service}:${target}`;
}

/** Where in the compose model a claim comes from, e.g. ["services", "web", "ports", 0]. */
export type Place = readonly (string | number)[];

/** services.web.ports[0] */
export function placeText(p: Place): string {
  return p.map((x, i) => (typeof x === "number" ? `[${x}]` : i === 0 ? x : `.${x}`)).join("");
}

export interface L4Route {
  readonly kind: "tcp" | "udp";
  readonly port: number;
  readonly service: ServiceRef;
  /** Container port. */
  readonly target: number;
  /** PROXY protocol version sent to the backend, when it opted in. */
  readonly proxyProtocol: 1 | 2 | undefined;
  /**
   * What the connections carry: "http" (proxied as HTTP, with forwarding
   * headers), "tcp" (relayed as bytes), or "auto" (sniffed per connection):
   * from the port's `app_protocol`, "tcp" for x-fizz.ingress tcp entries.
   */
  readonly app: "http" | "tcp" | "auto";
  readonly place: Place;
}

export interface HttpRoute {
  /** Listener port. */
  readonly port: number;
  readonly tls: boolean;
  /** Lower-case host names ("*.example.com" allowed); empty = any host. */
  readonly hosts: readonly string[];
  /** Path prefix, starting with "/". */
  readonly path: string;
  readonly service: ServiceRef;
  readonly target: number;
  readonly place: Place;
}

export interface Conflict {
  readonly what: string;
  readonly kept: { readonly service: ServiceRef; readonly place: Place };
  readonly refused: { readonly service: ServiceRef; readonly place: Place };
}

export interface HttpListener {
  readonly port: number;
  readonly tls: boolean;
  /** Most specific first: exact hosts, then wildcards, then any host; longer paths first. */
  readonly routes: readonly HttpRoute[];
}

export interface RouteTable {
  readonly l4: readonly L4Route[];
  readonly http: readonly HttpListener[];
  readonly conflicts: readonly Conflict[];
}

export interface DeploymentInput {
  readonly id: string;
  /** Creation order (HLC string or any sortable text): earlier keeps contested claims. */
  readonly created: string;
  readonly project: Project;
}

export const DEFAULT_HTTP_PORT = 80;
export const DEFAULT_HTTPS_PORT = 443;

/** The ingress claims of one project, in file order. */
export type Claim = ({ readonly kind: "tcp" | "udp" } & L4Route) | ({ readonly kind: "http" } & HttpRoute);

function singlePort(published: string | undefined): number | undefined {
  if (published === undefined || !/^\d{1,5}$/.test(published)) return undefined;
  const n = Number(published);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * The claims of a project. `clusterPorts`: in a cluster, published ports
 * (not mode: host) are ingress ports accepted on every node; on a single
 * node the engine publishes them as Compose does.
 */
export function projectClaims(deployment: string, project: Project, clusterPorts: boolean): Claim[] {
  const out: Claim[] = [];
  // Key order is file order, and the same on every node (the spec is one JSON value).
  const names = Object.keys(project.services);
  for (const name of names) {
    const svc = project.services[name]!;
    const ref: ServiceRef = { deployment, project: project.name, service: name };
    if (clusterPorts) {
      svc.ports.forEach((p, i) => {
        if (p.mode === "host" || (p.protocol !== "tcp" && p.protocol !== "udp")) return;
        const port = singlePort(p.published);
        if (port === undefined) return;
        const app = p.protocol === "udp" ? "tcp" : p.app_protocol === undefined ? "auto" : /^http$|^http\/1/i.test(p.app_protocol) ? "http" : "tcp";
        out.push({ kind: p.protocol, port, service: ref, target: p.target, proxyProtocol: undefined, app, place: ["services", name, "ports", i] });
      });
    }
    serviceIngress(svc).forEach((g, i) => {
      const place: Place = ["services", name, "x-fizz", "ingress", i];
      if (g.protocol === "tcp") {
        out.push({ kind: "tcp", port: g.port, service: ref, target: g.target, proxyProtocol: g.proxy_protocol, app: "tcp", place });
        return;
      }
      const hosts = [...new Set(g.hosts.map((h) => h.toLowerCase()))].sort();
      out.push({ kind: "http", port: g.port, tls: false, hosts, path: g.path, service: ref, target: g.target, place });
      if (g.tls) out.push({ kind: "http", port: g.tls_port, tls: true, hosts, path: g.path, service: ref, target: g.target, place });
    });
  }
  return out;
}

/**
 * The service as the engine should run it in a cluster: published ports the
 * ingress serves (not mode: host, one port, tcp/udp) are not bound by the
 * engine, so replicas no longer compete for the host port.
 */
export function withoutIngressPorts(s: Service): Service {
  const ports = s.ports.filter((p) => p.mode === "host" || singlePort(p.published) === undefined || (p.protocol !== "tcp" && p.protocol !== "udp"));
  return ports.length === s.ports.length ? s : { ...s, ports };
}

/** One x-fizz.ingress entry with defaults applied. */
export interface IngressEntry {
  readonly protocol: "http" | "tcp";
  readonly port: number;
  readonly target: number;
  readonly hosts: readonly string[];
  readonly path: string;
  readonly tls: boolean;
  readonly tls_port: number;
  readonly proxy_protocol: 1 | 2 | undefined;
}

export function serviceIngress(svc: Service): IngressEntry[] {
  const list = svc.x_fizz?.ingress ?? [];
  return list.map((g) => ({
    protocol: g.protocol,
    port: g.port,
    target: g.target,
    hosts: [...(g.hosts ?? []), ...(g.host !== undefined ? [g.host] : [])],
    path: g.path,
    tls: g.tls ?? false,
    tls_port: g.tls_port ?? DEFAULT_HTTPS_PORT,
    proxy_protocol: g.proxy_protocol,
  }));
}

function hostRank(h: string): number {
  return h.startsWith("*.") ? 1 : 0;
}

/** Most specific first, with a total order so every node sorts alike. */
function compareHttp(a: HttpRoute, b: HttpRoute): number {
  const ra = a.hosts.length === 0 ? 2 : Math.min(...a.hosts.map(hostRank));
  const rb = b.hosts.length === 0 ? 2 : Math.min(...b.hosts.map(hostRank));
  if (ra !== rb) return ra - rb;
  if (a.path.length !== b.path.length) return b.path.length - a.path.length;
  const ka = `${a.service.deployment}/${a.service.service}/${placeText(a.place)}`;
  const kb = `${b.service.deployment}/${b.service.service}/${placeText(b.place)}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** The claim keys of an HTTP route: one per (port, host, path); hostless routes claim "*". */
export function httpKeys(r: HttpRoute): string[] {
  const hosts = r.hosts.length === 0 ? ["*"] : r.hosts;
  return hosts.map((h) => `${r.port}${r.tls ? "s" : ""} ${h}${r.path}`);
}

export function buildRouteTable(deployments: readonly DeploymentInput[], clusterPorts: boolean): RouteTable {
  const ordered = [...deployments].sort((a, b) => (a.created < b.created ? -1 : a.created > b.created ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const conflicts: Conflict[] = [];
  // port → what holds it ("tcp"/"udp" L4 claims, or "http" listeners).
  const ports = new Map<string, { service: ServiceRef; place: Place }>();
  const httpClaims = new Map<string, { service: ServiceRef; place: Place }>();
  const l4: L4Route[] = [];
  const httpByPort = new Map<number, HttpRoute[]>();
  const tlsByPort = new Map<number, boolean>();
  for (const d of ordered) {
    for (const c of projectClaims(d.id, d.project, clusterPorts)) {
      if (c.kind !== "http") {
        const { kind, ...rest } = c;
        const r: L4Route = { kind, ...rest };
        const key = `${r.port}/${r.kind}`;
        const httpHolder = r.kind === "tcp" ? ports.get(`${r.port}/http`) : undefined;
        const holder = ports.get(key) ?? httpHolder;
        if (holder) {
          conflicts.push({ what: `port ${key}`, kept: holder, refused: { service: r.service, place: r.place } });
          continue;
        }
        ports.set(key, { service: r.service, place: r.place });
        l4.push(r);
        continue;
      }
      const { kind: _http, ...r } = c;
      const tcpHolder = ports.get(`${r.port}/tcp`);
      if (tcpHolder) {
        conflicts.push({ what: `port ${r.port}/tcp`, kept: tcpHolder, refused: { service: r.service, place: r.place } });
        continue;
      }
      const tlsNow = tlsByPort.get(r.port);
      if (tlsNow !== undefined && tlsNow !== r.tls) {
        const other = (httpByPort.get(r.port) ?? [])[0]!;
        conflicts.push({ what: `port ${r.port} (${r.tls ? "TLS" : "plain HTTP"} here, ${tlsNow ? "TLS" : "plain HTTP"} there)`, kept: { service: other.service, place: other.place }, refused: { service: r.service, place: r.place } });
        continue;
      }
      const taken = httpKeys(r).map((k) => [k, httpClaims.get(k)] as const).find(([, h]) => h !== undefined);
      if (taken) {
        const [k, h] = taken;
        conflicts.push({ what: `host and path ${k.slice(k.indexOf(" ") + 1)} on port ${r.port}`, kept: h!, refused: { service: r.service, place: r.place } });
        continue;
      }
      for (const k of httpKeys(r)) httpClaims.set(k, { service: r.service, place: r.place });
      if (!ports.has(`${r.port}/http`)) ports.set(`${r.port}/http`, { service: r.service, place: r.place });
      tlsByPort.set(r.port, r.tls);
      const list = httpByPort.get(r.port) ?? [];
      list.push(r);
      httpByPort.set(r.port, list);
    }
  }
  const http: HttpListener[] = [...httpByPort.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([port, routes]) => ({ port, tls: tlsByPort.get(port) ?? false, routes: [...routes].sort(compareHttp) }));
  l4.sort((a, b) => a.port - b.port || (a.kind < b.kind ? -1 : 1));
  return { l4, http, conflicts };
}

/** Host header without its port, lower case. */
export function hostOnly(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end < 0 ? host : host.slice(0, end + 1);
  }
  const colon = host.indexOf(":");
  return (colon < 0 ? host : host.slice(0, colon)).toLowerCase();
}

function hostMatches(pattern: string, host: string): boolean {
  if (pattern.startsWith("*.")) return host.endsWith(pattern.slice(1)) && host.length > pattern.length - 1;
  return pattern === host;
}

/** "/api" matches "/api", "/api/…" and "/api?…", not "/apix". */
export function pathMatches(prefix: string, target: string): boolean {
  if (prefix === "/") return true;
  if (!target.startsWith(prefix)) return false;
  if (target.length === prefix.length || prefix.endsWith("/")) return true;
  const next = target.charCodeAt(prefix.length);
  return next === 0x2f || next === 0x3f;
}

/** The route for a request, or undefined (404). `routes` in listener order. */
export function matchHttpRoute(routes: readonly HttpRoute[], host: string, target: string): HttpRoute | undefined {
  const h = hostOnly(host);
  for (const r of routes) {
    if (r.hosts.length > 0 && !anyHostMatches(r.hosts, h)) continue;
    if (pathMatches(r.path, target)) return r;
  }
  return undefined;
}

/** A loop rather than some(): no closure per request. */
function anyHostMatches(patterns: readonly string[], host: string): boolean {
  for (const p of patterns) if (hostMatches(p, host)) return true;
  return false;
}
