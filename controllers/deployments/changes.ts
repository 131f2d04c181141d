/**
 * The API's changes to deployments: `up`, `scale`, `rollback`, `down`. Each
 * one is validated completely first (core/deploy/accept.ts), then stored with
 * its intent (here, and in a cluster in the cluster state), then handed to
 * the reconciler, and followed to its end (follow.ts). Nothing here touches
 * the engine: the reconciler is the one converge path. Changes to one
 * deployment are applied one after another: a change waits for the one
 * before it to end. A failed change is reverted (`revert`).
 */
import { acceptDeployment } from "../../core/deploy/accept.ts";
import { addedServices, newIntentId, type DeployIntent } from "../../core/deploy/intent.ts";
import { mergeTargets, withDependencies } from "../../core/deploy/targets.ts";
import type { Project } from "../../core/compose/model.ts";
import { replicaCount } from "../../core/compose/query.ts";
import { scalingViolation } from "../../core/compose/xfizz.ts";
import { clearUserStopped } from "./user-stops.ts";
import { FizzError } from "../../core/errors.ts";
import { MAX_REPLICAS, limitMessage } from "../../core/limits.ts";
import { rollbackService } from "../../core/placement/rollback.ts";
import type { DeleteResult, DeploymentInput, DeployResult, RollbackView, ScaleResult } from "../../platform/api/backend.ts";
import type { AgentContext } from "../context.ts";
import { recordEvent } from "../event-log.ts";
import type { DesiredStore } from "./desired.ts";
import type { Follower, Outcome } from "./follow.ts";
import type { Applied, Reconciler } from "./reconciler.ts";

/** The cluster's part in a change, when this node is a settled member. */
export interface ClusterWrites {
  active(): boolean;
  /** Replicates the stored deployment (spec, intent, overrides) into the cluster state. */
  publish(name: string): void;
  /** Removes a deployment cluster-wide; false when the cluster state does not have it. */
  remove(name: string): boolean;
  /** The deployment's previous spec in the cluster state. */
  previous(name: string): unknown;
  /** This node applied an intent (its `applied` record). */
  ack(name: string, intent: string, ok: boolean, message?: string): void;
  /** A failed intent: the previous spec back cluster-wide (or the deployment removed when it was new). */
  revert(name: string, intent: DeployIntent, reason: string): void;
}


export class DeploymentChanges {
  private readonly tails = new Map<string, Promise<unknown>>();
  private counter = 0;

  constructor(
    private readonly ctx: AgentContext,
    private readonly desired: DesiredStore,
    private readonly reconciler: Reconciler,
    private readonly follower: Follower,
    private readonly cluster: ClusterWrites | undefined,
    /** The registry: pins each service's image to a digest when a change is accepted. */
    private readonly images?: { pin(project: Project, o: { pull?: string; build?: boolean }): Promise<Project> },
    /** Refuses a deployment that claims what another holds (the ingress: ports, hosts, paths); throws a FizzError naming both. */
    private readonly admit?: { admit(name: string, project: Project): void },
    /** The stored secrets' and configs' versions a change is made with (the secrets controller): in its intent. */
    private readonly secretVersions?: (project: Project) => Record<string, number>,
    /** What this node's engine would not do of a project (core/engine/unhonoured.ts): warnings in the answer. */
    private readonly unhonoured?: (project: Project) => string[],
  ) {}

  private clustered(): ClusterWrites | undefined {
    return this.cluster?.active() ? this.cluster : undefined;
  }

  private newIntent(kind: DeployIntent["kind"], flags: Omit<DeployIntent, "id" | "kind"> = {}): DeployIntent {
    return { id: newIntentId(this.ctx.node, this.ctx.now(), this.counter++), kind, ...flags };
  }

  /**
   * Runs `fn` once every earlier change to `name` has ended; `fn` returns its
   * answer and the promise of its own end, which the next change waits for.
   */
  private async serial<T>(name: string, fn: () => Promise<{ value: T; done: Promise<unknown> }>): Promise<T> {
    const prev = this.tails.get(name) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const tail = prev.catch(() => undefined).then(() => mine);
    this.tails.set(name, tail);
    void tail.then(() => {
      if (this.tails.get(name) === tail) this.tails.delete(name);
    });
    await prev.catch(() => undefined);
    try {
      const { value, done } = await fn();
      void done.then(release, release);
      return value;
    } catch (e) {
      release();
      throw e;
    }
  }

