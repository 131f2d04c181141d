/**
 * The agent's level-triggered loop: on a timer, and early when woken (an
 * engine event, an API change, a peer's state change), every stored
 * deployment is planned against what the engine has and the plan (usually
 * empty) is executed. Containers that are already right are never touched,
 * so an agent restart re-adopts a running stack by its labels alone. After
 * each deployment's reconcile, `onReconciled` tells the other controllers
 * (the health controller starts its monitor then).
 */
import type { Project } from "../../core/compose/model.ts";
import type { ServiceShare } from "../../core/deploy/desired.ts";
import { plan } from "../../core/reconcile/plan.ts";
import { planDown } from "../../core/reconcile/lifecycle.ts";
import type { Plan } from "../../core/reconcile/types.ts";
import type { ServiceTemplate } from "../../core/deploy/container-spec.ts";
import type { MountSpec } from "../../core/deploy/engine-body.ts";
import type { ContainerSummary, Engine } from "../../platform/engine/index.ts";
import type { AgentStore } from "../../platform/store/index.ts";
import { EngineExecutor } from "../../platform/deploy/engine-adapter.ts";
import { executePlan, type ExecuteResult, type StepEvent } from "../../platform/deploy/executor.ts";
import { listProjectContainers, ownedBy, prepareProject, readActual, readActualWithContainers } from "../../platform/deploy/project.ts";

export interface ReconcilerEvent {
  type: string;
  deployment?: string;
  service?: string;
  container?: string;
  message: string;
  data?: unknown;
}

export interface ReconcilerOptions {
  node: string;
  fizzVersion: string;
  /** Period of the full pass (ms). */
  intervalMs?: number;
  parallelism?: number;
  /** Everything worth an entry in the event log. */
  onEvent?: (e: ReconcilerEvent) => void;
  /** Called with each pass's duration and whether it failed (metrics). */
  onPass?: (seconds: number, deployment: string, error: boolean) => void;
  /** After each deployment's reconcile: its generation and whether it failed. */
  onReconciled?: (deployment: string, generation: number, failed: boolean) => void;
  /** After a deployment was taken down here because it was removed cluster-wide. */
  onRemoved?: (deployment: string) => void;
  /** Delay before a woken pass runs, so a burst of wakes makes one pass (ms). */
  wakeDelayMs?: number;
  /** In a cluster, placement decides which replicas run here. */
  placement?: PlacementSource;
  /** The registry: before planning, makes the engine's images match the deployment's pins (pre-pull). */
  images?: { ensure(project: Project, services: readonly string[]): Promise<void> };
  /** Secrets and configs for a container about to be created: written on this node, mounts returned (secrets controller). */
  prepareContainer?: (project: Project, service: string, container: string) => Promise<MountSpec[]>;
  /** Before a container stops: the ingress drains it (takes it out of rotation, waits for its requests, bounded). */
  beforeStop?: (project: Project, container: string) => Promise<void>;
  now?: () => number;
}

/**
 * The cluster's say in what runs on this node. Absent (or inactive) on a
 * single node: then every stored deployment runs here in full.
 */
export interface PlacementSource {
  /** True once this node is in a cluster and caught up with it. */
  active(): boolean;
  /**
   * In a cluster but not caught up yet (a restarted node before its rejoin):
   * the loop changes nothing, it only reports what this node has.
   */
  waiting(): boolean;
  /** Start of a pass: mirror the cluster's deployments into the store; returns those deleted cluster-wide that are still here. */
  beginPass(): string[];
  /** Per service, the container numbers placed on this node (and those a rolling update holds back). */
  share(deployment: string): Readonly<Record<string, ServiceShare>>;
  /** After reconciling a deployment: this node's containers of it, for the cluster state. */
  report(deployment: string, containers: readonly ContainerSummary[]): void;
}

/** The stored spec of a deployment: the normalised project, environment already resolved. */
export function projectOf(spec: unknown): Project {
  return spec as Project;
}

export class Reconciler {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private passInFlight: Promise<void> | undefined;
  private wakeRequested = false;
  /** Deployments an API call is changing right now: the loop leaves them alone until released. */
  private readonly held = new Map<string, number>();
  private readonly reconciling = new Map<string, Promise<unknown>>();
  private readonly now: () => number;
  private readonly placement: PlacementSource | undefined;

  constructor(
    private readonly engine: Engine,
    private readonly store: AgentStore,
    private readonly opts: ReconcilerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.placement = opts.placement;
  }

  /** The cluster placement when it is in force. */
  private clustered(): PlacementSource | undefined {
    return this.placement?.active() ? this.placement : undefined;
  }

  /** Plans one deployment against the engine (no changes made). */
  async planDeployment(name: string): Promise<Plan<ServiceTemplate> | undefined> {
    return (await this.prepareDeployment(name))?.plan;
  }

