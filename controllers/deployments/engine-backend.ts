/**
 * The agent's real backend: deployments are compose projects stored in
 * SQLite (with their environment resolved at deploy time), converged on the
 * local engine, and kept converged by the reconciler. Containers, logs and
 * inspect come straight from the engine, found by our labels.
 */
import { posix } from "node:path";
import type { FileReader } from "../../core/compose/load.ts";
import type { Project } from "../../core/compose/model.ts";
import type { MountSpec } from "../../core/deploy/engine-body.ts";
import { FizzError } from "../../core/errors.ts";
import { LABEL, MANAGED_FILTER, projectFilter } from "../../core/labels.ts";
import { planDown } from "../../core/reconcile/lifecycle.ts";
import { healthFromStatus } from "../../core/deploy/actual.ts";
import { replicaCount } from "../../core/compose/query.ts";
import type { ContainerSummary, Engine } from "../../platform/engine/index.ts";
import type { AgentStore } from "../../platform/store/index.ts";
import { EngineExecutor } from "../../platform/deploy/engine-adapter.ts";
import { executePlan } from "../../platform/deploy/executor.ts";
import { converge } from "../../platform/deploy/converge.ts";
import { prepareProject, readActual, readTextFile, type Prepared } from "../../platform/deploy/project.ts";
import { waitHealthy } from "../../platform/deploy/wait-healthy.ts";
import type {
  AgentBackend,
  ContainerFilter,
  ContainerView,
  DeleteResult,
  DeploymentDetail,
  DeploymentInput,
  DeploymentSummary,
  DeployResult,
  InspectTarget,
  LogLine,
  LogsQuery,
  RollbackView,
  ScaleResult,
  ServiceView,
  WhyResult,
} from "../../platform/api/backend.ts";
import { projectOf, stepEventRecord, type Reconciler, type ReconcilerEvent } from "./reconciler.ts";
import type { DeploymentImageHooks } from "../registry/controller.ts";
import type { StepEvent } from "../../platform/deploy/executor.ts";
import { clusterPlacement, type ClusterPlacement } from "../../core/placement/cluster-placement.ts";
import { rollbackService } from "../../core/placement/rollback.ts";
import { explainServiceExplanation } from "../../core/scheduler/explain.ts";
import { suggest } from "../../core/text/suggest.ts";
import { cpus, hostname, totalmem } from "node:os";

/**
 * What the backend needs from the cluster when this node is a member: the
 * cluster state is then the source of truth, placement decides what runs
 * here, and an API change here converges only this node's share (the other
 * nodes follow the state).
 */
export interface ClusterHooks {
  active(): boolean;
  /** Recomputes the placement from the current cluster state (after a local change). */
  refresh(): void;
  /** Replicates a deployment stored here (spec and `fizz scale` overrides) into the cluster state. */
  publish(name: string): void;
  /** Removes a deployment from the cluster state (every node takes its part down). */
  remove(name: string): void;
  /** The deployment's spec and previous spec in the cluster state. */
  specs(name: string): { spec: unknown; previous: unknown } | undefined;
  /**
   * Resolves when every placed replica runs the current spec somewhere (healthy
   * where it has a healthcheck). `refresh` runs before each check: the caller
   * holds the deployment, so it must publish this node's own records itself.
   */
  waitRunning(name: string, timeoutMs: number, signal: AbortSignal, refresh: () => Promise<void>): Promise<void>;
  /** The cluster-wide placement, for `fizz why`. */
  placement(): ClusterPlacement | undefined;
}

export interface EngineBackendOptions {
  engine: Engine;
  store: AgentStore;
  reconciler: Reconciler;
  node: string;
  fizzVersion: string;
  /** Event-log entries for the steps an API-driven change runs (the CLI follows them as progress). */
  emit?: (e: ReconcilerEvent) => void;
  /** After a deployment was removed here (`fizz down`). */
  onRemoved?: (deployment: string) => void;
  /** This node's part in a cluster, when it can be one (active once it is a member). */
  cluster?: ClusterHooks;
  /** The registry: pins each service's image to a digest at deploy and pulls it through the node's registry. */
  images?: DeploymentImageHooks;
  /** Secrets and configs for a container about to be created (the secrets controller). */
  prepareContainer?: (project: Project, service: string, container: string) => Promise<MountSpec[]>;
  /** Checks a deployment against the others before it is accepted; throws a FizzError (409) naming both places. */
  admit?: (name: string, project: Project) => void;
  /** Before a container stops: the ingress drains it (bounded). */
  beforeStop?: (project: Project, container: string) => Promise<void>;
  now?: () => number;
}