  /**
   * Stores, wakes the reconciler and starts following; the outcome comes as
   * an event. `here` settles once this node's pass has applied the change:
   * the next change to the deployment waits for that, not for the whole
   * cluster's (which a later change supersedes anyway).
   */
  private start(name: string, intent: DeployIntent, o: { generation: number; wait?: boolean; timeoutMs?: number; warnings?: readonly string[]; signal?: AbortSignal }): Promise<Outcome> & { here: Promise<void> } {
    this.clustered()?.publish(name);
    let appliedHere!: () => void;
    const here = new Promise<void>((r) => (appliedHere = r));
    const done = this.follower.follow(name, intent, { generation: o.generation, wait: o.wait === true, timeoutMs: o.timeoutMs ?? this.ctx.config.reconcile.wait_timeout, warnings: o.warnings ?? [], ...(o.signal ? { signal: o.signal } : {}), onAppliedHere: appliedHere });
    // A follow that ends before the pass (it cannot, but a bug must not hold the queue) releases it too.
    void done.then(appliedHere, appliedHere);
    this.ctx.notify({ kind: "deployment", name, source: "api" });
    this.reconciler.kick(name);
    return Object.assign(done, { here });
  }

  /**
   * `fizz up`: answers once the change is stored (`eventId` is where to
   * follow it from), or with `follow` once it has ended.
   */
  put(name: string, input: DeploymentInput, from: { local: boolean; follow?: boolean; signal?: AbortSignal }): Promise<DeployResult> {
    const acc = acceptDeployment({ name, ...input, local: from.local });
    if (!acc.ok) throw acc.error;
    const opts = input.options ?? {};
    const scale = opts.scale ?? {};
    for (const [svc, n] of Object.entries(scale)) {
      if (!Object.hasOwn(acc.project.services, svc)) throw new FizzError({ code: "api.not_found", message: `--scale names no service of ${name}: '${svc.slice(0, 80)}'`, status: 400 });
      if (n > MAX_REPLICAS) throw new FizzError({ code: "api.too_many_replicas", message: limitMessage("replicas", `--scale ${svc}`, n), status: 400 });
      outOfBounds(acc.project.services[svc]!, n, "--scale");
    }
    const targets = opts.services?.length ? [...new Set(opts.services)] : undefined;
    for (const svc of targets ?? []) {
      if (!Object.hasOwn(acc.project.services, svc)) throw new FizzError({ code: "api.not_found", message: `no such service in ${name}: '${svc.slice(0, 80)}'` });
    }
    return this.serial(name, async () => {
      const existed = this.desired.get(name);
      // `up web`: the named services (and their dependencies) from the file, the others as they run.
      const chosen = targets && withDependencies(acc.project, targets, opts.noDeps === true);
      const incoming = chosen ? mergeTargets(existed?.spec, acc.project, chosen, { removeOrphans: opts.removeOrphans === true }) : acc.project;
      // Refused before anything is stored or changed (e.g. an ingress port or host another project holds).
      this.admit?.admit(name, incoming);
      // Pinned to digests before it is stored: every node runs the same images. With `up web`, only the
      // named services are pinned (the others keep the pins they run with: no lookups, no pushes for them).
      const pinOpts = { ...(opts.pull ? { pull: opts.pull } : {}), ...(opts.build ? { build: true } : {}) };
      const toPin = chosen ? { ...incoming, services: Object.fromEntries(chosen.map((k) => [k, incoming.services[k]!])) } : incoming;
      const pinned = this.images ? await this.images.pin(toPin, pinOpts) : toPin;
      const project = chosen ? { ...incoming, services: { ...incoming.services, ...pinned.services } } : pinned;
      const previousScale = Object.fromEntries(this.desired.replicas(name));
      const warnings = [...acc.warnings, ...this.resetOverrides(name, project, scale, chosen), ...(this.unhonoured?.(project) ?? [])];
      const intent = this.newIntent("up", {
        ...(targets ? { services: targets } : {}),
        ...(opts.noDeps ? { noDeps: true } : {}),
        ...(Object.keys(previousScale).length ? { previousScale } : {}),
        ...(opts.pull ? { pull: opts.pull } : {}),
        ...(opts.build ? { build: true } : {}),
        ...(opts.forceRecreate ? { forceRecreate: true } : {}),
        ...(opts.noRecreate ? { noRecreate: true } : {}),
        ...(opts.removeOrphans ? { removeOrphans: true } : {}),
        ...(opts.timeoutSeconds ? { waitTimeoutMs: opts.timeoutSeconds * 1000 } : {}),
        ...(() => {
          const v = this.secretVersions?.(project);
          return v && Object.keys(v).length ? { secretVersions: v } : {};
        })(),
      });
      const rec = this.desired.put(name, project, { files: (input.files ?? []).map((f) => f.name), workingDir: input.workingDir ?? project.working_dir, profiles: input.profiles ?? project.active_profiles }, intent, this.ctx.now());
      for (const [svc, n] of Object.entries(scale)) this.desired.setReplicas(name, svc, n);
      // `up` runs the whole deployment again, as after `docker compose stop` (`up web`: those services).
      if (chosen) for (const svc of chosen) clearUserStopped(this.desired.store, name, svc);
      else clearUserStopped(this.desired.store, name);
      const eventId = this.accepted(name, intent, rec.generation);
      const done = this.start(name, intent, { generation: rec.generation, wait: opts.wait === true, ...(opts.timeoutSeconds ? { timeoutMs: opts.timeoutSeconds * 1000 } : {}), warnings, ...(from.follow && from.signal ? { signal: from.signal } : {}) });
      const changed = !existed || JSON.stringify(existed.spec) !== JSON.stringify(project);
      const value: DeployResult = { deployment: name, created: !existed, changed, generation: rec.generation, intent: intent.id, eventId, warnings };
      if (!from.follow) return { value, done: done.here };
      const out = await done;
      if (!out.ok) throw out.error!;
      return { value: { ...value, actions: out.actions, warnings: out.warnings }, done: done.here };
    });
  }

