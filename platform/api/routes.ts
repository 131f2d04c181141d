/**
 * The /v1 API: HTTP in, `AgentBackend` calls out. Every input is checked
 * here (names, query parameters, body shapes) so backends receive typed,
 * valid values; see api/openapi.yaml for the documented contract.
 */
import { FizzError } from "../../core/errors.ts";
import type { AgentBackend, ContainerFilter, DeployOptions, DeploymentInput, LogLine, LogsQuery } from "./backend.ts";
import type { EventFeed, EventFilter } from "./events.ts";
import { httpError, notFound } from "./errors.ts";
import { json, sse, stream, text, type RequestContext, type SseMessage } from "./reply.ts";
import { Router } from "./router.ts";
import { KeyedMutex } from "./lock.ts";
import {
  badInput,
  checkQuery,
  containerRef,
  deploymentName,
  expectObject,
  isRecord,
  optBool,
  optEnum,
  optInt,
  optString,
  optStringArray,
  optStringMap,
  queryBool,
  queryEnum,
  queryInt,
  serviceName,
} from "./validate.ts";

export interface RoutesOptions {
  readonly backend: AgentBackend;
  readonly events: EventFeed;
  /** Serves GET /metrics when given. */
  readonly metrics?: { text(): Promise<string>; readonly contentType: string } | undefined;
  /** What GET /v1/info reports (node id, version, engine…). */
  readonly info?: () => Record<string, unknown>;
  /** Cluster membership and keys (/v1/cluster/…); without it those routes answer 503. */
  readonly cluster?: ClusterApi | undefined;
}

/** One member as `fizz nodes` shows it. */
export interface ClusterNodeView {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly state: "alive" | "suspect" | "dead" | "left";
  readonly incarnation: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly resources: { readonly cpuMillis: number; readonly memoryBytes: number };
  /** Last direct ping round trip; null for self or before the first ack. */
  readonly rttMs: number | null;
  readonly self: boolean;
}

export interface ClusterInitResult {
  /** Cluster id (hex). */
  readonly cluster: string;
  readonly node: string;
  /** This node's cluster address (the seed in the token). */
  readonly address: string;
  /** The join token: it carries the cluster key, handle it like a password. */
  readonly token: string;
}

export interface ClusterJoinResult {
  readonly cluster: string;
  readonly node: string;
  readonly address: string;
  /** The seed that answered. */
  readonly via: string;
  readonly members: number;
}

export interface ClusterKeysView {
  readonly primary: string;
  readonly keys: readonly { readonly id: string; readonly primary: boolean }[];
}

/**
 * The agent's cluster side (platform/agent/cluster.ts). Every failure is a
 * FizzError with a status: 409 not a member / already a member, 400 bad token,
 * 403 refused by the seed (wrong key or cluster), 504 no seed answered.
 */
export interface ClusterApi {
  init(o: { advertise?: string | undefined }): Promise<ClusterInitResult>;
  join(o: { address: string; token: string }): Promise<ClusterJoinResult>;
  leave(): Promise<{ left: boolean; node: string }>;
  nodes(): readonly ClusterNodeView[];
  keys(): ClusterKeysView;
  installKey(key: string): ClusterKeysView & { installed: string };
  useKey(id: string): ClusterKeysView;
  removeKey(id: string): ClusterKeysView;
}

const STATES = ["created", "running", "paused", "restarting", "exited", "dead", "removing"] as const;
const HEALTHS = ["none", "starting", "healthy", "unhealthy"] as const;
export const MAX_REPLICAS = 1000;

