/**
 * The CLI's side of the API: JSON calls, the event stream (SSE) and log
 * streams (NDJSON) over a unix socket or http(s) with a bearer token. Server
 * errors come back as FizzErrors carrying the server's code and message; no
 * agent listening becomes one clear error naming the address.
 */
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import { homedir } from "node:os";
import { FizzError } from "../../core/errors.ts";
// Direct imports (not the index) so the CLI does not load the YAML parser just to talk to the agent.
import { formatApiAddress, parseApiAddress, type ApiAddress } from "../../core/agent-config/address.ts";
import { dataDirDefault, socketDefault, type HostFacts } from "../../core/agent-config/schema.ts";
import type {
  RollbackView,
  WhyResult,
  ContainerFilter,
  ContainerView,
  DeleteResult,
  DeploymentDetail,
  DeploymentInput,
  DeploymentSummary,
  DeployResult,
  LogLine,
  ScaleResult,
  ServiceView,
} from "./backend.ts";
import type { EventRecord } from "../store/index.ts";
import type { ClusterInitResult, ClusterJoinResult, ClusterKeysView, ClusterNodeView } from "./cluster-api.ts";
import type { StopVerb, UserStopped } from "./routes-user-stops.ts";

export interface ClientOptions {
  readonly address: ApiAddress;
  /** Bearer token for TCP. */
  readonly token?: string | undefined;
  /** Extra CA (PEM) to trust for https, e.g. a self-signed agent certificate. */
  readonly ca?: string | Buffer | undefined;
  /** Per-request timeout for JSON calls (not streams). Default 5 minutes (deploys pull images). */
  readonly timeoutMs?: number;
}

/** Address from -H/--host, else FIZZ_HOST, else the default socket; token from FIZZ_TOKEN. */
export function clientOptionsFrom(host: string | undefined, env: Readonly<Record<string, string | undefined>>, facts: HostFacts): ClientOptions {
  const raw = host ?? env.FIZZ_HOST;
  const address: ApiAddress = raw ? parseApiAddress(raw, "agent address (-H/FIZZ_HOST)") : { kind: "unix", path: defaultSocket(facts) };
  const token = env.FIZZ_TOKEN;
  return { address, ...(token ? { token } : {}) };
}

/** The client a CLI verb wants: `clientFor(ctx.global.host)` (reads FIZZ_HOST/FIZZ_TOKEN and the user's defaults). */
export function clientFor(host: string | undefined, env: Readonly<Record<string, string | undefined>> = process.env): ApiClient {
  return new ApiClient(clientOptionsFrom(host, env, { uid: process.getuid?.() ?? 1000, env, home: homedir() }));
}

function defaultSocket(facts: HostFacts): string {
  return socketDefault(facts, dataDirDefault(facts));
}

export interface EventsQuery {
  readonly types?: readonly string[];
  readonly deployment?: string;
  readonly service?: string;
  readonly container?: string;
  /** Resume after this event id. */
  readonly since?: number;
  /** Keep following (default true). */
  readonly follow?: boolean;
}

export interface LogsOptions {
  readonly services?: readonly string[];
  readonly follow?: boolean;
  readonly tail?: number;
  readonly since?: number;
  readonly timestamps?: boolean;
}

export class ApiClient {
  constructor(readonly options: ClientOptions) {}

  /** `unix:/run/fizz/fizz.sock` or `127.0.0.1:7070`, for messages. */
  get where(): string {
    return formatApiAddress(this.options.address);
  }