  /**
   * `fizz scale` set an override; a later `up` follows the file (as `docker
   * stack deploy` and `kubectl apply` do) unless it passes --scale, and says
   * which overrides it reset (issue 18 item 7).
   */
  private resetOverrides(name: string, project: Project, scale: Readonly<Record<string, number>>, only?: readonly string[]): string[] {
    const out: string[] = [];
    for (const [svc, n] of this.desired.replicas(name)) {
      if (Object.hasOwn(scale, svc) || (only && !only.includes(svc))) continue;
      this.desired.clearReplicas(name, svc);
      const spec = project.services[svc];
      if (!spec) continue;
      const file = replicaCount(spec, undefined);
      if (file !== n) out.push(`${svc}: the ${n} ${n === 1 ? "replica" : "replicas"} set by \`fizz scale\` were reset to the compose file's ${file} (use --scale ${svc}=${n} to keep them)`);
    }
    return out;
  }

  private accepted(name: string, intent: DeployIntent, generation: number): number {
    const e = this.ctx.events.append({ at: this.ctx.now(), type: "deployment.accepted", deployment: name, message: `${name}: change accepted (generation ${generation})`, data: { intent: intent.id, kind: intent.kind, generation } });
    return (e as { id?: number } | undefined)?.id ?? 0;
  }

  /** `fizz scale`: answers once every node has applied it. */
  async scale(name: string, service: string, replicas: number, signal: AbortSignal): Promise<ScaleResult | undefined> {
    const started = await this.serial(name, async () => {
      const rec = this.desired.get(name);
      const svc = rec?.spec.services[service];
      if (!rec || !svc) return { value: undefined, done: Promise.resolve() };
      if (svc.deploy?.mode === "global" || svc.deploy?.mode === "global-job") {
        // As Swarm: "scale can only be used with replicated or replicated-job mode".
        throw new FizzError({ code: "reconcile.bad_scale", message: `service '${service}' runs one replica on every eligible node (deploy.mode: ${svc.deploy.mode}); it has no count to scale`, hint: "set deploy.mode: replicated in the compose file to choose a count", status: 400 });
      }
      outOfBounds(svc, replicas, "fizz scale");
      const previous = replicaCount(svc, this.desired.replicas(name).get(service));
      this.desired.setReplicas(name, service, replicas);
      clearUserStopped(this.desired.store, name, service);
      const intent = this.newIntent("scale");
      this.desired.setIntent(name, intent);
      this.accepted(name, intent, rec.generation);
      const done = this.start(name, intent, { generation: rec.generation, signal });
      return { value: { done, result: { deployment: name, service, replicas, previous } }, done: done.here };
    });
    if (!started) return undefined;
    const out = await started.done;
    if (!out.ok) throw out.error!;
    return out.warnings.length ? { ...started.result, warnings: out.warnings } : started.result;
  }