export function createRoutes(o: RoutesOptions): Router {
  const b = o.backend;
  const r = new Router();
  // Changes to one deployment are serialised; the backend sees at most one at a time per name.
  const changes = new KeyedMutex();
  const noQuery = (c: RequestContext) => checkQuery(c.query, []);

  r.get("/healthz", (c) => {
    noQuery(c);
    return json({ status: "ok" });
  });
  if (o.metrics) {
    const m = o.metrics;
    r.get("/metrics", async (c) => {
      noQuery(c);
      return text(await m.text(), m.contentType);
    });
  }
  r.get("/v1/info", (c) => {
    noQuery(c);
    return json({ api: "v1", ...(o.info ? o.info() : {}) });
  });

  // --- deployments ----------------------------------------------------------
  r.get("/v1/deployments", async (c) => {
    noQuery(c);
    return json({ deployments: await b.listDeployments() });
  });
  r.get("/v1/deployments/:name", async (c) => {
    noQuery(c);
    const d = await b.getDeployment(deploymentName(c.params.name!));
    if (!d) throw noDeployment(c.params.name!);
    return json(d);
  });
  r.put("/v1/deployments/:name", async (c) => {
    noQuery(c);
    const name = deploymentName(c.params.name!);
    const input = parseDeploymentInput(await c.body());
    const res = await changes.run(name, () => b.putDeployment(name, input, c.signal));
    return json(res, res.created ? 201 : 200);
  });
  r.delete("/v1/deployments/:name", async (c) => {
    checkQuery(c.query, ["volumes"]);
    const name = deploymentName(c.params.name!);
    const volumes = queryBool(c.query, "volumes", false);
    const res = await changes.run(name, () => b.deleteDeployment(name, { volumes }, c.signal));
    if (!res) throw noDeployment(name);
    return json(res);
  });
  r.get("/v1/deployments/:name/services", async (c) => {
    noQuery(c);
    const name = deploymentName(c.params.name!);
    const list = await b.listServices(name);
    if (!list) throw noDeployment(name);
    return json({ services: list });
  });
  r.get("/v1/deployments/:name/services/:service", async (c) => {
    noQuery(c);
    const deployment = deploymentName(c.params.name!);
    const service = serviceName(c.params.service!);
    const v = await b.inspect({ kind: "service", deployment, service });
    if (v === undefined) throw notFound(`no service '${service}' in deployment '${deployment}'`);
    return json(v);
  });
  r.post("/v1/deployments/:name/services/:service/scale", async (c) => {
    noQuery(c);
    const deployment = deploymentName(c.params.name!);
    const service = serviceName(c.params.service!);
    const body = await c.body();
    if (body === undefined) throw badInput("body", "expected {\"replicas\": <n>}");
    const replicas = optInt(expectObject(body, "body", ["replicas"]), "replicas", "body", 0, MAX_REPLICAS);
    if (replicas === undefined) throw badInput("body.replicas", "required");
    const res = await changes.run(deployment, () => b.scale(deployment, service, replicas, c.signal));
    if (!res) throw notFound(`no service '${service}' in deployment '${deployment}'`);
    return json(res);
  });
  r.post("/v1/deployments/:name/services/:service/rollback", async (c) => {
    noQuery(c);
    const deployment = deploymentName(c.params.name!);
    const service = serviceName(c.params.service!);
    if (!b.rollback) throw notFound("this agent cannot roll back");
    const res = await changes.run(deployment, () => b.rollback!(deployment, service, c.signal));
    if (!res) throw notFound(`no service '${service}' in deployment '${deployment}'`);
    return json(res);
  });
  r.get("/v1/placement/:service", async (c) => {
    checkQuery(c.query, ["deployment"]);
    const service = serviceName(c.params.service!);
    const d = c.query.get("deployment");
    if (!b.why) throw notFound("this agent does not schedule");
    return json(await b.why(service, d === null ? undefined : deploymentName(d)));
  });
  r.get("/v1/deployments/:name/logs", async (c) => {
    checkQuery(c.query, ["service", "follow", "tail", "since", "timestamps"], ["service"]);
    const deployment = deploymentName(c.params.name!);
    const services = c.query.getAll("service").map(serviceName);
    return logsReply(b, c, { ...logOptions(c), target: { kind: "deployment", deployment, services } }, `no deployment named '${deployment}'`);
  });

  // --- services and containers ------------------------------------------
  r.get("/v1/services", async (c) => {
    checkQuery(c.query, ["deployment"]);
    const d = c.query.get("deployment");
    const list = await b.listServices(d === null ? undefined : deploymentName(d));
    if (!list) throw noDeployment(d ?? "");
    return json({ services: list });
  });
  r.get("/v1/containers", async (c) => {
    checkQuery(c.query, ["deployment", "service", "state", "health"]);
    const f: { -readonly [K in keyof ContainerFilter]: ContainerFilter[K] } = {};
    const d = c.query.get("deployment");
    const s = c.query.get("service");
    if (d !== null) f.deployment = deploymentName(d);
    if (s !== null) f.service = serviceName(s);
    const state = queryEnum(c.query, "state", STATES);
    const health = queryEnum(c.query, "health", HEALTHS);
    if (state) f.state = state;
    if (health) f.health = health;
    return json({ containers: await b.listContainers(f) });
  });
  r.get("/v1/containers/:id", async (c) => {
    noQuery(c);
    const id = containerRef(c.params.id!);
    const v = await b.inspect({ kind: "container", id });
    if (v === undefined) throw notFound(`no container '${id}'`);
    return json(v);
  });
  r.get("/v1/containers/:id/logs", async (c) => {
    checkQuery(c.query, ["follow", "tail", "since", "timestamps"]);
    const id = containerRef(c.params.id!);
    return logsReply(b, c, { ...logOptions(c), target: { kind: "container", id } }, `no container '${id}'`);
  });

  // --- events ---------------------------------------------------------------
  r.get("/v1/events", (c) => {
    checkQuery(c.query, ["type", "deployment", "service", "container", "since", "follow"], ["type"]);
    const types = c.query
      .getAll("type")
      .flatMap((t) => t.split(","))
      .map((t) => t.trim())
      .filter((t) => t !== "");
    for (const t of types) if (!/^[a-z0-9_.-]{1,64}(\.\*)?$/.test(t)) throw httpError(400, "api.bad_query", `bad event type filter '${t.slice(0, 40)}'`);
    const filter: { -readonly [K in keyof EventFilter]: EventFilter[K] } = {};
    if (types.length) filter.types = types;
    const d = c.query.get("deployment");
    const s = c.query.get("service");
    const ct = c.query.get("container");
    if (d !== null) filter.deployment = deploymentName(d);
    if (s !== null) filter.service = serviceName(s);
    if (ct !== null) filter.container = containerRef(ct);
    // An EventSource reconnecting sends Last-Event-ID; it wins over the ?since= of the original URL.
    const lastId = c.headers["last-event-id"];
    let after = queryInt(c.query, "since", 0, Number.MAX_SAFE_INTEGER) ?? 0;
    if (typeof lastId === "string" && lastId !== "") {
      if (!/^\d{1,15}$/.test(lastId)) throw httpError(400, "api.bad_request", "Last-Event-ID must be an event id (a non-negative integer)");
      after = Number(lastId);
    }
    const follow = queryBool(c.query, "follow", true);
    const source = o.events.subscribe({ after, filter, follow, signal: c.signal });
    return sse(mapAsync(source, (e): SseMessage => ({ id: e.id, event: e.type, data: e })));
  });

  // --- cluster --------------------------------------------------------------
  const cl = (): ClusterApi => {
    if (!o.cluster) throw httpError(503, "cluster.unavailable", "this agent runs without the cluster runtime");
    return o.cluster;
  };
  const keyId = (s: string) => {
    if (!/^[A-Za-z0-9]{1,64}$/.test(s)) throw httpError(400, "api.bad_name", `'${s.slice(0, 40)}' is not a key id (8 hex characters, see \`fizz cluster keys list\`)`);
    return s.toLowerCase();
  };
  r.post("/v1/cluster/init", async (c) => {
    noQuery(c);
    const body = await c.body();
    const b0 = body === undefined ? {} : expectObject(body, "body", ["advertise"]);
    const advertise = optString(b0, "advertise", "body", 300);
    return json(await cl().init({ advertise: advertise || undefined }), 201);
  });
  r.post("/v1/cluster/join", async (c) => {
    noQuery(c);
    const body = await c.body();
    if (body === undefined) throw badInput("body", "expected {\"address\": \"<host>:<port>\", \"token\": \"fizz1…\"}");
    const b0 = expectObject(body, "body", ["address", "token"]);
    const address = optString(b0, "address", "body", 300);
    const token = optString(b0, "token", "body", 4096);
    if (!address) throw badInput("body.address", "required: a member's cluster address, <host>[:<port>]");
    if (token === undefined) throw badInput("body.token", "required: the token printed by `fizz init`");
    return json(await cl().join({ address, token }));
  });
  r.post("/v1/cluster/leave", async (c) => {
    noQuery(c);
    return json(await cl().leave());
  });
  r.get("/v1/cluster/nodes", (c) => {
    noQuery(c);
    return json({ nodes: cl().nodes() });
  });
  r.get("/v1/cluster/keys", (c) => {
    noQuery(c);
    return json(cl().keys());
  });
  r.post("/v1/cluster/keys", async (c) => {
    noQuery(c);
    const body = await c.body();
    if (body === undefined) throw badInput("body", "expected {\"key\": \"<base64 or hex, 32 bytes>\"}");
    const key = optString(expectObject(body, "body", ["key"]), "key", "body", 200);
    if (!key) throw badInput("body.key", "required: 32 bytes as base64 or hex");
    return json(cl().installKey(key));
  });
  r.post("/v1/cluster/keys/use", async (c) => {
    noQuery(c);
    const body = await c.body();
    if (body === undefined) throw badInput("body", "expected {\"id\": \"<key id>\"}");
    const id = optString(expectObject(body, "body", ["id"]), "id", "body", 64);
    if (!id) throw badInput("body.id", "required: a key id from `fizz cluster keys list`");
    return json(cl().useKey(keyId(id)));
  });
  r.delete("/v1/cluster/keys/:id", (c) => {
    noQuery(c);
    return json(cl().removeKey(keyId(c.params.id!)));
  });

  return r;
}

