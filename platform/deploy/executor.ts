/**
 * Runs a reconcile plan against an engine: every step whose `after` steps are
 * done may run, up to `parallelism` at once; `waitFor` gates poll the
 * dependency's containers until healthy / exited 0. If any step fails, no new
 * step starts, in-flight ones finish, and (with `rollbackOnFailure`) what this
 * run created is removed again, so a failed `up` leaves nothing half-created
 * running. The engine is reached through `ExecutorEngine`, so this runs
 * against a fake in unit tests.
 */
import { FizzError, isFizzError } from "../../core/errors.ts";
import { MinHeap } from "../../core/heap.ts";
import { instantiate, type ServiceTemplate } from "../../core/deploy/container-spec.ts";
import { normalizeImageRef } from "../../core/reconcile/plan.ts";
import type { ActualContainer, DesiredNetwork, DesiredVolume, Plan, Step } from "../../core/reconcile/types.ts";
import type { MountSpec } from "../../core/deploy/engine-body.ts";
import { inheritAnonymousVolumes, type OldMount } from "../../core/deploy/anon-volumes.ts";
import type { DependencyVerdict, DependsCondition } from "../../core/placement/remote-dependency.ts";

export interface GateStatus {
  state: ActualContainer["state"];
  health: ActualContainer["health"];
  exitCode?: number;
  /** Last healthcheck output, for error messages. */
  healthOutput?: string;
}

export interface ExecutorEngine {
  createNetwork(n: DesiredNetwork): Promise<void>;
  removeNetwork(name: string): Promise<void>;
  createVolume(v: DesiredVolume): Promise<void>;
  removeVolume(name: string): Promise<void>;
  pullImage(ref: string, onProgress: (line: string, bytes?: LayerBytes) => void): Promise<void>;
  buildImage(template: ServiceTemplate | undefined, service: string, image: string, onProgress: (line: string) => void): Promise<void>;
  /** Creates a container; returns its id. */
  createContainer(name: string, body: ReturnType<typeof instantiate>["body"]): Promise<string>;
  connectNetwork(network: string, containerId: string, endpoint: unknown): Promise<void>;
  /** Creates missing bind-mount sources (Compose does for short syntax; engines before API 1.42 refuse). */
  ensureBindSources?(body: ReturnType<typeof instantiate>["body"]): Promise<void>;
  startContainer(id: string): Promise<void>;
  stopContainer(id: string, timeoutSeconds?: number): Promise<void>;
  renameContainer(id: string, name: string): Promise<void>;
  removeContainer(id: string, opts: { volumes: boolean; force: boolean }): Promise<void>;
  /** Containers of one service of the project (running or not). */
  serviceContainers(project: string, service: string): Promise<{ id: string; name: string; status: GateStatus }[]>;
  /** The last `lines` lines a container wrote (stdout and stderr), for an error about it. */
  logTail?(containerId: string, lines: number): Promise<string>;
  /** Called once a run has ended, its rollback included (containers-in-hand.ts lets go of what the run held). */
  settled?(): void;
  /** The anonymous volumes a container mounts (`down -v` removes them with it). */
  anonymousVolumes?(id: string): Promise<string[]>;
  /** The mounts of a container being replaced and the VOLUME paths of the new one's image (its anonymous volumes carry over). */
  replacedMounts?(oldId: string, image: string): Promise<{ mounts: OldMount[]; imageVolumes: string[] }>;
}

/** Lines of a failed dependency's output put into the error: a failed `up` removes what it created, and its logs with it. */
const FAILED_OUTPUT_LINES = 10;

/** `message`, with the container's last output when the engine can give it. */
async function withLastOutput(engine: ExecutorEngine, containerId: string, message: string): Promise<{ message: string; shown: boolean }> {
  const out = await engine.logTail?.(containerId, FAILED_OUTPUT_LINES).catch(() => "");
  const lines = (out ?? "").replace(/\s+$/, "").split("\n").filter((l) => l.trim() !== "");
  if (!lines.length) return { message, shown: false };
  return { message: `${message}; its last output:\n${lines.map((l) => `    ${l.slice(0, 500)}`).join("\n")}`, shown: true };
}

