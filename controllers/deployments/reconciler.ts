/**
 * The one converge path. Every change to what runs on this node goes through
 * `run(name)`: read the desired state, plan against what the engine has,
 * execute; one deployment at a time (a lock per deployment), on a timer, when
 * woken (an engine event, a peer's state change), and at once when the API
 * stored a change (`kick`). A deployment's pending intent (the flags of the
 * `up`, `scale` or `rollback` that changed it) shapes the first pass that
 * applies it here: its plan options, the image phase before the plan, and the
 * removal of what that pass created if it fails. `teardown` is the one way a
 * deployment's containers, networks and volumes leave this node.
 */
import type { ServiceShare } from "../../core/deploy/desired.ts";
import { planOptionsFor, type DeployIntent } from "../../core/deploy/intent.ts";
import { sleep, type Clock, type Timer } from "../../core/clock.ts";
import { planProblem } from "../../core/deploy/accept.ts";
import { FizzError } from "../../core/errors.ts";
import { normalizeImageRef, plan } from "../../core/reconcile/plan.ts";
import { planDown } from "../../core/reconcile/lifecycle.ts";
import type { ActualState, DesiredProject, Plan } from "../../core/reconcile/types.ts";
import type { DependencyVerdict, DependsCondition } from "../../core/placement/remote-dependency.ts";
import type { ServiceTemplate } from "../../core/deploy/container-spec.ts";
import type { MountSpec } from "../../core/deploy/engine-body.ts";
import type { ContainerSummary } from "../../platform/engine/index.ts";
import { executePlan, type ExecuteResult, type StepEvent } from "../../platform/deploy/executor.ts";
import { ownedBy, prepareProject, type Prepared } from "../../platform/deploy/project.ts";
import type { AgentEvent } from "../event-log.ts";
import type { Desired, DesiredStore } from "./desired.ts";
import { versionOf } from "../../platform/store/index.ts";
import type { NodeEngine } from "./node-engine.ts";
import { stepEvent } from "./progress.ts";
import { readUserStopped } from "./user-stops.ts";
import type { ChangeEnd } from "./outcome.ts";

/**
 * The cluster's say in what runs on this node. Absent (or inactive) on a
 * single node: then every stored deployment runs here in full.
 */
export interface PlacementSource {
  /** True once this node is in a cluster and caught up with it. */
  active(): boolean;
  /** In a cluster but not caught up yet (a restarted node before its rejoin): change nothing, only report. */
  waiting(): boolean;
  /** Start of a pass: mirror the cluster's deployments into the store; returns those deleted cluster-wide that are still here. */
  beginPass(): string[];
  /** Recomputes the placement from the state as it is now (after a change made here). */
  refresh(): void;
  /** Per service, the container numbers placed on this node (and those a rolling update holds back). */
  share(deployment: string): Readonly<Record<string, ServiceShare>>;
  /**
   * Per service, the container numbers placed on this node, as of the last
   * refresh, with no side effect (`share` may act on a rollout): what a
   * targeted pass compares to tell whether another deployment's change moved
   * this one's replicas.
   */
  placed?(deployment: string): Readonly<Record<string, readonly number[]>>;
  /** After reconciling a deployment: this node's containers of it, for the cluster state. */
  report(deployment: string, containers: readonly ContainerSummary[]): void;
  /** How a dependency's replicas on other nodes stand (depends_on across nodes). */
  dependency?(deployment: string, service: string, condition: DependsCondition): DependencyVerdict;
}

/** What the mesh makes of a deployment on this node (mesh controller): see `ReconcilerOptions.network`. */
export interface NetworkShape {
  readonly desired: DesiredProject<ServiceTemplate>;
  readonly warnings: readonly string[];
}

/** What one pass that applied an intent did (or why it failed). */
export type Applied = ChangeEnd<DeployIntent>;