const STATES = new Set(["created", "running", "paused", "restarting", "exited", "dead", "removing"]);

export class EngineBackend implements AgentBackend {
  private readonly engine: Engine;
  private readonly store: AgentStore;
  private readonly now: () => number;
  /** Serialises changes per deployment: two `up`s of one project must not interleave. */
  private readonly locks = new Map<string, Promise<unknown>>();

  private clustered(): ClusterHooks | undefined {
    return this.o.cluster?.active() ? this.o.cluster : undefined;
  }

  /**
   * In a cluster: the change is already in the cluster state; converge this
   * node's share now (its steps stream to the caller), then optionally wait
   * for the whole placement to run.
   */
  private async convergeShare(name: string, cluster: ClusterHooks, signal: AbortSignal, wait: { timeoutMs: number } | undefined): Promise<Record<string, number>> {
    cluster.refresh();
    const actions: Record<string, number> = {};
    const result = await this.o.reconciler.reconcileDeployment(name, {
      signal,
      onStep: (e) => {
        if (e.type === "done") actions[e.step.kind] = (actions[e.step.kind] ?? 0) + 1;
      },
    });
    if (result && !result.ok) throw result.error!;
    if (wait) await cluster.waitRunning(name, wait.timeoutMs, signal, () => this.o.reconciler.reportDeployment(name));
    return actions;
  }

  constructor(private readonly o: EngineBackendOptions) {
    this.engine = o.engine;
    this.store = o.store;
    this.now = o.now ?? Date.now;
  }

  /** The executor's hook that writes a new container's secrets and configs. */
  private secretsFor(project: Project): { prepareCreate?: (service: string, container: string) => Promise<MountSpec[]>; beforeStop?: (container: string) => Promise<void> } {
    const prep = this.o.prepareContainer;
    const drain = this.o.beforeStop;
    return { ...(prep ? { prepareCreate: (svc: string, c: string) => prep(project, svc, c) } : {}), ...(drain ? { beforeStop: (c: string) => drain(project, c) } : {}) };
  }

  private async locked<T>(name: string, run: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.catch(() => {}).then(async () => {
      // The reconcile loop stays off this deployment until the change is done.
      const release = await this.o.reconciler.hold(name);
      try {
        return await run();
      } finally {
        release();
      }
    });
    this.locks.set(name, next);
    try {
      return await next;
    } finally {
      if (this.locks.get(name) === next) this.locks.delete(name);
    }
  }

  private async containersOf(deployment: string): Promise<ContainerSummary[]> {
    return this.engine.containers.list({ all: true, labels: projectFilter(deployment) });
  }

  private servicesView(rec: { name: string; spec: unknown }, containers: readonly ContainerSummary[]): ServiceView[] {
    const project = projectOf(rec.spec);
    const overrides = this.store.replicas(rec.name);
    return Object.values(project.services).map((s) => {
      const mine = containers.filter((c) => c.Labels?.[LABEL.service] === s.name && c.Labels?.[LABEL.oneoff] !== "True");
      const running = mine.filter((c) => String(c.State).toLowerCase() === "running");
      return {
        deployment: rec.name,
        name: s.name,
        image: s.image ?? `${project.name}-${s.name}`,
        desired: replicaCount(s, overrides.get(s.name)),
        running: running.length,
        healthy: running.filter((c) => healthFromStatus(c.Status) === "healthy").length,
      };
    });
  }

  private async summary(rec: { name: string; spec: unknown; generation: number; createdAt: number; updatedAt: number }): Promise<DeploymentSummary> {
    const svcs = this.servicesView(rec, await this.containersOf(rec.name));
    return {
      name: rec.name,
      generation: rec.generation,
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
      services: svcs.length,
      running: svcs.reduce((n, s) => n + s.running, 0),
      desired: svcs.reduce((n, s) => n + s.desired, 0),
    };
  }