/** One layer's download/extract progress during a pull (progress bars). */
export interface LayerBytes {
  readonly layer: string;
  readonly status: string;
  readonly current?: number;
  readonly total?: number;
}

export type StepEvent =
  | { type: "start"; step: Step<ServiceTemplate> }
  | { type: "done"; step: Step<ServiceTemplate> }
  | { type: "failed"; step: Step<ServiceTemplate>; error: FizzError }
  | { type: "progress"; step: Step<ServiceTemplate>; line: string; bytes?: LayerBytes }
  | { type: "rollback"; what: string };

export interface ExecuteOptions {
  project: string;
  parallelism?: number;
  /** Labels the executor stamps on every container it creates. */
  instance: { node?: string; deployment?: string; fizzVersion?: string };
  onEvent?: (e: StepEvent) => void;
  /** Max time a waitFor gate waits (ms). Default 10 minutes. */
  waitTimeoutMs?: number;
  pollIntervalMs?: number;
  /** Seconds a stop waits before the engine kills the container (default: the container's own). */
  stopTimeoutSeconds?: number;
  /**
   * Called before each container is created, with the create body's service
   * and name; returns mounts to add (the agent's secrets delivery writes the
   * container's secret files here and mounts them).
   */
  prepareCreate?: (service: string, container: string) => Promise<MountSpec[]>;
  /**
   * Called before a container is started, with its service and name (the
   * agent's secrets delivery writes the files of an existing container again
   * when they are gone: its tmpfs did not survive a reboot).
   */
  prepareStart?: (service: string, container: string) => Promise<void>;
  /**
   * Called before a container is stopped, with its name (the agent's ingress
   * takes it out of rotation and lets its requests finish, bounded).
   */
  beforeStop?: (container: string) => Promise<void>;
  /**
   * Cluster placement: how a dependency's replicas on other nodes stand, from
   * the records those nodes publish (core/placement/remote-dependency.ts).
   * Asked by a `waitFor` whose dependency runs elsewhere too.
   */
  remoteDependency?: (service: string, condition: DependsCondition) => DependencyVerdict;
  /** Remove what this run created when a step fails. */
  rollbackOnFailure?: boolean;
  /** Images present before the run (normalised refs), for the --pull never preflight. */
  imagesPresent?: ReadonlySet<string>;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
  signal?: AbortSignal;
}

export interface ExecuteResult {
  ok: boolean;
  error?: FizzError;
  /** Ids of containers this run created, by name. */
  created: Map<string, string>;
}

const defaultSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function executePlan(plan: Plan<ServiceTemplate>, engine: ExecutorEngine, opts: ExecuteOptions): Promise<ExecuteResult> {
  try {
    return await run(plan, engine, opts);
  } finally {
    engine.settled?.();
  }
}