export interface ReconcilerOptions {
  readonly node: string;
  readonly fizzVersion: string;
  /** Period of the full pass (ms). */
  readonly intervalMs: number;
  readonly parallelism: number;
  /** Delay before a woken pass runs, so a burst of wakes makes one pass (ms). */
  readonly wakeDelayMs: number;
  /** Everything worth an entry in the event log. */
  readonly onEvent: (e: AgentEvent) => void;
  /**
   * Each deployment's pass: its duration and whether it failed (metrics), and
   * when (ms from the pass's start) each phase it reached ended (debug log).
   */
  readonly onPass?: (seconds: number, deployment: string, failed: boolean, phases: Readonly<Record<string, number>>) => void;
  /** After each deployment's reconcile: its generation and whether it failed. */
  readonly onReconciled?: (deployment: string, generation: number, failed: boolean) => void;
  /** A pass applied a deployment's pending intent (or failed to). Called after the deployment's lock is released. */
  readonly onApplied?: (a: Applied) => void;
  /** A deployment's containers left this node (teardown). */
  readonly onRemoved?: (deployment: string) => void;
  /** In a cluster, placement decides which replicas run here. */
  readonly placement?: PlacementSource;
  /** The loop's timer, and the executor's waits. */
  readonly clock: Clock;
  /** The registry: before planning, makes the engine's images match the deployment's pins (pre-pull). */
  readonly images?: {
    /** True (or nothing) when the engine's images may have changed: the pass reads them again. */
    ensure(project: Prepared["project"], services: readonly string[]): Promise<boolean | void>;
    pinned(project: Prepared["project"]): string[];
  };
  /** Secrets and configs for a container about to be created: written on this node, mounts returned (secrets controller). */
  readonly prepareContainer?: (project: Prepared["project"], service: string, container: string) => Promise<MountSpec[]>;
  /** Before a container starts: its secrets and configs are there again if they went (a reboot emptied the tmpfs). */
  readonly prepareStart?: (project: Prepared["project"], service: string, container: string) => Promise<void>;
  /**
   * In a cluster, before each plan: addresses for this node's replicas on the
   * deployment's cluster networks, and its desired state shaped for the mesh
   * (the mesh controller). Throws, having changed nothing, when a replica
   * cannot have an address.
   */
  readonly network?: (deployment: string, desired: DesiredProject<ServiceTemplate>, actual: ActualState) => Promise<NetworkShape>;
  /**
   * After the plan of a user's change (an intent) ran: the deployment's
   * delivered secrets and configs brought up to the versions the cluster
   * holds (secrets controller). A config-only change is a new stored value
   * and the same spec: its restart is done here, so the change is reported
   * done (and `fizz up` returns) after it, as for a recreate.
   */
  readonly filesCurrent?: (project: Prepared["project"], versions?: Readonly<Record<string, number>>) => Promise<void>;
  /** Before a container stops: the ingress drains it (takes it out of rotation, waits for its requests, bounded). */
  readonly beforeStop?: (project: Prepared["project"], container: string) => Promise<void>;
  readonly now: () => number;
}

/** Yields to the event loop so the API (and /healthz) answer between deployments. */
const breathe = () => new Promise<void>((r) => setImmediate(r));

export class Reconciler {
  private timer: Timer | undefined;
  private running = false;
  private passInFlight: Promise<void> | undefined;
  private wakeRequested = false;
  /** One chain per deployment: passes and teardowns of one deployment never overlap. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** The last desired state prepared per deployment, with what it was prepared from. */
  private readonly prepared = new Map<string, { key: string; value: Prepared }>();
  /** Last failure reported per deployment and generation, so a stuck deployment logs once, not every pass. */
  private readonly failing = new Map<string, string>();
  /** Deployments a cluster-state change named since the last pass (`wakeFor`). */
  private dirty = new Set<string>();
  /** Deployments only peers' container records named since the last pass (`wakeForRecords`). */
  private dirtyRecords = new Set<string>();
  /**
   * Per deployment whose last pass found nothing to do: what that pass was
   * planned from (`passKey`). A pass woken by peers' container records alone
   * is skipped while it still holds (`recordsMatter`).
   */
  private readonly steadyWith = new Map<string, string>();
  /** The next pass goes over every deployment (a `wake`, the timer). */
  private full = true;
  private lastFullAt = -Infinity;
  /** Per deployment, what its last pass was planned from (generation, scale, this node's placed numbers). */
  private readonly passedWith = new Map<string, string>();

  constructor(
    private readonly engine: NodeEngine,
    private readonly desired: DesiredStore,
    private readonly o: ReconcilerOptions,
  ) {}