  health(): Promise<{ status: string }> {
    return this.json("GET", "/healthz");
  }
  info(): Promise<Record<string, unknown>> {
    return this.json("GET", "/v1/info");
  }
  async listDeployments(): Promise<DeploymentSummary[]> {
    return (await this.json<{ deployments: DeploymentSummary[] }>("GET", "/v1/deployments")).deployments;
  }
  getDeployment(name: string): Promise<DeploymentDetail> {
    return this.json("GET", `/v1/deployments/${enc(name)}`);
  }
  /**
   * `fizz up`: stores the change, then follows its events to the end
   * (`deployment.converged`, `.ready` or `.failed`, matched by intent id);
   * `onEvent` sees each of the change's events as it comes (progress).
   * Resolves with what the change did; throws the failure as a FizzError.
   */
  async up(name: string, input: DeploymentInput, o: { signal?: AbortSignal; onEvent?: (e: EventRecord) => void } = {}): Promise<DeployResult> {
    const accepted = await this.json<DeployResult>("PUT", `/v1/deployments/${enc(name)}`, input, o.signal);
    if (!accepted.intent || accepted.eventId === undefined) return accepted;
    const end = await this.follow(name, accepted.intent, accepted.eventId - 1, o);
    const data = end.data as { actions?: Record<string, number>; warnings?: string[]; error?: { code: string; message: string; hint?: string; path?: string } } | undefined;
    if (end.type === "deployment.failed") {
      const e = data?.error;
      throw new FizzError({ code: e?.code ?? "deploy.failed", message: e?.message ?? end.message, ...(e?.hint ? { hint: e.hint } : {}), ...(e?.path ? { path: e.path } : {}) });
    }
    return { ...accepted, actions: data?.actions ?? {}, warnings: data?.warnings ?? accepted.warnings ?? [] };
  }