async function run(plan: Plan<ServiceTemplate>, engine: ExecutorEngine, opts: ExecuteOptions): Promise<ExecuteResult> {
  // The engine itself serialises container starts; a low limit only makes creates
  // queue behind slow starts (measured by bench/support/profile-up-down.ts: at 50
  // containers, 8 in flight took 19.4 s, 64 took 17.3 s, the direct-API floor 16.1 s).
  const parallelism = Math.max(1, opts.parallelism ?? 32);
  const sleep = opts.sleep ?? defaultSleep;
  const now = opts.now ?? Date.now;
  const emit = opts.onEvent ?? (() => {});
  const created = new Map<string, string>(); // container name → id
  const createdNetworks: string[] = [];
  const createdVolumes: string[] = [];
  // What the run did to containers it did not create, so a rollback can put them back.
  const stopped = new Set<string>();
  const renamed = new Map<string, string>(); // id → name before the run
  const removed = new Set<string>();
  const ids = new Map<string, string>(); // container name → id, for refs the plan names by name
  const done = new Set<string>();
  const running = new Map<string, Promise<void>>();
  let failure: FizzError | undefined;

  const preflight = missingImages(plan, opts.imagesPresent);
  if (preflight) return { ok: false, error: preflight, created };

  const idOf = (ref: { id?: string; name: string }): string => {
    const id = ref.id ?? ids.get(ref.name) ?? created.get(ref.name);
    if (!id) throw new FizzError({ code: "executor.unknown_container", message: `container ${ref.name} was not created by an earlier step` });
    return id;
  };

  const runStep = async (step: Step<ServiceTemplate>): Promise<void> => {
    switch (step.kind) {
      case "createNetwork":
        await engine.createNetwork(step.network);
        createdNetworks.push(step.network.name);
        return;
      case "removeNetwork":
        return engine.removeNetwork(step.name);
      case "createVolume":
        await engine.createVolume(step.volume);
        createdVolumes.push(step.volume.name);
        return;
      case "removeVolume":
        return engine.removeVolume(step.name);
      case "pullImage":
        return engine.pullImage(step.image, (line, bytes) => emit({ type: "progress", step, line, ...(bytes ? { bytes } : {}) }));
      case "buildImage": {
        const tmpl = plan.steps.find((s) => s.kind === "createContainer" && s.service === step.service);
        const t = tmpl?.kind === "createContainer" ? tmpl.create : undefined;
        return engine.buildImage(t, step.service, step.image, (line) => emit({ type: "progress", step, line }));
      }
      case "createContainer": {
        if (!step.create) throw new FizzError({ code: "executor.no_template", message: `no create template for service ${step.service}` });
        const inst = instantiate(step.create, {
          number: step.number,
          name: step.name,
          configHash: step.configHash,
          ...opts.instance,
          ...(step.replaces ? { replace: step.replaces.name } : {}),
          ...(step.addresses ? { addresses: step.addresses } : {}),
        });
        if (opts.prepareCreate) {
          const extra = await opts.prepareCreate(step.service, inst.name);
          if (extra.length) inst.body.HostConfig = { ...inst.body.HostConfig, Mounts: [...(inst.body.HostConfig?.Mounts ?? []), ...extra] };
        }
        // A recreate keeps the old container's anonymous volumes, as Compose does (core/deploy/anon-volumes.ts).
        const oldId = step.replaces ? (step.replaces.id ?? ids.get(step.replaces.name)) : undefined;
        if (oldId && engine.replacedMounts) {
          const was = await engine.replacedMounts(oldId, inst.body.Image);
          const taken = [...Object.keys(inst.body.HostConfig?.Tmpfs ?? {}), ...(inst.body.HostConfig?.Binds ?? []).map((b) => b.split(":")[1] ?? "")];
          const mounts = inheritAnonymousVolumes(inst.body.HostConfig?.Mounts ?? [], was.mounts, was.imageVolumes, taken);
          if (mounts.length) inst.body.HostConfig = { ...inst.body.HostConfig, Mounts: mounts };
        }
        if (engine.ensureBindSources) await engine.ensureBindSources(inst.body);
        const id = await engine.createContainer(inst.name, inst.body);
        created.set(inst.name, id);
        ids.set(inst.name, id);
        for (const n of inst.extraNetworks) await engine.connectNetwork(n.name, id, n.endpoint);
        return;
      }
      case "startContainer":
        if (opts.prepareStart) await opts.prepareStart(step.container.service, step.container.name);
        return engine.startContainer(idOf(step.container));
      case "stopContainer": {
        const id = idOf(step.container);
        if (opts.beforeStop) await opts.beforeStop(step.container.name);
        await engine.stopContainer(id, opts.stopTimeoutSeconds);
        if (!created.has(step.container.name)) stopped.add(id);
        return;
      }
      case "renameContainer": {
        const id = idOf(step.container);
        await engine.renameContainer(id, step.to);
        if (!renamed.has(id)) renamed.set(id, step.container.name);
        return;
      }
      case "removeContainer": {
        const id = idOf(step.container);
        // `down -v`: the engine's rm -v spares an anonymous volume mounted by name, as one carried over by a recreate is.
        const anonymous = step.volumes && engine.anonymousVolumes ? await engine.anonymousVolumes(id).catch(() => []) : [];
        await engine.removeContainer(id, { volumes: step.volumes, force: true });
        removed.add(id);
        for (const v of anonymous) await engine.removeVolume(v).catch(() => {}); // gone with the container, or still in use elsewhere
        return;
      }
      case "barrier":
        return;
      case "waitFor":
        // A container this run moved aside for its replacement (renamed, stopped) is not the service any more.
        return waitFor(step, engine, opts.project, { sleep, now, timeoutMs: opts.waitTimeoutMs ?? 600_000, pollMs: opts.pollIntervalMs ?? 250, replaced: renamed, ...(opts.signal ? { signal: opts.signal } : {}), ...(opts.remoteDependency ? { remote: opts.remoteDependency } : {}) });
    }
  };

  // Steps become ready when their last `after` is done: a counter per step and
  // a list of dependents keep this linear in the plan's size (a rescan of the
  // pending steps per completion was quadratic: 20,000 steps took minutes).
  const known = new Set(plan.steps.map((s) => s.id));
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  const byId = new Map(plan.steps.map((s) => [s.id, s]));
  const order = new Map(plan.steps.map((s, i) => [s.id, i]));
  const ready = new MinHeap<string>((a, b) => order.get(a)! < order.get(b)!);
  for (const s of plan.steps) {
    const deps = s.after.filter((a) => known.has(a));
    waitingOn.set(s.id, deps.length);
    for (const d of deps) {
      const l = dependents.get(d);
      if (l) l.push(s.id);
      else dependents.set(d, [s.id]);
    }
    if (deps.length === 0) ready.push(s.id);
  }
  let left = plan.steps.length;
  const release = (id: string) => {
    for (const c of dependents.get(id) ?? []) {
      const n = waitingOn.get(c)! - 1;
      waitingOn.set(c, n);
      if (n === 0) ready.push(c);
    }
  };

  // An engine that answers without I/O (or a plan of many quick steps) must
  // not keep the event loop from the API: give it a turn every so many steps.
  let sinceYield = 0;
  while (left > 0 || running.size) {
    if (sinceYield >= YIELD_EVERY) {
      sinceYield = 0;
      await new Promise<void>((r) => setImmediate(r));
    }
    if (opts.signal?.aborted && !failure) failure = new FizzError({ code: "executor.aborted", message: "interrupted", exitCode: 130 });
    if (!failure) {
      while (ready.size > 0 && running.size < parallelism) {
        const step = byId.get(ready.pop()!)!;
        left--;
        sinceYield++;
        if (step.kind === "barrier") {
          // Only an ordering point: done at once, no event, no slot.
          done.add(step.id);
          release(step.id);
          continue;
        }
        emit({ type: "start", step });
        const p = runStep(step).then(
          () => {
            done.add(step.id);
            running.delete(step.id);
            emit({ type: "done", step });
            release(step.id);
          },
          (e: unknown) => {
            running.delete(step.id);
            const err = toFizz(e, step);
            if (step.kind === "waitFor" && !step.required) {
              // `required: false`: warn and let dependents start anyway.
              done.add(step.id);
              emit({ type: "failed", step, error: err });
              release(step.id);
              return;
            }
            failure ??= err;
            emit({ type: "failed", step, error: err });
          },
        );
        running.set(step.id, p);
      }
    }
    if (running.size === 0) {
      if (failure || left === 0) break;
      // Unreachable with a valid DAG; guard against a malformed plan hanging forever.
      failure = new FizzError({ code: "executor.stuck", message: `plan has steps whose dependencies never run: ${plan.steps.filter((s) => !done.has(s.id)).map((s) => s.id).slice(0, 20).join(", ")}` });
      break;
    }
    await Promise.race(running.values());
  }

  if (failure && opts.rollbackOnFailure) {
    for (const [name, id] of created) {
      emit({ type: "rollback", what: `container ${name}` });
      await engine.removeContainer(id, { volumes: true, force: true }).catch(() => {});
    }
    for (const name of createdNetworks.reverse()) {
      emit({ type: "rollback", what: `network ${name}` });
      await engine.removeNetwork(name).catch(() => {});
    }
    for (const name of createdVolumes.reverse()) {
      emit({ type: "rollback", what: `volume ${name}` });
      await engine.removeVolume(name).catch(() => {});
    }
    // Containers a recreate had moved aside (renamed, stopped) and not yet removed get their name and state back.
    for (const [id, name] of renamed) {
      if (removed.has(id)) continue;
      emit({ type: "rollback", what: `container ${name} (renamed back)` });
      await engine.renameContainer(id, name).catch(() => {});
    }
    for (const id of stopped) {
      if (removed.has(id)) continue;
      emit({ type: "rollback", what: `container ${renamed.get(id) ?? id} (started again)` });
      await engine.startContainer(id).catch(() => {});
    }
  }
  return failure ? { ok: false, error: failure, created } : { ok: true, created };
}