  /** The cluster placement when it is in force. */
  private clustered(): PlacementSource | undefined {
    return this.o.placement?.active() ? this.o.placement : undefined;
  }

  /** Runs `fn` when every earlier job on this deployment has finished. */
  private locked<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(name) ?? Promise.resolve();
    const next = prev.catch(() => undefined).then(fn);
    this.locks.set(name, next);
    const clear = () => {
      if (this.locks.get(name) === next) this.locks.delete(name);
    };
    next.then(clear, clear);
    return next;
  }

  /**
   * Runs `fn` under `name`'s lock, between its passes and teardowns: for work
   * on the deployment's containers from outside the converge path (a secret
   * rotation's restart), which must not race a pass that recreates them.
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.locked(name, fn);
  }

  /** Resolves once every pass and teardown of `name` under way has finished. */
  async settle(name: string): Promise<void> {
    await this.locked(name, async () => {});
  }

  /** Reconcile one deployment now (after the API stored a change to it). */
  kick(name: string): void {
    if (!this.running) return;
    // A peer's change is mirrored into the store first (those removed cluster-wide wait for the next full pass).
    this.clustered()?.beginPass();
    void this.run(name).catch(() => undefined);
  }

  /**
   * One pass of one deployment, under its lock; resolves with what the
   * executor did. `records`: woken only by peers' container records, so
   * skipped when they cannot change this node's plan (`recordsMatter`).
   */
  async run(name: string, o: { records?: boolean } = {}): Promise<ExecuteResult | undefined> {
    let applied: Applied | undefined;
    const result = await this.locked(name, async () => {
      const r = await this.pass(name, o);
      applied = r.applied;
      return r.result;
    });
    if (applied) this.o.onApplied?.(applied);
    return result;
  }

  private async pass(name: string, o: { records?: boolean } = {}): Promise<{ result?: ExecuteResult; applied?: Applied }> {
    const started = this.o.now();
    const rec = this.desired.get(name);
    if (!rec) return {};
    if (o.records && !this.recordsMatter(name, rec.spec)) return {};
    this.steadyWith.delete(name);
    this.passedWith.set(name, this.planInputs(name));
    const intent = this.desired.pending(name);
    const cluster = this.clustered();
    // A stored spec that no agent should plan (stored before limits, or by a peer) is refused, not planned.
    const problem = planProblem(rec.spec, this.desired.replicas(name));
    // When each phase ended, in ms from the pass's start (the debug log's `reconcile pass` line).
    const phases: Record<string, number> = {};
    const mark = (phase: string) => {
      phases[phase] = this.o.now() - started;
    };
    let c: Converged = problem
      ? { failure: problem, actions: {}, warnings: [] }
      : await this.converge(name, rec, intent, cluster, mark).catch((e: unknown) => ({ failure: asFizz(e), actions: {}, warnings: [] }) as Converged);
    if (intent && !c.failure && this.o.filesCurrent) {
      await this.o.filesCurrent(rec.spec, intent.secretVersions).catch((e: unknown) => {
        c = { ...c, warnings: [...c.warnings, `the new secret and config values did not all reach the running containers yet (${e instanceof Error ? e.message : String(e)}); the agent tries again`] };
      });
      mark("files");
    }
    if (c.failure) this.reportFailure(name, rec.generation, c.failure, intent);
    else this.failing.delete(name);
    await this.report(name, cluster, c.unchanged).catch((e: unknown) => this.o.onEvent({ type: "cluster.report_failed", deployment: name, message: e instanceof Error ? e.message : String(e) }));
    mark("reported");
    this.o.onPass?.((this.o.now() - started) / 1000, name, c.failure !== undefined, phases);
    this.o.onReconciled?.(name, rec.generation, c.failure !== undefined);
    if (!intent) return c.result ? { result: c.result } : {};
    // Applied once, failed or not: a failed intent is reverted, not retried.
    this.desired.markApplied(name, intent.id);
    const applied: Applied = { deployment: name, intent, generation: rec.generation, ok: !c.failure, actions: c.actions, warnings: c.warnings, ...(c.failure ? { error: c.failure } : {}) };
    return { ...(c.result ? { result: c.result } : {}), applied };
  }

  /** Plan and execute one deployment: images first, then the containers' plan made with them. */
  private async converge(name: string, rec: Desired, intent: DeployIntent | undefined, cluster: PlacementSource | undefined, mark: (phase: string) => void): Promise<Converged> {
    const actions: Record<string, number> = {};
    const spec = rec.spec;
    const replicas = this.desired.replicas(name);
    const share = cluster ? cluster.share(name) : undefined;
    // Most passes see the same spec, counts and share as the last: its desired state (config hashes and all) is reused.
    // Keyed by the version of the spec this pass read, not the store's version now: `share` may have rolled the
    // service back (written the previous spec) since, and this pass's state, made from the failed spec, must not
    // pass for the reverted one's (the failing replica's node kept recreating it with the failed spec).
    const key = this.passKey(name, replicas, share, versionOf(rec.generation, rec.createdAt, rec.updatedAt));
    let prepared = this.prepared.get(name)?.key === key ? this.prepared.get(name)!.value : undefined;
    if (!prepared) {
      prepared = prepareProject(spec, {
        hostEnv: {},
        // Environment files were folded in when the deployment was accepted; the agent reads nothing else.
        readText: () => undefined,
        node: this.o.node,
        fizzVersion: this.o.fizzVersion,
        replicas,
        ...(share ? { share } : {}),
      });
      this.prepared.set(name, { key, value: prepared });
    }
    mark("prepared");
    // Services the user stopped by hand stay as they are (user-stops.ts): only the others are planned.
    const held = new Set(Object.keys(readUserStopped(this.desired.store, name)));
    const kept = prepared.desired.services.filter((s) => !held.has(s.name)).map((s) => s.name);
    if (kept.length === 0) return { actions, warnings: prepared.warnings };
    const pinned = held.size ? { ...planOptionsFor(intent), services: kept, noDeps: true } : planOptionsFor(intent);
    // In a cluster an engine may be shared by nodes (tests do): only this node's containers count.
    const mine = cluster ? this.o.node : undefined;
    // The images and what runs are read at once; a pull through the registry means reading them again.
    let imagesChanged: Promise<boolean> = Promise.resolve(false);
    if (this.o.images) {
      const here = prepared.desired.services.filter((s) => !held.has(s.name) && (s.numbers ? s.numbers.length > 0 : s.replicas > 0)).map((s) => s.name);
      // A failure is in the event log; the plan still runs (an image already present keeps working).
      imagesChanged = this.o.images.ensure(prepared.project, here).then(
        (r) => r !== false,
        () => true,
      );
    }
    const [changed, first] = await Promise.all([imagesChanged, this.engine.observe(name, mine)]);
    let seen = changed ? await this.engine.observe(name, mine) : first;
    mark("observed");
    // Pinned images came through the registry just now: `--pull always` is done.
    const options = this.o.images && pinned.pull === "always" ? { ...pinned, pull: "missing" as const } : pinned;
    // An image the registry delivers (in a cluster, the node that accepted the change built it) is not built again here.
    const fromRegistry = new Set(this.o.images?.pinned(prepared.project) ?? []);
    const desired = fromRegistry.size ? { ...prepared.desired, services: prepared.desired.services.map((s) => (s.hasBuild && fromRegistry.has(s.name) ? { ...s, hasBuild: false } : s)) } : prepared.desired;
    const executor = this.engine.executor(prepared.builds);
    const exec = {
      project: name,
      instance: { node: this.o.node, deployment: name, fizzVersion: this.o.fizzVersion },
      parallelism: this.o.parallelism,
      now: this.o.now,
      sleep: (ms: number) => sleep(this.o.clock, ms),
      ...(this.o.prepareContainer ? { prepareCreate: (service: string, container: string) => this.o.prepareContainer!(prepared.project, service, container) } : {}),
      ...(this.o.prepareStart ? { prepareStart: (service: string, container: string) => this.o.prepareStart!(prepared.project, service, container) } : {}),
      ...(this.o.beforeStop ? { beforeStop: (container: string) => this.o.beforeStop!(prepared.project, container) } : {}),
      onEvent: (e: StepEvent) => {
        if (e.type === "done") actions[e.step.kind] = (actions[e.step.kind] ?? 0) + 1;
        const ev = stepEvent(name, e, intent?.id);
        if (ev) this.o.onEvent(ev);
      },
      ...(intent?.waitTimeoutMs !== undefined ? { waitTimeoutMs: intent.waitTimeoutMs } : {}),
    };
    // The mesh's addresses and networks, from what runs here now (a running replica keeps its address).
    const shaped = cluster && this.o.network ? await this.o.network(name, desired, seen.actual) : { desired, warnings: [] };
    // Waiting on a dependency's replicas elsewhere, whose nodes may be waiting on this node's in turn (web and db on
    // both nodes, web depends_on db): a pass tells the cluster what runs here only at its end, so both waited for
    // each other until the wait timed out. While a wait lasts, what runs here is told now and then every second.
    let toldAt = -Infinity;
    let telling: Promise<void> | undefined;
    const remote = cluster?.dependency
      ? {
          remoteDependency: (service: string, condition: DependsCondition) => {
            if (this.o.now() - toldAt >= 1000 && !telling) {
              toldAt = this.o.now();
              telling = this.report(name, cluster)
                .catch(() => undefined)
                .finally(() => (telling = undefined));
            }
            return cluster.dependency!(name, service, condition);
          },
        }
      : {};
    mark("shaped");
    let p: Plan<ServiceTemplate> = plan(shaped.desired, seen.actual, options);
    const images = p.steps.filter((s) => s.kind === "pullImage" || s.kind === "buildImage");
    if (images.length) {
      const ids = new Set(images.map((s) => s.id));
      const r = await executePlan({ steps: images.map((s) => ({ ...s, after: s.after.filter((a) => ids.has(a)) })), warnings: [] }, executor, exec);
      if (!r.ok) return { failure: r.error!, actions, warnings: prepared.warnings };
      seen = await this.engine.observe(name, mine);
      p = plan(shaped.desired, seen.actual, { ...options, pull: "missing", build: false });
    }
    mark("planned");
    const warnings = [...prepared.warnings, ...shaped.warnings, ...p.warnings];
    // The steady state plans nothing: then the list the plan was made from is still what runs here.
    if (p.steps.length === 0) {
      this.steadyWith.set(name, key);
      return { actions, warnings, unchanged: seen.containers };
    }
    const result = await executePlan(p, executor, {
      ...exec,
      ...remote,
      rollbackOnFailure: intent !== undefined,
      ...(options.pull === "never" ? { imagesPresent: new Set(seen.actual.images.map((i) => normalizeImageRef(i.ref))) } : {}),
    });
    mark("executed");
    // A report made while waiting must not land after the pass's own (it would publish what ran before the starts).
    await telling;
    return { result, actions, warnings, ...(result.ok ? {} : { failure: result.error! }) };
  }

  private reportFailure(name: string, generation: number, e: FizzError, intent: DeployIntent | undefined): void {
    const key = `${generation}:${e.code}:${e.message}`;
    // An intent's failure is always told (its follower waits on it); the loop's repeats once per cause.
    if (!intent && this.failing.get(name) === key) return;
    this.failing.set(name, key);
    this.o.onEvent({ type: "reconcile.failed", deployment: name, message: e.message, data: { code: e.code, ...(e.hint ? { hint: e.hint } : {}), ...(intent ? { intent: intent.id } : {}) } });
  }

  /** Tells the cluster what this node runs of a deployment (`seen`: a list just read, when nothing has changed since). */
  private async report(name: string, cluster: PlacementSource | undefined, seen?: readonly ContainerSummary[]): Promise<void> {
    if (!cluster) return;
    const list = seen ?? (await this.engine.containers(name));
    cluster.report(name, list.filter((c) => ownedBy(c, this.o.node)));
  }

  /**
   * Takes a deployment's containers (and networks; volumes with `volumes`)
   * off this node, planned from `spec` against what the engine has. The one
   * teardown: `fizz down`, removal cluster-wide, a new deployment's failed
   * `up`, leaving the cluster.
   */
  teardown(name: string, spec: Prepared["project"], o: { volumes: boolean; signal?: AbortSignal }): Promise<ExecuteResult & { counts: Record<string, number> }> {
    return this.locked(name, async () => {
      const cluster = this.clustered() ?? (this.o.placement?.waiting() ? this.o.placement : undefined);
      const prepared = prepareProject(spec, { hostEnv: {}, readText: () => undefined });
      const seen = await this.engine.observe(name, cluster ? this.o.node : undefined);
      const p = planDown(prepared.desired, seen.actual, { volumes: o.volumes, removeOrphans: true });
      const r = await executePlan(p, this.engine.executor(), {
        project: name,
        instance: {},
        parallelism: this.o.parallelism,
        ...(o.signal ? { signal: o.signal } : {}),
        ...(this.o.beforeStop ? { beforeStop: (container: string) => this.o.beforeStop!(spec, container) } : {}),
        onEvent: (e) => {
          const ev = stepEvent(name, e, undefined);
          if (ev) this.o.onEvent(ev);
        },
      });
      const counts: Record<string, number> = {};
      for (const s of p.steps) counts[s.kind] = (counts[s.kind] ?? 0) + 1;
      if (r.ok) {
        this.forget(name);
        this.clustered()?.report(name, []);
        this.o.onRemoved?.(name);
      }
      return { ...r, counts };
    });
  }

  /**
   * What a deployment's pass is planned from, as far as the cluster decides
   * it: its generation, `fizz scale` overrides and the numbers placed here.
   */
  private planInputs(name: string): string {
    return this.passKey(name, this.desired.replicas(name), this.clustered()?.placed?.(name));
  }

  /**
   * What a pass of `name` plans from, as far as the desired state and the
   * cluster decide it: the stored spec's version, overrides, this node's
   * share (its placed numbers, or those with the rollout holds). The version,
   * not the generation alone: a deployment removed and made again starts
   * over at generation 1, and its new spec must not meet the old one's
   * prepared state (`fizz down`, edit, `fizz up` ran the old file).
   */
  private passKey(name: string, replicas: ReadonlyMap<string, number>, share: Readonly<Record<string, ServiceShare | readonly number[]>> | undefined, version = this.desired.version(name)): string {
    return `${version}|${[...replicas].join()}|${share ? JSON.stringify(share) : ""}`;
  }

  /** Drops what passes remembered about `name` (its containers are gone from this node). */
  private forget(name: string): void {
    this.failing.delete(name);
    this.prepared.delete(name);
    this.steadyWith.delete(name);
    this.passedWith.delete(name);
  }

  /**
   * Whether peers' container records (their replicas created, started,
   * stopped) can change what a pass of `name` does here. They reach this
   * node's plan only through its share (the numbers placed here and the
   * replicas a rolling update holds back, both computed from every node's
   * records) and through depends_on on a service that runs elsewhere. So a
   * deployment whose last pass ended steady, with no depends_on, whose share
   * is still what that pass planned from, has nothing to do: its engine is
   * not asked again (a deploy's records woke 4-6 such passes per node, each
   * four engine list calls). What happens on this node's engine wakes a full
   * pass (engine events), and the timer's full pass still comes.
   */
  private recordsMatter(name: string, spec: Prepared["project"]): boolean {
    const steady = this.steadyWith.get(name);
    if (steady === undefined || this.failing.has(name) || this.desired.pending(name)) return true;
    if (Object.values(spec.services).some((svc) => Object.keys(svc.depends_on ?? {}).length > 0)) return true;
    const cluster = this.clustered();
    return steady !== this.passKey(name, this.desired.replicas(name), cluster ? cluster.share(name) : undefined);
  }

  /**
   * In a targeted pass: a deployment a change named, one whose last pass
   * failed or that never had one, one with an intent waiting, or one whose
   * spec, scale or share here moved since its last pass (another
   * deployment's change can move it: placement packs them all).
   */
  private concerned(name: string, only: ReadonlySet<string>): boolean {
    if (only.has(name) || this.failing.has(name) || this.desired.pending(name)) return true;
    const last = this.passedWith.get(name);
    return last === undefined || last !== this.planInputs(name);
  }

  /**
   * A pass over every deployment, one at a time (their plans may share the
   * engine); with `only`, a targeted one: the mirror and placement are
   * refreshed as in a full pass, then only the deployments `concerned` run.
   */
  async passAll(only?: ReadonlySet<string>, records?: ReadonlySet<string>): Promise<void> {
    if (this.passInFlight) {
      if (!only) this.full = true;
      this.wakeRequested = true;
      return this.passInFlight;
    }
    this.passInFlight = (async () => {
      const placement = this.o.placement;
      if (placement?.waiting()) {
        for (const name of this.desired.names()) await this.locked(name, () => this.report(name, placement)).catch(() => undefined);
        return;
      }
      const cluster = this.clustered();
      if (cluster) {
        for (const gone of cluster.beginPass()) {
          const rec = this.desired.get(gone);
          if (!rec) continue;
          const r = await this.teardown(gone, rec.spec, { volumes: false }).catch((e: unknown) => ({ ok: false, error: e instanceof FizzError ? e : undefined }));
          if (!r.ok) {
            this.o.onEvent({ type: "reconcile.failed", deployment: gone, message: `taking down: ${r.error?.message ?? "failed"}` });
            continue;
          }
          this.desired.delete(gone);
          this.o.onEvent({ type: "deployment.removed", deployment: gone, message: `deployment ${gone} was removed from the cluster; its containers here are gone` });
        }
      }
      for (const name of this.desired.names()) {
        // Named by peers' container records alone: the pass looks whether they matter first.
        const byRecords = only !== undefined && !this.concerned(name, only);
        if (byRecords && !records?.has(name)) continue;
        await this.run(name, byRecords ? { records: true } : {});
        await breathe();
      }
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

  /** Run a full pass soon (an engine event, a membership change, a change to anything); coalesces bursts. */
  wake(): void {
    if (!this.running) return;
    this.full = true;
    if (this.passInFlight) this.wakeRequested = true;
    else this.schedule(this.o.wakeDelayMs);
  }

  /**
   * Run a targeted pass soon: the deployments a peer's change named, and any
   * other whose share here it moved (see `concerned`). The timer's full pass
   * (`intervalMs`) still comes: a wake missed here is a delay, not a stall.
   */
  wakeFor(names: Iterable<string>): void {
    if (!this.running) return;
    for (const n of names) this.dirty.add(n);
    if (this.passInFlight) this.wakeRequested = true;
    else this.schedule(this.o.wakeDelayMs);
  }

  /** As `wakeFor`, for a change to peers' container records only: each pass first looks whether they matter (`recordsMatter`). */
  wakeForRecords(names: Iterable<string>): void {
    if (!this.running) return;
    for (const n of names) this.dirtyRecords.add(n);
    if (this.passInFlight) this.wakeRequested = true;
    else this.schedule(this.o.wakeDelayMs);
  }

  /** One timer drives the loop: a pass, then the next one after the interval (or at once if woken meanwhile). */
  private schedule(ms: number): void {
    this.timer?.cancel();
    this.timer = this.o.clock.setTimeout(() => void this.tick(), ms);
  }

  private async tick(): Promise<void> {
    if (!this.running) return;
    this.wakeRequested = false;
    const full = this.full || this.o.now() - this.lastFullAt >= this.o.intervalMs;
    const only = full ? undefined : this.dirty;
    const records = full ? undefined : this.dirtyRecords;
    this.full = false;
    this.dirty = new Set();
    this.dirtyRecords = new Set();
    await this.passAll(only, records).catch(() => undefined);
    if (full) this.lastFullAt = this.o.now();
    if (!this.running) return;
    // The next full pass comes `intervalMs` after the last one ended, whatever targeted passes ran between.
    this.schedule(this.wakeRequested ? 0 : Math.max(0, this.lastFullAt + this.o.intervalMs - this.o.now()));
  }

  async stop(): Promise<void> {
    this.running = false;
    this.timer?.cancel();
    await this.passInFlight?.catch(() => undefined);
    await Promise.all([...this.locks.values()].map((p) => p.catch(() => undefined)));
  }
}

interface Converged {
  readonly result?: ExecuteResult;
  readonly failure?: FizzError;
  readonly actions: Record<string, number>;
  readonly warnings: readonly string[];
  readonly unchanged?: readonly ContainerSummary[];
}

function asFizz(e: unknown): FizzError {
  return e instanceof FizzError ? e : new FizzError({ code: "reconcile.failed", message: e instanceof Error ? e.message : String(e), cause: e });
}
