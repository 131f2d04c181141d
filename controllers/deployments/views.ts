/**
 * What the API shows of this node's deployments: summaries, services,
 * containers, inspect, logs and `fizz why`, from the desired state and what
 * the engine has (found by our labels). In a cluster, cluster-views.ts adds
 * what the other nodes publish.
 */
import { cpus, hostname, totalmem } from "node:os";
import { FizzError } from "../../core/errors.ts";
import { LABEL } from "../../core/labels.ts";
import { containerAddresses, exitCodeFromStatus, healthFromStatus } from "../../core/deploy/actual.ts";
import type { ContainerRecord } from "../../core/state/schema.ts";
import type { Project } from "../../core/compose/model.ts";
import { replicaCount } from "../../core/compose/query.ts";
import { finishedJob } from "../../core/reconcile/readiness.ts";
import { clusterPlacement, type ClusterPlacement } from "../../core/placement/cluster-placement.ts";
import { explainServiceExplanation } from "../../core/scheduler/explain.ts";
import { suggest } from "../../core/text/suggest.ts";
import type { ContainerFilter, ContainerView, DeploymentDetail, DeploymentSummary, InspectTarget, LogLine, LogsQuery, ServiceView, WhyResult } from "../../platform/api/backend.ts";
import type { ContainerSummary } from "../../platform/engine/index.ts";
import type { AgentStore } from "../../platform/store/index.ts";
import type { Desired, DesiredStore } from "./desired.ts";
import type { NodeEngine } from "./node-engine.ts";

const STATES = new Set(["created", "running", "paused", "restarting", "exited", "dead", "removing"]);

export class DeploymentViews {
  constructor(
    private readonly engine: NodeEngine,
    private readonly desired: DesiredStore,
    private readonly store: AgentStore,
    private readonly o: {
      readonly node: string;
      readonly placement: () => ClusterPlacement | undefined;
      /** In a cluster: every node's container records (where each replica runs, its addresses). */
      readonly records?: () => Iterable<ContainerRecord>;
      /** How often a followed deployment's logs look for containers that started or replaced others (ms). */
      readonly followPoll: number;
    },
  ) {}

  private servicesView(rec: Desired, containers: readonly ContainerSummary[]): ServiceView[] {
    const overrides = this.desired.replicas(rec.name);
    const services = Object.values(rec.spec.services);
    const jobs = new Set(services.flatMap((s) => Object.entries(s.depends_on ?? {}).filter(([, d]) => d.condition === "service_completed_successfully").map(([name]) => name)));
    return services.map((s) => {
      const mine = containers.filter((c) => c.Labels?.[LABEL.service] === s.name && c.Labels?.[LABEL.oneoff] !== "True");
      const running = mine.filter((c) => String(c.State).toLowerCase() === "running");
      // A one-shot job that exited 0 is done, not missing (the rule `up --wait` uses). Podman says "stopped" for exited.
      const state = (c: ContainerSummary) => (String(c.State).toLowerCase() === "stopped" ? "exited" : String(c.State).toLowerCase());
      const completed = mine.filter((c) => finishedJob({ state: state(c), exitCode: exitCodeFromStatus(c.Status) }, s.restart, jobs.has(s.name))).length;
      return {
        deployment: rec.name,
        name: s.name,
        image: s.image ?? `${rec.spec.name}-${s.name}`,
        desired: replicaCount(s, overrides.get(s.name)),
        running: running.length,
        healthy: running.filter((c) => healthFromStatus(c.Status) === "healthy").length,
        completed,
      };
    });
  }

  private async summary(rec: Desired): Promise<DeploymentSummary> {
    const svcs = this.servicesView(rec, await this.engine.containers(rec.name));
    return {
      name: rec.name,
      generation: rec.generation,
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
      services: svcs.length,
      running: svcs.reduce((n, s) => n + s.running, 0),
      desired: svcs.reduce((n, s) => n + s.desired, 0),
      completed: svcs.reduce((n, s) => n + (s.completed ?? 0), 0),
    };
  }

  listDeployments(): Promise<DeploymentSummary[]> {
    return Promise.all(this.desired.list().map((r) => this.summary(r)));
  }