/** Steps started between two turns given to the event loop. */
const YIELD_EVERY = 64;

function toFizz(e: unknown, step: Step<ServiceTemplate>): FizzError {
  if (isFizzError(e)) return e;
  return new FizzError({
    code: "executor.step_failed",
    message: `${step.id}: ${e instanceof Error ? e.message : String(e)}`,
    cause: e,
  });
}

/** With pull never, a create whose image is absent and not produced by the plan fails before anything is touched. */
function missingImages(plan: Plan<ServiceTemplate>, present: ReadonlySet<string> | undefined): FizzError | undefined {
  if (!present) return undefined;
  const produced = new Set(plan.steps.flatMap((s) => (s.kind === "pullImage" || s.kind === "buildImage" ? [normalizeImageRef(s.image)] : [])));
  for (const s of plan.steps) {
    if (s.kind !== "createContainer" || !s.create) continue;
    const img = s.create.body.Image;
    if (!present.has(normalizeImageRef(img)) && !produced.has(normalizeImageRef(img))) {
      return new FizzError({
        code: "engine.image_not_found",
        message: `image ${img} for service ${s.service} is not present and the pull policy says never`,
        hint: `pull it (fizz pull ${s.service}), build it, or run with --pull missing`,
      });
    }
  }
  return undefined;
}