  async listDeployments(): Promise<DeploymentSummary[]> {
    return Promise.all(this.store.listDeployments().map((r) => this.summary(r)));
  }

  async getDeployment(name: string): Promise<DeploymentDetail | undefined> {
    const rec = this.store.getDeployment(name);
    if (!rec) return undefined;
    return { ...(await this.summary(rec)), spec: rec.spec, source: rec.source };
  }

  /** Loads a project from the files the CLI sent; other paths (env_file, extends) are read from disk, as the CLI would. */
  private async load(name: string, input: DeploymentInput): Promise<Project> {
    if (input.project) {
      const why = notNormalised(input.project);
      if (why) {
        throw new FizzError({
          code: "api.bad_project",
          message: `project is not a normalised compose project: ${why}`,
          hint: "send compose files as `files`, or the project `fizz up` sends (the CLI's normalised model)",
          status: 400,
        });
      }
      return { ...(input.project as unknown as Project), name };
    }
    const files = input.files ?? [];
    if (!files.length) throw new FizzError({ code: "api.no_files", message: "a deployment needs compose files (files) or a normalised project (project)", status: 400 });
    const cwd = input.workingDir && posix.isAbsolute(input.workingDir) ? input.workingDir : "/";
    // The compose loader (YAML parser and all) is loaded only when files arrive; the CLI sends normalised projects.
    const [{ loadProject }, { diagnosticsError }] = await Promise.all([import("../../core/compose/load.ts"), import("../../core/compose/diagnostics.ts")]);
    const sent = new Map(files.map((f) => [posix.resolve(cwd, f.name), f.content]));
    const reader: FileReader = { read: (p) => sent.get(p) ?? readTextFile(p) };
    const result = loadProject({
      files: [...sent.keys()],
      projectName: name,
      projectDirectory: cwd,
      ...(input.profiles ? { profiles: input.profiles } : {}),
      cwd,
      env: input.env ?? {},
      reader,
    });
    if (!result.project || result.diagnostics.some((d) => d.severity === "error")) {
      const err = diagnosticsError(result.diagnostics);
      throw new FizzError({ code: err.code, message: err.message, status: 400, ...(err.hint ? { hint: err.hint } : {}) });
    }
    return result.project;
  }

  async putDeployment(name: string, input: DeploymentInput, signal: AbortSignal): Promise<DeployResult> {
    return this.locked(name, async () => {
      const opts0 = input.options ?? {};
      const loaded = await this.load(name, input);
      // Refused before anything is stored or changed (e.g. an ingress port or host another project holds).
      this.o.admit?.(name, loaded);
      const project = this.o.images ? await this.o.images.pin(loaded, { ...(opts0.pull ? { pull: opts0.pull } : {}), ...(opts0.build ? { build: true } : {}) }) : loaded;
      const prepared: Prepared = prepareProject(project, {
        hostEnv: input.env ?? {},
        node: this.o.node,
        fizzVersion: this.o.fizzVersion,
        replicas: this.store.replicas(name),
      });
      const previous = this.store.getDeployment(name);
      const existed = previous !== undefined;
      // Stored before converging: an accepted deployment survives a crash mid-way and the loop finishes it.
      const rec = this.store.putDeployment(name, prepared.project, {
        files: (input.files ?? []).map((f) => f.name),
        workingDir: input.workingDir ?? null,
        profiles: input.profiles ?? [],
      }, this.now());
      const opts = input.options ?? {};
      const cluster = this.clustered();
      if (cluster) {
        cluster.publish(name);
        const actions = await this.convergeShare(name, cluster, signal, opts.wait ? { timeoutMs: (opts.timeoutSeconds ?? 600) * 1000 } : undefined);
        return { deployment: name, created: !existed, generation: rec.generation, actions, warnings: prepared.warnings };
      }
      if (previous && JSON.stringify(previous.spec) !== JSON.stringify(rec.spec)) this.store.setMeta(previousKey(name), JSON.stringify(previous.spec));
      // Pinned images come through the registry; then the plan finds them present.
      if (this.o.images) await this.o.images.ensure(prepared.project, prepared.desired.services.filter((s) => s.replicas > 0).map((s) => s.name));
      const outcome = await converge(
        this.engine,
        prepared,
        {
          pull: this.o.images && opts.pull === "always" ? "missing" : (opts.pull ?? "missing"),
          ...(opts.build ? { build: true } : {}),
          ...(opts.forceRecreate ? { forceRecreate: true } : {}),
          ...(opts.noRecreate ? { noRecreate: true } : {}),
          ...(opts.removeOrphans ? { removeOrphans: true } : {}),
        },
        {
          instance: { node: this.o.node, deployment: name, fizzVersion: this.o.fizzVersion },
          signal,
          ...this.secretsFor(projectOf(rec.spec)),
          onEvent: (e: StepEvent) => this.stepEvent(name, e),
          ...(opts.timeoutSeconds ? { waitTimeoutMs: opts.timeoutSeconds * 1000 } : {}),
        },
      );
      if (!outcome.result.ok) throw outcome.result.error!;
      if (opts.wait) await waitHealthy(this.engine, prepared.desired, { timeoutMs: (opts.timeoutSeconds ?? 600) * 1000 });
      const actions: Record<string, number> = {};
      for (const s of outcome.plan.steps) actions[s.kind] = (actions[s.kind] ?? 0) + 1;
      return {
        deployment: name,
        created: !existed,
        generation: rec.generation,
        actions,
        warnings: [...prepared.warnings, ...outcome.plan.warnings],
      };
    });
  }