  /** Follows a deployment's events from `after` until the end of change `intent`; returns that last event. */
  async follow(deployment: string, intent: string, after: number, o: { signal?: AbortSignal; onEvent?: (e: EventRecord) => void } = {}): Promise<EventRecord> {
    const stop = new AbortController();
    const relay = () => stop.abort();
    o.signal?.addEventListener("abort", relay, { once: true });
    try {
      for await (const e of this.events({ deployment, since: after }, stop.signal)) {
        const mine = (e.data as { intent?: unknown } | undefined)?.intent === intent;
        if (!mine) continue;
        o.onEvent?.(e);
        if (e.type === "deployment.converged" || e.type === "deployment.ready" || e.type === "deployment.failed") return e;
      }
    } finally {
      o.signal?.removeEventListener("abort", relay);
      stop.abort();
    }
    throw new FizzError({ code: "client.aborted", message: `stopped following the change to ${deployment}`, exitCode: 130 });
  }
  /** `fizz stop|kill|rm|pause` of an agent's deployment: the agent leaves these services (all when none) stopped. */
  userStopped(name: string, services: readonly string[], verb: StopVerb): Promise<{ deployment: string; stopped: UserStopped }> {
    return this.json("POST", `/v1/deployments/${enc(name)}/stopped`, { verb, services });
  }
  /** `fizz start|restart|unpause`: the agent keeps these services (all when none) running again. */
  userResumed(name: string, services: readonly string[]): Promise<{ deployment: string; stopped: UserStopped }> {
    return this.json("DELETE", `/v1/deployments/${enc(name)}/stopped${services.length ? `?${services.map((s) => `service=${encodeURIComponent(s)}`).join("&")}` : ""}`);
  }
  down(name: string, opts: { volumes?: boolean } = {}): Promise<DeleteResult> {
    return this.json("DELETE", `/v1/deployments/${enc(name)}${opts.volumes ? "?volumes=true" : ""}`);
  }
  async services(deployment?: string): Promise<ServiceView[]> {
    const path = deployment === undefined ? "/v1/services" : `/v1/deployments/${enc(deployment)}/services`;
    return (await this.json<{ services: ServiceView[] }>("GET", path)).services;
  }
  async containers(filter: ContainerFilter = {}): Promise<ContainerView[]> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(filter)) if (v !== undefined) q.set(k, String(v));
    const qs = q.toString();
    return (await this.json<{ containers: ContainerView[] }>("GET", `/v1/containers${qs ? `?${qs}` : ""}`)).containers;
  }
  inspectContainer(id: string): Promise<Record<string, unknown>> {
    return this.json("GET", `/v1/containers/${enc(id)}`);
  }
  inspectService(deployment: string, service: string): Promise<Record<string, unknown>> {
    return this.json("GET", `/v1/deployments/${enc(deployment)}/services/${enc(service)}`);
  }
  scale(deployment: string, service: string, replicas: number): Promise<ScaleResult> {
    return this.json("POST", `/v1/deployments/${enc(deployment)}/services/${enc(service)}/scale`, { replicas });
  }
  rollback(deployment: string, service: string): Promise<RollbackView> {
    return this.json("POST", `/v1/deployments/${enc(deployment)}/services/${enc(service)}/rollback`);
  }
  why(service: string, deployment?: string): Promise<WhyResult> {
    return this.json("GET", `/v1/placement/${enc(service)}${deployment ? `?deployment=${enc(deployment)}` : ""}`);
  }

  /** GET /v1/ingress: this node's ingress listeners, routes and replicas. */
  ingress(): Promise<IngressStatusView> {
    return this.json("GET", "/v1/ingress");
  }
  async certificates(): Promise<CertificateView[]> {
    return (await this.json<{ certificates: CertificateView[] }>("GET", "/v1/ingress/certs")).certificates;
  }
  addCertificate(name: string, cert: string, key: string): Promise<CertificateView> {
    return this.json("PUT", `/v1/ingress/certs/${enc(name)}`, { cert, key });
  }
  async removeCertificate(name: string): Promise<void> {
    await this.json("DELETE", `/v1/ingress/certs/${enc(name)}`);
  }

  clusterInit(o: { advertise?: string } = {}): Promise<ClusterInitResult> {
    return this.json("POST", "/v1/cluster/init", o);
  }
  clusterJoin(address: string, token: string): Promise<ClusterJoinResult> {
    return this.json("POST", "/v1/cluster/join", { address, token });
  }
  clusterLeave(): Promise<{ left: boolean; node: string }> {
    return this.json("POST", "/v1/cluster/leave");
  }
  /** GET /v1/mesh (`fizz net`). */
  mesh(): Promise<import("./routes-mesh.ts").MeshStatus> {
    return this.json("GET", "/v1/mesh");
  }
  async clusterNodes(): Promise<ClusterNodeView[]> {
    return (await this.json<{ nodes: ClusterNodeView[] }>("GET", "/v1/cluster/nodes")).nodes;
  }
  /** GET /v1/cluster/token (`fizz cluster token`). */
  clusterToken(): Promise<ClusterInitResult> {
    return this.json("GET", "/v1/cluster/token");
  }
  clusterKeys(): Promise<ClusterKeysView> {
    return this.json("GET", "/v1/cluster/keys");
  }
  clusterKeyInstall(key: string): Promise<ClusterKeysView & { installed: string }> {
    return this.json("POST", "/v1/cluster/keys", { key });
  }
  clusterKeyUse(id: string): Promise<ClusterKeysView> {
    return this.json("POST", "/v1/cluster/keys/use", { id });
  }
  clusterKeyRemove(id: string): Promise<ClusterKeysView> {
    return this.json("DELETE", `/v1/cluster/keys/${enc(id)}`);
  }

  /** One JSON call; throws FizzError with the server's code/message on 4xx/5xx. */
  async json<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const res = await this.open(method, path, payload, signal, this.options.timeoutMs ?? 300_000);
    const text = await readAll(res);
    if ((res.statusCode ?? 0) >= 400) throw serverError(res.statusCode ?? 0, text);
    if (res.statusCode === 204 || text.trim() === "") return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new FizzError({ code: "client.bad_response", message: `the agent at ${this.where} answered ${method} ${path} with invalid JSON` });
    }
  }

  /** Log lines (NDJSON) of a deployment (`target` = name) or one container (`{ container: id }`). */
  async *logs(target: string | { container: string }, o: LogsOptions = {}, signal?: AbortSignal): AsyncGenerator<LogLine> {
    const q = new URLSearchParams();
    for (const s of o.services ?? []) q.append("service", s);
    if (o.follow) q.set("follow", "true");
    if (o.tail !== undefined) q.set("tail", String(o.tail));
    if (o.since !== undefined) q.set("since", String(o.since));
    if (o.timestamps) q.set("timestamps", "true");
    const base = typeof target === "string" ? `/v1/deployments/${enc(target)}/logs` : `/v1/containers/${enc(target.container)}/logs`;
    const qs = q.toString();
    const res = await this.openStream(`${base}${qs ? `?${qs}` : ""}`, {}, signal);
    for await (const line of lines(res, signal)) if (line.trim() !== "") yield JSON.parse(line) as LogLine;
  }

  /**
   * The event stream. Reconnects after a dropped connection and resumes
   * from the last event seen (Last-Event-ID), so no event is lost or repeated.
   */
  async *events(q: EventsQuery = {}, signal?: AbortSignal): AsyncGenerator<EventRecord> {
    let last = q.since ?? 0;
    for (let attempt = 0; ; attempt++) {
      const p = new URLSearchParams();
      for (const t of q.types ?? []) p.append("type", t);
      if (q.deployment) p.set("deployment", q.deployment);
      if (q.service) p.set("service", q.service);
      if (q.container) p.set("container", q.container);
      if (q.follow === false) p.set("follow", "false");
      const qs = p.toString();
      let res: IncomingMessage;
      try {
        res = await this.openStream(`/v1/events${qs ? `?${qs}` : ""}`, last ? { "last-event-id": String(last) } : {}, signal);
      } catch (e) {
        if (attempt === 0 || signal?.aborted || (e instanceof FizzError && e.code !== "client.no_agent")) throw e;
        await sleep(Math.min(5000, 250 * 2 ** Math.min(attempt, 5)), signal);
        continue;
      }
      attempt = 0;
      let data = "";
      try {
        for await (const line of lines(res, signal)) {
          if (line === "") {
            if (data !== "") {
              const e = JSON.parse(data) as EventRecord;
              last = e.id;
              yield e;
            }
            data = "";
          } else if (line.startsWith("data:")) data += line.slice(5).trimStart();
        }
      } catch (e) {
        // A dropped connection while following is resumed below from `last`.
        if (q.follow === false || !(e instanceof FizzError && e.code === "client.stream_broken")) throw e;
      }
      if (q.follow === false || signal?.aborted) return;
      await sleep(250, signal);
    }
  }

  private async openStream(path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<IncomingMessage> {
    const res = await this.open("GET", path, undefined, signal, undefined, headers);
    if ((res.statusCode ?? 0) >= 400) throw serverError(res.statusCode ?? 0, await readAll(res));
    return res;
  }

  private open(method: string, path: string, body: string | undefined, signal: AbortSignal | undefined, timeoutMs?: number, extra: Record<string, string> = {}): Promise<IncomingMessage> {
    const a = this.options.address;
    const headers: Record<string, string> = { accept: "application/json", ...extra };
    if (body !== undefined) {
      headers["content-type"] = "application/json";
      headers["content-length"] = String(Buffer.byteLength(body));
    }
    if (a.kind === "tcp" && this.options.token) headers.authorization = `Bearer ${this.options.token}`;
    const opts: RequestOptions & { ca?: string | Buffer } =
      a.kind === "unix"
        ? { socketPath: a.path, method, path, headers }
        : { host: a.host, port: a.port, method, path, headers, ...(this.options.ca ? { ca: this.options.ca } : {}) };
    const doRequest = a.kind === "tcp" && a.tls ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = doRequest(opts, resolve);
      const onAbort = () => req.destroy(new FizzError({ code: "client.aborted", message: "request cancelled" }));
      if (signal) {
        if (signal.aborted) return onAbort();
        signal.addEventListener("abort", onAbort, { once: true });
        req.once("close", () => signal.removeEventListener("abort", onAbort));
      }
      if (timeoutMs !== undefined) {
        req.setTimeout(timeoutMs, () => req.destroy(new FizzError({ code: "client.timeout", message: `the agent at ${this.where} did not answer ${method} ${path} within ${timeoutMs / 1000}s` })));
      }
      req.on("error", (e: NodeJS.ErrnoException) => reject(this.connectError(e)));
      req.end(body);
    });
  }

  private connectError(e: NodeJS.ErrnoException): Error {
    if (e instanceof FizzError) return e;
    if (e.code === "ENOENT" || e.code === "ECONNREFUSED" || e.code === "ENOTSOCK") {
      return new FizzError({
        code: "client.no_agent",
        message: `no fizz agent at ${this.where}; start one with \`fizz agent\``,
        hint: "or point -H/FIZZ_HOST at a running agent (unix:<path> or <ip>:<port>)",
        cause: e,
      });
    }
    if (e.code === "EACCES") {
      return new FizzError({ code: "client.permission_denied", message: `permission denied on ${this.where}`, hint: "run as root or as a member of the socket's group", cause: e });
    }
    return new FizzError({ code: "client.connection_failed", message: `cannot reach the fizz agent at ${this.where}: ${e.message}`, cause: e });
  }
}

