/** Starts an API server over a FakeBackend for tests, and a raw HTTP helper. */
import { mkdtempSync, rmSync } from "node:fs";
import { request as httpRequest, type IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentStore } from "../../../platform/store/index.ts";
import { ingressRoutes } from "../../../platform/api/routes-ingress.ts";
import { createApiServer, createRoutes, EventFeed, type ApiLimits, type ApiServer, type TlsFiles } from "../../../platform/api/index.ts";
import { createMetrics, type AgentMetrics } from "../../../platform/metrics.ts";
import { FakeBackend } from "./fake-backend.ts";
import { FakeCluster } from "./cluster-fake.ts";
import { FakeRegistry } from "./registry-fake.ts";
import { FakeSecrets } from "./secrets-fake.ts";
import { secretsRoutes } from "../../../platform/api/routes-secrets.ts";
import { registryRoutes } from "../../../platform/api/routes-registry.ts";
import { meshRoutes } from "../../../platform/api/routes-mesh.ts";
import { userStopRoutes, type StopVerb, type UserStopsBackend } from "../../../platform/api/routes-user-stops.ts";
import { fakeMeshStatus } from "./mesh-fake.ts";
import type { Logger } from "../../../platform/log.ts";

export const TOKEN = "test-token-0123456789abcdef";

export interface TestServer {
  readonly server: ApiServer;
  readonly backend: FakeBackend;
  readonly store: AgentStore;
  readonly events: EventFeed;
  readonly metrics: AgentMetrics;
  readonly socket: string;
  readonly port: number | undefined;
  stop(): Promise<void>;
}

export async function startTestServer(
  o: { tcp?: boolean; tls?: TlsFiles; limits?: Partial<ApiLimits>; processMetrics?: boolean; logger?: Logger } = {},
): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), "fizz-api-"));
  const store = AgentStore.open(join(dir, "state.db"));
  const backend = new FakeBackend();
  const events = new EventFeed(store, { pollMs: 200 });
  const metrics = createMetrics({ processMetrics: o.processMetrics ?? false });
  const router = createRoutes({ backend, events, metrics, info: () => ({ node: "test-node" }), cluster: new FakeCluster(), extra: [registryRoutes(new FakeRegistry()), secretsRoutes(new FakeSecrets()), ingressRoutes(FAKE_INGRESS), meshRoutes(fakeMeshStatus), userStopRoutes(fakeUserStops(backend))] });
  const server = createApiServer({ router, token: TOKEN, tls: o.tls, limits: o.limits, metrics, logger: o.logger });
  const socket = join(dir, "run", "fizz.sock");
  await server.listen({ kind: "unix", path: socket });
  let port: number | undefined;
  if (o.tcp) {
    const l = await server.listen({ kind: "tcp", host: "127.0.0.1", port: 0, tls: o.tls !== undefined });
    if (l.kind === "tcp") port = l.port;
  }
  return {
    server,
    backend,
    store,
    events,
    metrics,
    socket,
    port,
    async stop() {
      await server.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface RawRequest {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  socketPath?: string;
  port?: number;
  tls?: { ca: string | Buffer };
  timeoutMs?: number;
}

export function raw(r: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const opts = {
      method: r.method ?? "GET",
      path: r.path,
      headers: { ...(r.body !== undefined ? { "content-length": String(Buffer.byteLength(r.body)) } : {}), ...r.headers },
      ...(r.socketPath ? { socketPath: r.socketPath } : { host: "127.0.0.1", port: r.port }),
      ...(r.tls ? { ca: r.tls.ca, servername: "localhost" } : {}),
      agent: false as const,
    };
    const req = (r.tls ? httpsRequest : httpRequest)(opts, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.setTimeout(r.timeoutMs ?? 10_000, () => req.destroy(new Error(`timeout: ${opts.method} ${r.path}`)));
    req.on("error", reject);
    if (r.body !== undefined) req.end(r.body);
    else req.end();
  });
}

export function jsonOf(r: RawResponse): Record<string, unknown> {
  return JSON.parse(r.body) as Record<string, unknown>;
}

/** A node's ingress view as the agent's ingress controller reports it (GET /v1/ingress). */
export const FAKE_INGRESS = {
  ingressStatus: () => ({
    node: "test-node",
    enabled: true,
    clustered: true,
    routed_by: ["n1", "n2"],
    relay: { port: 7948, connections: 0 },
    listeners: [{ port: 80, kind: "http", connections: 1 }],
    l4: [{ port: 8080, protocol: "tcp", project: "shop", service: "web", target: 80, proxy_protocol: null, from: "services.web.ports[0]" }],
    http: [{ port: 80, tls: false, routes: [{ hosts: ["shop.example.com"], path: "/", project: "shop", service: "web", target: 80, from: "services.web.x-fizz.ingress[0]" }] }],
    targets: [{ key: "shop/web:80", label: "shop/web:80", replicas: [{ key: "shop/web/0@n1", state: "ready", outstanding: 0, ejected: false, address: "172.18.0.2:80" }] }],
    conflicts: [],
    tls: { acme_directory: null, ordering: null, domains: [], hostless_tls_ports: [] },
    certificates: [],
  }),
  certificates: () => [],
  addCertificate: (name: string) => ({ id: `user/${name}`, source: "user", names: ["shop.example.com"], not_before: "2026-01-01T00:00:00.000Z", not_after: "2027-01-01T00:00:00.000Z", by: "test-node", directory: null, loaded: false, problem: null }),
  removeCertificate: (name: string) => name === "mine",
};

/** /v1/deployments/{name}/stopped over the fake backend's deployments, and "shop" even after a test removed it (services named are taken as they come). */
export function fakeUserStops(backend: { deployments: Map<string, unknown> }): UserStopsBackend {
  const stopped = new Map<string, Record<string, StopVerb>>();
  const has = (d: string) => d === "shop" || backend.deployments.has(d);
  return {
    has,
    stop: async (d, services, verb) => {
      if (!has(d)) return undefined;
      const m = stopped.get(d) ?? {};
      for (const s of services.length ? services : ["web"]) m[s] = verb;
      stopped.set(d, m);
      return { ...m };
    },
    resume: async (d, services) => {
      if (!has(d)) return undefined;
      const m = stopped.get(d) ?? {};
      for (const s of services.length ? services : Object.keys(m)) delete m[s];
      return { ...m };
    },
  };
}