  /** `fizz rollback`: the service's previous spec back, applied like an `up`. */
  async rollback(name: string, service: string, signal: AbortSignal): Promise<RollbackView | undefined> {
    const started = await this.serial(name, async () => {
      const rec = this.desired.get(name);
      if (!rec || !Object.hasOwn(rec.spec.services, service)) return { value: undefined, done: Promise.resolve() };
      const cluster = this.clustered();
      const previous = cluster ? cluster.previous(name) : this.desired.previous(name);
      const r = rollbackService(rec.spec, previous, service);
      if (!r.ok) throw new FizzError({ code: "rollback.unavailable", message: `cannot roll back '${service}': ${r.reason}`, hint: "a rollback returns to the spec before the last `fizz up` that changed it", status: 409 });
      const intent = this.newIntent("rollback");
      const next = this.desired.put(name, r.spec, rec.source, intent, this.ctx.now());
      this.accepted(name, intent, next.generation);
      const done = this.start(name, intent, { generation: next.generation, signal });
      return { value: { done, result: { deployment: name, service, generation: next.generation } }, done: done.here };
    });
    if (!started) return undefined;
    const out = await started.done;
    if (!out.ok) throw out.error!;
    recordEvent(this.ctx, { type: "rollout.rolled_back", deployment: name, service, message: `${service} rolled back to its previous spec (fizz rollback)` });
    return started.result;
  }

  /** `fizz down`: out of the desired state (cluster-wide), then this node's part torn down. */
  remove(name: string, o: { volumes: boolean }, signal: AbortSignal): Promise<DeleteResult | undefined> {
    return this.serial(name, async () => {
      const rec = this.desired.get(name);
      const inCluster = this.clustered()?.remove(name) ?? false;
      if (!rec) return { value: inCluster ? { deployment: name, removed: { containers: 0, networks: 0, volumes: 0 }, cluster: true } : undefined, done: Promise.resolve() };
      // Out of the store first, so no pass brings it back.
      this.desired.delete(name);
      this.follower.removed(name);
      const r = await this.reconciler.teardown(name, rec.spec, { volumes: o.volumes, signal });
      if (!r.ok) throw r.error!;
      recordEvent(this.ctx, { type: "deployment.removed", deployment: name, message: `deployment ${name} removed` });
      const n = (k: string) => r.counts[k] ?? 0;
      return { value: { deployment: name, removed: { containers: n("removeContainer"), networks: n("removeNetwork"), volumes: n("removeVolume") }, ...(inCluster ? { cluster: true } : {}) }, done: Promise.resolve() };
    });
  }

  /**
   * A pass applied an intent here. In a cluster the node says so; a failed
   * intent is reverted: the spec before it comes back (a new deployment goes),
   * so a failed change leaves nothing half-done, here or anywhere.
   */
  applied(a: Applied): void {
    this.follower.applied(a);
    const cluster = this.clustered();
    // Other nodes see only this text: the hint (what to do about it) goes with the message.
    const why = a.error ? (a.error.hint ? `${a.error.message} (${a.error.hint})` : a.error.message) : undefined;
    cluster?.ack(a.deployment, a.intent.id, a.ok, why);
    if (a.ok || a.intent.kind === "revert") return;
    const reason = why ?? "failed";
    if (cluster) {
      cluster.revert(a.deployment, a.intent, reason);
      this.ctx.notify({ kind: "deployment", name: a.deployment, source: "cluster" });
      return;
    }
    void this.revertHere(a.deployment, a.intent, reason).catch((e: unknown) =>
      recordEvent(this.ctx, { type: "reconcile.failed", deployment: a.deployment, message: `reverting the failed change: ${e instanceof Error ? e.message : String(e)}` }),
    );
  }

  private async revertHere(name: string, failed: DeployIntent, reason: string): Promise<void> {
    const rec = this.desired.get(name);
    if (!rec || rec.intent?.id !== failed.id) return; // a later change replaced it already
    const previous = this.desired.previous(name);
    recordEvent(this.ctx, { type: "deployment.reverted", deployment: name, message: `${name}: the change failed (${reason}); ${previous ? "its previous spec is restored" : "the new deployment is removed"}`, data: { intent: failed.id } });
    if (!previous) {
      this.desired.delete(name);
      const r = await this.reconciler.teardown(name, rec.spec, { volumes: false });
      if (!r.ok) throw r.error!;
      return;
    }
    const drop = addedServices(rec.spec, previous);
    const intent = this.newIntent("revert", { reverts: { intent: failed.id, node: this.ctx.node, reason }, ...(drop.length ? { dropServices: drop } : {}) });
    this.desired.put(name, previous, rec.source, intent, this.ctx.now());
    this.desired.setPrevious(name, undefined);
    for (const svc of this.desired.replicas(name).keys()) this.desired.clearReplicas(name, svc);
    for (const [svc, n] of Object.entries(failed.previousScale ?? {})) this.desired.setReplicas(name, svc, n);
    this.reconciler.kick(name);
  }
}

/** x-fizz.scaling is a declared contract: a count outside it is refused, naming both bounds. */
function outOfBounds(service: Project["services"][string], n: number, source: string): void {
  const bad = scalingViolation(service, n, source);
  if (bad) throw new FizzError({ code: "deploy.out_of_bounds", message: bad.message, hint: bad.hint, status: 400 });
}