const enc = encodeURIComponent;

function serverError(status: number, text: string): FizzError {
  let body: { code?: unknown; message?: unknown; hint?: unknown; path?: unknown } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    /* not JSON: keep the status */
  }
  return new FizzError({
    status,
    code: typeof body.code === "string" ? body.code : `http.${status}`,
    message: typeof body.message === "string" ? body.message : `the agent answered HTTP ${status}`,
    ...(typeof body.hint === "string" ? { hint: body.hint } : {}),
    ...(typeof body.path === "string" ? { path: body.path } : {}),
  });
}

function readAll(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (c: Buffer) => chunks.push(c));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

/** Lines of a streamed body (without the newline); stops when aborted. */
async function* lines(res: IncomingMessage, signal?: AbortSignal): AsyncGenerator<string> {
  const onAbort = () => res.destroy();
  signal?.addEventListener("abort", onAbort, { once: true });
  let buf = "";
  try {
    res.setEncoding("utf8");
    for await (const chunk of res as AsyncIterable<string>) {
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, i).replace(/\r$/, "");
        buf = buf.slice(i + 1);
        yield line;
      }
    }
    if (buf !== "") yield buf;
  } catch (e) {
    if (!signal?.aborted) throw new FizzError({ code: "client.stream_broken", message: `the stream from the agent broke: ${(e as Error).message}`, cause: e });
  } finally {
    signal?.removeEventListener("abort", onAbort);
    res.destroy();
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

/** GET /v1/ingress (api/openapi.yaml IngressStatus). */
export interface IngressStatusView {
  node: string;
  enabled: boolean;
  clustered: boolean;
  routed_by?: string[];
  relay: { port: number; connections: number } | null;
  listeners: { port: number; kind: string; connections: number }[];
  l4: { port: number; protocol: string; project: string; service: string; target: number; proxy_protocol: 1 | 2 | null; from: string }[];
  http: { port: number; tls: boolean; routes: { hosts: string[]; path: string; project: string; service: string; target: number; from: string }[] }[];
  targets: { key: string; label: string; replicas: { key: string; state: string; outstanding: number; ejected: boolean; address: string }[] }[];
  conflicts: { what: string; kept: string; refused: string }[];
  tls?: { acme_directory: string | null; ordering: string | null; hostless_tls_ports: number[]; domains: { domain: string; state: string; owner?: string; servedBy?: string; notAfter?: number; why: string }[] };
  certificates?: CertificateView[];
}

export interface CertificateView {
  id: string;
  source: "acme" | "user";
  names: string[];
  not_before: string;
  not_after: string;
  by: string;
  directory: string | null;
  loaded: boolean;
  problem: string | null;
}