  private async prepareDeployment(name: string, ensureImages = false) {
    const rec = this.store.getDeployment(name);
    if (!rec) return undefined;
    const project = projectOf(rec.spec);
    const cluster = this.clustered();
    const prepared = prepareProject(project, {
      hostEnv: {},
      node: this.opts.node,
      fizzVersion: this.opts.fizzVersion,
      replicas: this.store.replicas(name),
      ...(cluster ? { share: cluster.share(name) } : {}),
    });
    if (ensureImages && this.opts.images) {
      const here = prepared.desired.services.filter((s) => (s.numbers ? s.numbers.length > 0 : s.replicas > 0)).map((s) => s.name);
      // A failure is in the event log; the plan still runs (an image already present keeps working).
      await this.opts.images.ensure(prepared.project, here).catch(() => {});
    }
    // In a cluster an engine may be shared by nodes (tests do): only this node's containers count.
    const { actual, containers } = await readActualWithContainers(this.engine, project.name, cluster ? this.opts.node : undefined);
    // The loop never re-pulls and only restarts exited containers their restart policy asks for.
    const p = plan(prepared.desired, actual, { pull: "missing", startExited: "policy", removeOrphans: false });
    return { plan: p, prepared, cluster, containers };
  }

  /** Tells the cluster what this node runs of one deployment now (an API call holding it waits on the records). */
  reportDeployment(name: string): Promise<void> {
    return this.report(name, this.clustered());
  }

  /** Tells the cluster what this node runs of a deployment now (`seen`: a list just read, when nothing has changed since). */
  private async report(name: string, cluster: PlacementSource | undefined, seen?: readonly ContainerSummary[]): Promise<void> {
    if (!cluster) return;
    const list = seen ?? (await listProjectContainers(this.engine, name));
    cluster.report(name, list.filter((c) => ownedBy(c, this.opts.node)));
  }

  /** A deployment removed cluster-wide: this node takes down its own part and forgets it. */
  private async teardown(name: string, cluster: PlacementSource): Promise<void> {
    const rec = this.store.getDeployment(name);
    if (!rec) return;
    const prepared = prepareProject(projectOf(rec.spec), { hostEnv: {} });
    const p = planDown(prepared.desired, await readActual(this.engine, name, this.opts.node), { volumes: false, removeOrphans: true });
    const r = await executePlan(p, new EngineExecutor(this.engine), { project: name, instance: {}, onEvent: (e) => this.stepEvent(name, e) });
    if (!r.ok) {
      this.emit({ type: "reconcile.failed", deployment: name, message: `taking down: ${r.error!.message}` });
      return;
    }
    this.store.deleteDeployment(name);
    cluster.report(name, []);
    this.opts.onRemoved?.(name);
    this.emit({ type: "deployment.removed", deployment: name, message: `deployment ${name} was removed from the cluster; its containers here are gone` });
  }