async function waitFor(
  step: Extract<Step<ServiceTemplate>, { kind: "waitFor" }>,
  engine: ExecutorEngine,
  project: string,
  o: { sleep: (ms: number) => Promise<void>; now: () => number; timeoutMs: number; pollMs: number; replaced: ReadonlyMap<string, string>; signal?: AbortSignal; remote?: (service: string, condition: DependsCondition) => DependencyVerdict },
): Promise<void> {
  const deadline = o.now() + o.timeoutMs;
  const want = step.condition === "service_healthy" ? "healthy" : step.condition === "service_started" ? "started" : "exited 0";
  const here = step.placement ? step.placement.here > 0 : true;
  const elsewhere = step.placement?.elsewhere ?? 0;
  let waitingOn = "";
  for (;;) {
    if (o.signal?.aborted) throw new FizzError({ code: "executor.aborted", message: "interrupted", exitCode: 130 });
    const localOk = here ? await localCondition(step, engine, project, o.replaced) : true;
    let remoteOk = true;
    if (elsewhere > 0) {
      const v = o.remote ? o.remote(step.service, step.condition) : { kind: "waiting" as const, reason: `${step.service} runs on other nodes, and this node cannot see them` };
      if (v.kind === "failed") {
        throw new FizzError({ code: "deploy.dependency_failed", message: `dependency failed: ${v.reason}`, hint: `${step.dependents.join(", ")} ${step.dependents.length === 1 ? "waits" : "wait"} for ${step.service}; see 'fizz ps' and 'fizz logs ${step.service}'` });
      }
      remoteOk = v.kind === "met";
      waitingOn = v.kind === "waiting" ? v.reason : "";
    }
    if (localOk && remoteOk) return;
    if (o.now() >= deadline) {
      throw new FizzError({
        code: "deploy.wait_timeout",
        message: `timed out after ${Math.round(o.timeoutMs / 1000)}s waiting for ${step.service} to be ${want}${waitingOn ? ` (${waitingOn})` : ""}`,
        hint: `see 'fizz ps' and 'fizz logs ${step.service}'`,
      });
    }
    await o.sleep(o.pollMs);
  }
}