function noDeployment(name: string): FizzError {
  return notFound(`no deployment named '${name.slice(0, 80)}'`);
}

function logOptions(c: RequestContext): Omit<LogsQuery, "target"> {
  const tail = queryInt(c.query, "tail", 0, 1_000_000);
  const sinceRaw = c.query.get("since");
  let since: number | undefined;
  if (sinceRaw !== null) {
    since = /^\d{1,15}$/.test(sinceRaw) ? Number(sinceRaw) : Date.parse(sinceRaw);
    if (!Number.isFinite(since)) throw httpError(400, "api.bad_query", "query parameter 'since' must be ms since the epoch or an RFC 3339 time");
  }
  return {
    follow: queryBool(c.query, "follow", false),
    timestamps: queryBool(c.query, "timestamps", false),
    ...(tail !== undefined ? { tail } : {}),
    ...(since !== undefined ? { since } : {}),
  };
}

async function logsReply(b: AgentBackend, c: RequestContext, q: LogsQuery, missing: string) {
  const lines = await b.logs(q, c.signal);
  if (!lines) throw notFound(missing);
  return stream(mapAsync(lines, (l: LogLine) => JSON.stringify(l) + "\n"));
}

async function* mapAsync<A, B>(src: AsyncIterable<A>, f: (a: A) => B): AsyncGenerator<B> {
  for await (const a of src) yield f(a);
}