  /**
   * Keeps the loop off a deployment while an API call converges it (their plans
   * would race: the loop could start a container before its dependency is ready).
   * Returns the release function; the loop is woken on release.
   */
  async hold(name: string): Promise<() => void> {
    this.held.set(name, (this.held.get(name) ?? 0) + 1);
    // A pass that was already reconciling it finishes first.
    await this.reconciling.get(name)?.catch(() => {});
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.held.get(name) ?? 1) - 1;
      if (n <= 0) this.held.delete(name);
      else this.held.set(name, n);
      this.wake();
    };
  }

  /**
   * One reconcile of one deployment; returns what the executor did (undefined
   * when nothing to do). `owner`: the API call holding the deployment runs it
   * itself (its step events go to `onStep` as well).
   */
  async reconcileDeployment(name: string, owner?: { onStep?: (e: StepEvent) => void; signal?: AbortSignal }): Promise<ExecuteResult | undefined> {
    if (!owner && this.held.has(name)) return undefined;
    const run = this.reconcileNow(name, owner);
    this.reconciling.set(name, run);
    try {
      return await run;
    } finally {
      if (this.reconciling.get(name) === run) this.reconciling.delete(name);
    }
  }

  private async reconcileNow(name: string, owner?: { onStep?: (e: StepEvent) => void; signal?: AbortSignal }): Promise<ExecuteResult | undefined> {
    const started = this.now();
    const rec = this.store.getDeployment(name);
    if (!rec) return undefined;
    const project = projectOf(rec.spec);
    let failed = false;
    let cluster: PlacementSource | undefined;
    // The steady state plans nothing: then the list the plan was made from is still what runs here.
    let unchanged: readonly ContainerSummary[] | undefined;
    try {
      const prep = await this.prepareDeployment(name, true);
      cluster = prep?.cluster;
      const p = prep?.plan;
      if (!prep || !p || p.steps.length === 0) {
        unchanged = prep?.containers;
        return undefined;
      }
      const result = await executePlan(p, new EngineExecutor(this.engine, prep.prepared.builds), {
        project: project.name,
        instance: { node: this.opts.node, deployment: name, fizzVersion: this.opts.fizzVersion },
        parallelism: this.opts.parallelism ?? 8,
        ...(this.opts.prepareContainer ? { prepareCreate: (service: string, container: string) => this.opts.prepareContainer!(project, service, container) } : {}),
        ...(this.opts.beforeStop ? { beforeStop: (container: string) => this.opts.beforeStop!(project, container) } : {}),
        onEvent: (e) => {
          this.stepEvent(name, e);
          owner?.onStep?.(e);
        },
        ...(owner?.signal ? { signal: owner.signal } : {}),
      });
      if (!result.ok) {
        failed = true;
        this.emit({ type: "reconcile.failed", deployment: name, message: result.error!.message });
      }
      return result;
    } catch (e) {
      failed = true;
      this.emit({ type: "reconcile.failed", deployment: name, message: e instanceof Error ? e.message : String(e) });
      return undefined;
    } finally {
      await this.report(name, cluster, unchanged).catch((e: unknown) => this.emit({ type: "cluster.report_failed", deployment: name, message: e instanceof Error ? e.message : String(e) }));
      this.opts.onPass?.((this.now() - started) / 1000, name, failed);
      this.opts.onReconciled?.(name, rec.generation, failed);
    }
  }

  /** A full pass over every deployment, one at a time (their plans may share the engine). */
  async pass(): Promise<void> {
    if (this.passInFlight) {
      this.wakeRequested = true;
      return this.passInFlight;
    }
    this.passInFlight = (async () => {
      if (this.placement?.waiting()) {
        for (const d of this.store.listDeployments()) await this.report(d.name, this.placement).catch(() => {});
        return;
      }
      const cluster = this.clustered();
      if (cluster) {
        for (const gone of cluster.beginPass()) if (!this.held.has(gone)) await this.teardown(gone, cluster).catch(() => {});
      }
      for (const d of this.store.listDeployments()) await this.reconcileDeployment(d.name);
    })().finally(() => {
      this.passInFlight = undefined;
    });
    return this.passInFlight;
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.schedule(0);
  }

  /** Run a pass soon (an engine event or an API change); coalesces bursts. */
  wake(): void {
    if (!this.running) return;
    if (this.passInFlight) this.wakeRequested = true;
    else this.schedule(this.opts.wakeDelayMs ?? 200);
  }

  /** One timer drives the loop: a pass, then the next one after the interval (or at once if woken meanwhile). */
  private schedule(ms: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.runPass(), ms);
  }

  private async runPass(): Promise<void> {
    if (!this.running) return;
    this.wakeRequested = false;
    await this.pass().catch(() => {});
    if (this.running) this.schedule(this.wakeRequested ? 0 : (this.opts.intervalMs ?? 5000));
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    await this.passInFlight?.catch(() => {});
  }

  private stepEvent(deployment: string, e: StepEvent): void {
    const ev = stepEventRecord(deployment, e);
    if (ev) this.emit(ev);
  }

  private emit(e: ReconcilerEvent): void {
    this.opts.onEvent?.(e);
  }
}

/** A finished (or failed) plan step as an event-log entry; progress and start events are not logged. */
export function stepEventRecord(deployment: string, e: StepEvent): ReconcilerEvent | undefined {
  if (e.type !== "done" && e.type !== "failed") return undefined;
  const s = e.step;
  const container = "container" in s ? s.container.name : s.kind === "createContainer" ? s.name : undefined;
  const service = "container" in s ? s.container.service : s.kind === "createContainer" ? s.service : s.kind === "waitFor" ? s.service : undefined;
  const subject =
    container ?? (s.kind === "createNetwork" ? s.network.name : s.kind === "createVolume" ? s.volume.name : s.kind === "pullImage" || s.kind === "buildImage" ? s.image : s.kind === "removeNetwork" || s.kind === "removeVolume" ? s.name : s.kind === "waitFor" ? s.service : "");
  return {
    // Event types are lower-case dotted words (the API's filter syntax): createContainer → step.create_container.
    type: e.type === "failed" ? "step.failed" : `step.${s.kind.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}`,
    deployment,
    ...(service ? { service } : {}),
    ...(container ? { container } : {}),
    message: e.type === "failed" ? `${s.kind} ${subject}: ${e.error.message}` : `${s.kind} ${subject} (${s.reason.code}${s.reason.detail ? `: ${s.reason.detail}` : ""})`,
  };
}