/** Whether the dependency's containers on this engine meet the condition (throws when they never will). */
async function localCondition(step: Extract<Step<ServiceTemplate>, { kind: "waitFor" }>, engine: ExecutorEngine, project: string, replaced: ReadonlyMap<string, string>): Promise<boolean> {
  const cs = (await engine.serviceContainers(project, step.service)).filter((c) => !replaced.has(c.id));
  if (!cs.length) return false;
  if (step.condition === "service_started") return cs.some((c) => c.status.state === "running" || c.status.state === "exited");
  if (step.condition === "service_healthy") {
    const bad = cs.find((c) => c.status.health === "unhealthy" || c.status.state === "exited" || c.status.state === "dead");
    if (bad) {
      // Docker marks a container that exited as unhealthy too (its health log empty): the exit is the news, with its output.
      const unhealthy = bad.status.health === "unhealthy" && bad.status.state !== "exited" && bad.status.state !== "dead";
      const why = unhealthy ? `is unhealthy${bad.status.healthOutput ? `: ${bad.status.healthOutput.trim().split("\n").slice(-1)[0]}` : ""}` : `exited with code ${bad.status.exitCode ?? "?"}`;
      const m = unhealthy ? { message: `dependency failed to start: container ${bad.name} ${why}`, shown: false } : await withLastOutput(engine, bad.id, `dependency failed to start: container ${bad.name} ${why}`);
      throw new FizzError({
        code: "deploy.dependency_failed",
        message: m.message,
        hint: `${step.dependents.join(", ")} ${step.dependents.length === 1 ? "waits" : "wait"} for ${step.service} to be healthy${m.shown ? "" : `; see 'fizz logs ${step.service}'`}`,
      });
    }
    if (cs.every((c) => c.status.health === "healthy")) return true;
    if (cs.every((c) => c.status.health === "none" && c.status.state === "running")) {
      throw new FizzError({
        code: "deploy.no_healthcheck",
        message: `service ${step.service} has no healthcheck, so it can never become healthy`,
        hint: `add a healthcheck to ${step.service}, or use condition: service_started`,
      });
    }
    return false;
  }
  const failed = cs.find((c) => (c.status.state === "exited" || c.status.state === "dead") && c.status.exitCode !== 0);
  if (failed) {
    const m = await withLastOutput(engine, failed.id, `service ${step.service} didn't complete successfully: container ${failed.name} exited with code ${failed.status.exitCode ?? "?"}`);
    throw new FizzError({
      code: "deploy.dependency_failed",
      message: m.message,
      hint: m.shown ? `fix what ${step.service} reports and run the command again` : `see 'fizz logs ${step.service}'`,
    });
  }
  return cs.every((c) => c.status.state === "exited" && c.status.exitCode === 0);
}