export function parseDeploymentInput(v: unknown): DeploymentInput {
  if (v === undefined) throw badInput("body", "expected a deployment: {\"files\": [{\"name\", \"content\"}], \"env\": {...}} or {\"project\": {...}}");
  const o = expectObject(v, "body", ["files", "project", "env", "profiles", "workingDir", "options"]);
  const out: { -readonly [K in keyof DeploymentInput]: DeploymentInput[K] } = {};
  if (o.files !== undefined) {
    if (!Array.isArray(o.files)) throw badInput("body.files", "expected an array of {name, content}");
    if (o.files.length === 0 || o.files.length > 64) throw badInput("body.files", "expected 1 to 64 files");
    out.files = o.files.map((f, i) => {
      const fo = expectObject(f, `body.files[${i}]`, ["name", "content"]);
      const name = optString(fo, "name", `body.files[${i}]`, 4096);
      const content = optString(fo, "content", `body.files[${i}]`);
      if (name === undefined || name === "") throw badInput(`body.files[${i}].name`, "required");
      if (content === undefined) throw badInput(`body.files[${i}].content`, "required");
      return { name, content };
    });
  }
  if (o.project !== undefined) {
    if (!isRecord(o.project)) throw badInput("body.project", "expected an object (a normalised compose project)");
    out.project = o.project;
  }
  if ((out.files === undefined) === (out.project === undefined)) throw badInput("body", "give exactly one of 'files' or 'project'");
  const env = optStringMap(o, "env", "body");
  if (env) out.env = env;
  const profiles = optStringArray(o, "profiles", "body");
  if (profiles) out.profiles = profiles;
  const wd = optString(o, "workingDir", "body", 4096);
  if (wd !== undefined) out.workingDir = wd;
  if (o.options !== undefined) {
    const oo = expectObject(o.options, "body.options", ["pull", "build", "forceRecreate", "noRecreate", "removeOrphans", "wait", "timeoutSeconds"]);
    const opts: { -readonly [K in keyof DeployOptions]: DeployOptions[K] } = {};
    const pull = optEnum(oo, "pull", "body.options", ["always", "missing", "never"] as const);
    if (pull) opts.pull = pull;
    for (const k of ["build", "forceRecreate", "noRecreate", "removeOrphans", "wait"] as const) {
      const bv = optBool(oo, k, "body.options");
      if (bv !== undefined) opts[k] = bv;
    }
    const t = optInt(oo, "timeoutSeconds", "body.options", 0, 86_400);
    if (t !== undefined) opts.timeoutSeconds = t;
    out.options = opts;
  }
  return out;
}