  async deleteDeployment(name: string, opts: { readonly volumes: boolean }, signal: AbortSignal): Promise<DeleteResult | undefined> {
    return this.locked(name, async () => {
      const rec = this.store.getDeployment(name);
      if (!rec) return undefined;
      // Out of the cluster state first (every node takes its part down), then out of the store, so the loop does not bring it back.
      const cluster = this.clustered();
      cluster?.remove(name);
      this.store.deleteDeployment(name);
      this.store.setMeta(previousKey(name), "");
      const prepared = prepareProject(projectOf(rec.spec), { hostEnv: {} });
      const p = planDown(prepared.desired, await readActual(this.engine, name, cluster ? this.o.node : undefined), { volumes: opts.volumes, removeOrphans: true });
      const r = await executePlan(p, new EngineExecutor(this.engine), { project: name, instance: {}, signal, onEvent: (e) => this.stepEvent(name, e) });
      this.o.onRemoved?.(name);
      if (!r.ok) throw r.error!;
      const count = (kind: string) => p.steps.filter((s) => s.kind === kind).length;
      return { deployment: name, removed: { containers: count("removeContainer"), networks: count("removeNetwork"), volumes: count("removeVolume") } };
    });
  }

  private stepEvent(deployment: string, e: StepEvent): void {
    const ev = stepEventRecord(deployment, e);
    if (ev) this.o.emit?.(ev);
  }

  async listServices(deployment: string | undefined): Promise<ServiceView[] | undefined> {
    if (deployment !== undefined) {
      const rec = this.store.getDeployment(deployment);
      return rec ? this.servicesView(rec, await this.containersOf(deployment)) : undefined;
    }
    const out: ServiceView[] = [];
    for (const rec of this.store.listDeployments()) out.push(...this.servicesView(rec, await this.containersOf(rec.name)));
    return out;
  }