  async getDeployment(name: string): Promise<DeploymentDetail | undefined> {
    const rec = this.desired.get(name);
    if (!rec) return undefined;
    return { ...(await this.summary(rec)), spec: rec.spec, source: rec.source };
  }

  async listServices(deployment: string | undefined): Promise<ServiceView[] | undefined> {
    if (deployment !== undefined) {
      const rec = this.desired.get(deployment);
      return rec ? this.servicesView(rec, await this.engine.containers(deployment)) : undefined;
    }
    const out: ServiceView[] = [];
    for (const rec of this.desired.list()) out.push(...this.servicesView(rec, await this.engine.containers(rec.name)));
    return out;
  }

  async listContainers(filter: ContainerFilter): Promise<ContainerView[]> {
    const list = filter.deployment ? await this.engine.containers(filter.deployment) : await this.engine.managed();
    return list
      .filter((c) => c.Labels?.[LABEL.managed] === "true" && (!filter.service || c.Labels?.[LABEL.service] === filter.service))
      .map((c) => this.containerView(c))
      .filter((c) => (!filter.state || c.state === filter.state) && (!filter.health || c.health === filter.health))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  private containerView(c: ContainerSummary): ContainerView {
    const labels = c.Labels ?? {};
    const name = (c.Names[0] ?? c.Id).replace(/^\//, "");
    const state = String(c.State).toLowerCase();
    return {
      id: c.Id,
      name,
      deployment: labels[LABEL.project] ?? "",
      service: labels[LABEL.service] ?? "",
      number: Number(labels[LABEL.containerNumber] ?? 0),
      image: c.Image,
      state: (STATES.has(state) ? state : "created") as ContainerView["state"],
      health: healthFromStatus(c.Status),
      status: c.Status,
      createdAt: c.Created * 1000,
      restarts: this.store.restarts(name, c.Created * 1000).length,
      ports: (c.Ports ?? []).map((p) => (p.PublicPort ? `${p.IP ?? "0.0.0.0"}:${p.PublicPort}->${p.PrivatePort}/${p.Type}` : `${p.PrivatePort}/${p.Type}`)),
      ...withAddresses(byComposeKey(this.desired.get(labels[LABEL.project] ?? "")?.spec, labels[LABEL.project] ?? "", containerAddresses(c))),
    };
  }

  async inspect(target: InspectTarget): Promise<unknown | undefined> {
    if (target.kind === "container") {
      const ins = await this.engine.find(target.id);
      if (!ins || ins.Config.Labels?.[LABEL.managed] !== "true") return undefined;
      const name = ins.Name.replace(/^\//, "");
      return { engine: ins, restarts: this.store.restarts(name, Date.parse(ins.Created)) };
    }
    const rec = this.desired.get(target.deployment);
    const svc = rec?.spec.services[target.service];
    if (!rec || !svc) return undefined;
    const containers = (await this.engine.containers(target.deployment)).filter((c) => c.Labels?.[LABEL.service] === target.service);
    return { service: svc, view: this.servicesView(rec, containers).find((s) => s.name === target.service), containers: containers.map((c) => this.containerView(c)) };
  }

  async logs(query: LogsQuery, signal: AbortSignal): Promise<AsyncIterable<LogLine> | undefined> {
    let targets: ContainerSummary[];
    if (query.target.kind === "container") {
      const id = query.target.id;
      targets = (await this.engine.managed()).filter((c) => c.Id === id || c.Id.startsWith(id) || c.Names.some((n) => n.replace(/^\//, "") === id));
      if (!targets.length) return undefined;
    } else {
      const t = query.target;
      const rec = this.desired.get(t.deployment);
      if (!rec) return undefined;
      for (const s of t.services) if (!rec.spec.services[s]) throw new FizzError({ code: "api.not_found", message: `no service '${s}' in deployment '${t.deployment}'`, status: 404 });
      const list = async () => (await this.engine.containers(t.deployment)).filter((c) => (!t.services.length || t.services.includes(c.Labels?.[LABEL.service] ?? "")) && c.Labels?.[LABEL.oneoff] !== "True");
      // Followed, the stream outlives its containers: a recreated or (re)started one is picked up, as `fizz logs -f` does on the engine.
      if (query.follow) return followLogs(this.engine, list, query, signal, this.o.followPoll);
      targets = await list();
    }
    return mergeLogs(this.engine, targets, query, signal);
  }

  /** The placement of this node alone (not in a cluster): every replica runs here unless it does not fit. */
  private localPlacement(): ClusterPlacement {
    const self = { id: this.o.node, name: hostname(), state: "alive" as const, labels: {}, resources: { cpuMillis: cpus().length * 1000, memoryBytes: totalmem() } };
    return clusterPlacement([self], this.desired.list().map((r) => ({ id: r.name, project: r.spec, replicas: this.desired.replicas(r.name) })), []);
  }

  async why(service: string, deployment: string | undefined): Promise<WhyResult> {
    const cp = this.o.placement() ?? this.localPlacement();
    const all = cp.placement.explanations;
    const matches = all.filter((e) => e.service === service && (deployment === undefined || e.deploymentId === deployment));
    if (matches.length === 0) {
      const names = [...new Set(all.filter((e) => deployment === undefined || e.deploymentId === deployment).map((e) => e.service))].sort();
      const guess = suggest(service, names);
      throw new FizzError({
        code: "api.not_found",
        message: `no service '${service}'${deployment ? ` in deployment '${deployment}'` : " in any deployment"}`,
        hint: guess ? `did you mean '${guess}'?` : names.length ? `services: ${names.join(", ")}` : "nothing is deployed",
        status: 404,
      });
    }
    if (matches.length > 1) {
      throw new FizzError({ code: "api.ambiguous", message: `service '${service}' exists in deployments ${matches.map((m) => m.deploymentId).join(", ")}`, hint: "name the deployment with -p", status: 400 });
    }
    const e = matches[0]!;
    const replicas = await this.replicaAddresses(e.deploymentId, service, cp);
    const lines = replicas.map((r) => `  ${service} #${r.number} on ${r.node}: ${Object.entries(r.addresses).map(([net, ip]) => `${ip} on network ${net}`).join(", ") || "no address yet"}`);
    const text = explainServiceExplanation(e, { hostnames: cp.names }).replace(/\n?$/, "\n") + (lines.length ? `addresses:\n${lines.join("\n")}\n` : "");
    return { deployment: e.deploymentId, service, explanation: e, text, replicas };
  }

  /** Where each replica of a service runs and its addresses: every node's records in a cluster, this engine's containers alone. */
  private async replicaAddresses(deployment: string, service: string, cp: ClusterPlacement): Promise<WhyResult["replicas"]> {
    if (this.o.records && this.o.placement()) {
      return [...this.o.records()]
        .filter((r) => r.deploymentId === deployment && r.service === service && r.status !== "failed" && r.status !== "stopped" && cp.live.has(r.nodeId))
        .map((r) => ({ number: r.index + 1, node: cp.names.get(r.nodeId) ?? r.nodeId.slice(0, 8), addresses: { ...(r.addresses ?? {}) } }))
        .sort((a, b) => a.number - b.number);
    }
    const spec = this.desired.get(deployment)?.spec;
    const cs = (await this.engine.containers(deployment)).filter((c) => c.Labels?.[LABEL.service] === service && c.Labels?.[LABEL.oneoff] !== "True");
    return cs
      .map((c) => ({ number: Number(c.Labels?.[LABEL.containerNumber] ?? 0), node: hostname(), addresses: byComposeKey(spec, deployment, containerAddresses(c)) }))
      .sort((a, b) => a.number - b.number);
  }
}

/** Log lines of several containers as one stream, in arrival order. */
function mergeLogs(engine: NodeEngine, targets: readonly ContainerSummary[], q: LogsQuery, signal: AbortSignal): AsyncGenerator<LogLine> {
  return logLines(engine, async () => targets, q, signal, undefined);
}

/**
 * A deployment's log lines, followed until the client leaves: every `poll` ms
 * the list is read again, and a container not being streamed that is new, or
 * running again after its stream ended, is streamed (from where it ended).
 */
function followLogs(engine: NodeEngine, list: () => Promise<ContainerSummary[]>, q: LogsQuery, signal: AbortSignal, poll: number): AsyncGenerator<LogLine> {
  return logLines(engine, list, q, signal, poll);
}

async function* logLines(engine: NodeEngine, list: () => Promise<readonly ContainerSummary[]>, q: LogsQuery, signal: AbortSignal, poll: number | undefined): AsyncGenerator<LogLine> {
  const queue: LogLine[] = [];
  let wake: (() => void) | undefined;
  let open = 0;
  const active = new Set<string>();
  const resumeAt = new Map<string, number>(); // container id → unix seconds to resume from
  const push = (l: LogLine) => {
    queue.push(l);
    wake?.();
  };
  const stream = (c: ContainerSummary, running: boolean) => {
    const name = (c.Names[0] ?? c.Id).replace(/^\//, "");
    const service = c.Labels?.[LABEL.service] ?? "";
    const resume = resumeAt.get(c.Id);
    const since = resume ?? (q.since !== undefined ? Math.floor(q.since / 1000) : undefined);
    open++;
    active.add(c.Id);
    void (async () => {
      const pending: Record<string, string> = { stdout: "", stderr: "" };
      try {
        for await (const f of engine.logs(c.Id, {
          follow: q.follow && running,
          ...(resume === undefined && q.tail !== undefined ? { tail: q.tail } : {}),
          ...(since !== undefined ? { since } : {}),
          timestamps: q.timestamps,
          signal,
        })) {
          const stream = f.stream === "stderr" ? "stderr" : "stdout";
          pending[stream] += Buffer.from(f.data).toString("utf8");
          let nl: number;
          while ((nl = pending[stream]!.indexOf("\n")) >= 0) {
            let line = pending[stream]!.slice(0, nl);
            pending[stream] = pending[stream]!.slice(nl + 1);
            let time: number | undefined;
            if (q.timestamps) {
              const sp = line.indexOf(" ");
              const t = Date.parse(line.slice(0, sp));
              if (Number.isFinite(t)) {
                time = t;
                line = line.slice(sp + 1);
              }
            }
            push({ container: name, service, stream, line, ...(time !== undefined ? { time } : {}) });
          }
        }
      } catch {
        /* the container went away or the client left */
      } finally {
        for (const s of ["stdout", "stderr"] as const) if (pending[s]) push({ container: name, service, stream: s, line: pending[s]! });
        resumeAt.set(c.Id, Math.floor(Date.now() / 1000) + 1);
        active.delete(c.Id);
        open--;
        wake?.();
      }
    })();
  };
  const sweep = async () => {
    for (const c of await list()) {
      if (active.has(c.Id)) continue;
      const running = String(c.State).toLowerCase() === "running";
      // The first sweep shows every container's history; later ones pick up only (re)started ones.
      if (resumeAt.has(c.Id) && !running) continue;
      stream(c, running);
    }
  };
  await sweep();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const tick = () => {
    timer = setTimeout(() => {
      void sweep()
        .catch(() => {})
        .finally(() => {
          if (!signal.aborted) tick();
          wake?.();
        });
    }, poll);
  };
  if (poll !== undefined) tick();
  const onAbort = () => wake?.();
  signal.addEventListener("abort", onAbort);
  try {
    while (open > 0 || queue.length || (poll !== undefined && !signal.aborted)) {
      if (queue.length) {
        yield queue.shift()!;
        continue;
      }
      if (signal.aborted) return;
      await new Promise<void>((r) => (wake = r));
      wake = undefined;
    }
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onAbort);
  }
}

/** Engine network names → compose network keys (a network the spec does not name keeps its engine name). */
function byComposeKey(spec: Project | undefined, project: string, byEngine: Readonly<Record<string, string>> | undefined): Record<string, string> {
  const keyOf = new Map(Object.entries(spec?.networks ?? {}).map(([key, n]) => [n.name ?? `${project}_${key}`, key]));
  const out: Record<string, string> = {};
  for (const [net, ip] of Object.entries(byEngine ?? {})) out[keyOf.get(net) ?? net] = ip;
  return out;
}

function withAddresses(a: Record<string, string>): { addresses?: Record<string, string> } {
  return Object.keys(a).length ? { addresses: a } : {};
}