  async listContainers(filter: ContainerFilter): Promise<ContainerView[]> {
    const labels = [...MANAGED_FILTER, ...(filter.deployment ? projectFilter(filter.deployment) : []), ...(filter.service ? [`${LABEL.service}=${filter.service}`] : [])];
    const list = await this.engine.containers.list({ all: true, labels });
    return list
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
    };
  }

  async inspect(target: InspectTarget): Promise<unknown | undefined> {
    if (target.kind === "container") {
      const ins = await this.engine.containers.find(target.id);
      if (!ins || ins.Config.Labels?.[LABEL.managed] !== "true") return undefined;
      const name = ins.Name.replace(/^\//, "");
      return { engine: ins, restarts: this.store.restarts(name, Date.parse(ins.Created)) };
    }
    const rec = this.store.getDeployment(target.deployment);
    const svc = rec ? projectOf(rec.spec).services[target.service] : undefined;
    if (!rec || !svc) return undefined;
    const containers = (await this.containersOf(target.deployment)).filter((c) => c.Labels?.[LABEL.service] === target.service);
    return { service: svc, view: this.servicesView(rec, containers).find((s) => s.name === target.service), containers: containers.map((c) => this.containerView(c)) };
  }

  async logs(query: LogsQuery, signal: AbortSignal): Promise<AsyncIterable<LogLine> | undefined> {
    let targets: ContainerSummary[];
    if (query.target.kind === "container") {
      const id = query.target.id;
      const all = await this.engine.containers.list({ all: true, labels: [...MANAGED_FILTER] });
      targets = all.filter((c) => c.Id === id || c.Id.startsWith(id) || c.Names.some((n) => n.replace(/^\//, "") === id));
      if (!targets.length) return undefined;
    } else {
      const t = query.target;
      const rec = this.store.getDeployment(t.deployment);
      if (!rec) return undefined;
      const services = projectOf(rec.spec).services;
      for (const s of t.services) if (!services[s]) throw new FizzError({ code: "api.not_found", message: `no service '${s}' in deployment '${t.deployment}'`, status: 404 });
      targets = (await this.containersOf(t.deployment)).filter((c) => !t.services.length || t.services.includes(c.Labels?.[LABEL.service] ?? ""));
    }
    return mergeLogs(this.engine, targets, query, signal);
  }

  async scale(deployment: string, service: string, replicas: number, signal: AbortSignal): Promise<ScaleResult | undefined> {
    return this.locked(deployment, async () => {
      const rec = this.store.getDeployment(deployment);
      const svc = rec ? projectOf(rec.spec).services[service] : undefined;
      if (!rec || !svc) return undefined;
      const previous = replicaCount(svc, this.store.replicas(deployment).get(service));
      this.store.setReplicas(deployment, service, replicas);
      const cluster = this.clustered();
      if (cluster) {
        cluster.publish(deployment);
        await this.convergeShare(deployment, cluster, signal, undefined);
        return { deployment, service, replicas, previous };
      }
      const prepared = prepareProject(projectOf(rec.spec), { hostEnv: {}, node: this.o.node, fizzVersion: this.o.fizzVersion, replicas: this.store.replicas(deployment) });
      const outcome = await converge(this.engine, prepared, { pull: "missing", services: [service], noDeps: true }, {
        instance: { node: this.o.node, deployment, fizzVersion: this.o.fizzVersion },
        signal,
        ...this.secretsFor(projectOf(rec.spec)),
      });
      if (!outcome.result.ok) throw outcome.result.error!;
      return { deployment, service, replicas, previous };
    });
  }

  /** The placement of this node alone (not in a cluster): every replica runs here unless it does not fit. */
  private localPlacement(): ClusterPlacement {
    const self = { id: this.o.node, name: hostname(), state: "alive" as const, labels: {}, resources: { cpuMillis: cpus().length * 1000, memoryBytes: totalmem() } };
    const deployments = this.store.listDeployments().map((r) => ({ id: r.name, project: projectOf(r.spec), replicas: this.store.replicas(r.name) }));
    return clusterPlacement([self], deployments, []);
  }

  async why(service: string, deployment: string | undefined): Promise<WhyResult> {
    const cp = this.clustered()?.placement() ?? this.localPlacement();
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
      throw new FizzError({
        code: "api.ambiguous",
        message: `service '${service}' exists in deployments ${matches.map((m) => m.deploymentId).join(", ")}`,
        hint: "name the deployment with -p",
        status: 400,
      });
    }
    const e = matches[0]!;
    return { deployment: e.deploymentId, service, explanation: e, text: explainServiceExplanation(e, { hostnames: cp.names }) };
  }

  async rollback(deployment: string, service: string, signal: AbortSignal): Promise<RollbackView | undefined> {
    return this.locked(deployment, async () => {
      const rec = this.store.getDeployment(deployment);
      if (!rec || !Object.hasOwn(projectOf(rec.spec).services, service)) return undefined;
      const cluster = this.clustered();
      let previous: unknown;
      if (cluster) previous = cluster.specs(deployment)?.previous;
      else {
        const raw = this.store.getMeta(previousKey(deployment));
        previous = raw ? (JSON.parse(raw) as unknown) : undefined;
      }
      const r = rollbackService(rec.spec, previous, service);
      if (!r.ok) throw new FizzError({ code: "rollback.unavailable", message: `cannot roll back '${service}': ${r.reason}`, hint: "a rollback returns to the spec before the last `fizz up` that changed it", status: 409 });
      const next = this.store.putDeployment(deployment, r.spec, rec.source, this.now());
      if (cluster) {
        cluster.publish(deployment);
        await this.convergeShare(deployment, cluster, signal, undefined);
      } else {
        this.store.setMeta(previousKey(deployment), JSON.stringify(rec.spec));
        const prepared = prepareProject(r.spec, { hostEnv: {}, node: this.o.node, fizzVersion: this.o.fizzVersion, replicas: this.store.replicas(deployment) });
        const outcome = await converge(this.engine, prepared, { pull: "missing", services: [service], noDeps: true }, {
          instance: { node: this.o.node, deployment, fizzVersion: this.o.fizzVersion },
          signal,
          ...this.secretsFor(projectOf(r.spec)),
          onEvent: (e: StepEvent) => this.stepEvent(deployment, e),
        });
        if (!outcome.result.ok) throw outcome.result.error!;
      }
      this.o.emit?.({ type: "rollout.rolled_back", deployment, service, message: `${service} rolled back to its previous spec (fizz rollback)` });
      return { deployment, service, generation: next.generation };
    });
  }
}

const previousKey = (name: string) => `previous_spec:${name}`;

/** Log lines of several containers as one stream, in arrival order. */
async function* mergeLogs(engine: Engine, targets: readonly ContainerSummary[], q: LogsQuery, signal: AbortSignal): AsyncGenerator<LogLine> {
  const queue: LogLine[] = [];
  let wake: (() => void) | undefined;
  let open = targets.length;
  const push = (l: LogLine) => {
    queue.push(l);
    wake?.();
  };
  for (const c of targets) {
    const name = (c.Names[0] ?? c.Id).replace(/^\//, "");
    const service = c.Labels?.[LABEL.service] ?? "";
    void (async () => {
      const pending: Record<string, string> = { stdout: "", stderr: "" };
      try {
        for await (const f of engine.containers.logs(c.Id, {
          follow: q.follow,
          ...(q.tail !== undefined ? { tail: q.tail } : {}),
          ...(q.since !== undefined ? { since: Math.floor(q.since / 1000) } : {}),
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
        open--;
        wake?.();
      }
    })();
  }
  while (open > 0 || queue.length) {
    if (queue.length) {
      yield queue.shift()!;
      continue;
    }
    if (signal.aborted) return;
    await new Promise<void>((r) => (wake = r));
    wake = undefined;
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Why a `project` body is not the CLI's normalised model, or undefined when it
 * is. Checks the shape the deploy code relies on, so a hand-written body gets a
 * precise 400 instead of failing half-way through a deploy.
 */
export function notNormalised(p: unknown): string | undefined {
  if (!isObj(p)) return "expected an object";
  for (const k of ["services", "networks", "volumes", "secrets", "configs", "disabled_services"]) if (!isObj(p[k])) return `'${k}' must be an object`;
  if (typeof p.working_dir !== "string" || !Array.isArray(p.files)) return "'working_dir' (string) and 'files' (array) are required";
  for (const [name, s] of Object.entries(p.services as Record<string, unknown>)) {
    if (!isObj(s)) return `services.${name} must be an object`;
    if (s.name !== name) return `services.${name}.name must be '${name}'`;
    for (const k of ["environment", "labels", "networks", "depends_on"]) if (!isObj(s[k])) return `services.${name}.${k} must be an object`;
    for (const k of ["ports", "volumes", "secrets", "configs", "profiles"]) if (!Array.isArray(s[k])) return `services.${name}.${k} must be an array`;
    if (s.image === undefined && !isObj(s.build)) return `services.${name} needs an image or a build`;
  }
  return undefined;
}
