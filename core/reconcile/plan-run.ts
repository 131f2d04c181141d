/**
 * One planning run's shared state (core/reconcile/plan.ts): the builder, the
 * services in scope and their order, the step ids later phases attach to
 * (networks, volumes, images, each service's creates and starts), and the
 * small rules every phase uses: how many replicas a service wants, whether it
 * is forced, what a container's create and start wait for, how a container
 * goes. The phases are plan-resources.ts (networks, volumes, images) and
 * plan-service.ts (one service's containers).
 */
import { FizzError } from "../errors.ts";
import { PlanBuilder } from "./dag.ts";
import { dependencyOrder, depsInScope, isActive, projectContainers, refOf, serviceMap, upScope } from "./services.ts";
import type { ActualContainer, ActualState, DesiredProject, DesiredService, PlanOptions, Reason } from "./types.ts";

/** `nginx` and `nginx:latest` name the same image; digests and explicit tags are kept. */
export function normalizeImageRef(ref: string): string {
  if (ref.includes("@")) return ref;
  const slash = ref.lastIndexOf("/");
  return ref.slice(slash + 1).includes(":") ? ref : `${ref}:latest`;
}

export function imageIdOf(actual: ActualState, ref: string): string | undefined {
  return imageOf(actual, ref)?.id;
}

/** The build settings' hash a present image was built with by Fizz (its label), if any. */
export function imageBuildHashOf(actual: ActualState, ref: string): string | undefined {
  return imageOf(actual, ref)?.buildHash;
}

function imageOf(actual: ActualState, ref: string): ActualState["images"][number] | undefined {
  const want = normalizeImageRef(ref);
  return actual.images.find((i) => normalizeImageRef(i.ref) === want);
}

/** Above this many steps, dependents wait on one barrier step instead of each of them. */
const JOIN_FANIN = 8;

/** Appends `v` to the list at `k`. */
export function pushTo(m: Map<string, string[]>, k: string, v: string): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

export class PlanRun<C> {
  readonly b = new PlanBuilder<C>();
  readonly byName: Map<string, DesiredService<C>>;
  readonly scope: ReturnType<typeof upScope>;
  readonly ordered: DesiredService<C>[];
  /** This project's containers on the engine. */
  readonly mine: ActualContainer[];
  /** Services some service waits on with service_completed_successfully: an exit 0 of theirs means "done". */
  readonly jobs = new Set<string>();
  private readonly targets: Set<string>;

  readonly networkStep = new Map<string, string>(); // key → step id
  readonly volumeStep = new Map<string, string>();
  readonly imageStep = new Map<string, string>(); // service → step id
  readonly creates = new Map<string, string[]>(); // service → create step ids
  readonly starts = new Map<string, string[]>(); // service → start step ids
  readonly stopsOfOld = new Map<string, string[]>(); // service → stop steps of containers being replaced
  readonly recreated = new Set<string>();
  readonly touched = new Set<string>(); // container names with a create or start in the plan
  readonly keptRunning = new Map<string, ActualContainer[]>(); // service → untouched active containers
  /** Every start step with its service: late starts must still gate their dependents. */
  readonly gated: Array<[string, DesiredService<C>]> = [];
  private readonly barriers = new Map<string, { of: "created" | "started"; service: string }>();

  constructor(
    readonly desired: DesiredProject<C>,
    readonly actual: ActualState,
    readonly options: PlanOptions,
  ) {
    this.byName = serviceMap(desired);
    this.scope = upScope(desired, options.services, options.noDeps ?? false, (m) => this.b.warn(m));
    this.ordered = dependencyOrder(desired, this.scope);
    for (const name of Object.keys(options.scale ?? {})) {
      if (!this.byName.has(name)) {
        throw new FizzError({ code: "reconcile.unknown_service", message: `cannot scale ${name}: no such service` });
      }
    }
    this.mine = projectContainers(desired.name, actual.containers);
    this.targets = new Set(options.services && options.services.length > 0 ? options.services : this.byName.keys());
    for (const s of desired.services) {
      for (const d of s.dependsOn) if (d.condition === "service_completed_successfully") this.jobs.add(d.service);
    }
  }

  /** --force-recreate applies to the targets; dependencies only with --always-recreate-deps (as in Compose). */
  forced(service: string): boolean {
    return (this.options.forceRecreate === true && this.targets.has(service)) || (this.options.alwaysRecreateDeps === true && !this.targets.has(service));
  }

  replicasOf(svc: DesiredService<C>): number {
    if (svc.numbers) return svc.numbers.length;
    const n = this.options.scale?.[svc.name] ?? svc.replicas;
    if (!Number.isInteger(n) || n < 0) {
      throw new FizzError({ code: "reconcile.bad_scale", message: `service ${svc.name}: invalid replica count ${n}` });
    }
    if (svc.containerName !== undefined && n > 1) {
      throw new FizzError({
        code: "reconcile.container_name_scale",
        message: `service ${svc.name} has container_name '${svc.containerName}' and cannot be scaled to ${n}`,
        hint: "remove container_name: to run more than one replica",
      });
    }
    return n;
  }

  /** Gates a start of a `svc` container on its dependencies. */
  gatesFor(svc: DesiredService<C>): string[] {
    const b = this.b;
    const gates: string[] = [];
    for (const dep of depsInScope(svc, this.byName, this.scope)) {
      const depSvc = this.byName.get(dep.service)!;
      const here = this.replicasOf(depSvc);
      // Cluster placement: the dependency's replicas on other nodes hold the condition too.
      const elsewhere = depSvc.numbers ? Math.max(0, depSvc.replicas - here) : 0;
      if (here === 0 && elsewhere === 0) {
        b.warn(`service ${svc.name}: dependency ${dep.service} is scaled to 0; not waiting for it`);
        continue;
      }
      if (dep.condition === "service_started") {
        gates.push(...this.joined("started", dep.service));
        if (elsewhere === 0) continue;
      }
      const id = `wait:${dep.service}:${dep.condition}`;
      const existing = b.get(id);
      if (existing && existing.kind === "waitFor") {
        if (!existing.dependents.includes(svc.name)) (existing.dependents as string[]).push(svc.name);
        // One required dependent makes the gate required.
        if (dep.required && !existing.required) (existing as { required: boolean }).required = true;
      } else {
        b.add({
          kind: "waitFor",
          id,
          after: this.starts.get(dep.service) ?? [],
          service: dep.service,
          condition: dep.condition,
          required: dep.required,
          dependents: [svc.name],
          reason: { code: "dependency" },
          // Started replicas here are ordered by the plan; a started-gate looks only elsewhere.
          ...(elsewhere > 0 ? { placement: { here: dep.condition === "service_started" ? 0 : here, elsewhere } } : {}),
        });
      }
      gates.push(id);
    }
    return gates;
  }

  /** What a `svc` container's create waits for: its networks, volumes, image and its dependencies' creates. */
  createAfter(svc: DesiredService<C>): string[] {
    const after: string[] = [];
    for (const n of svc.networks) {
      const s = this.networkStep.get(n);
      if (s) after.push(s);
    }
    for (const v of svc.volumes) {
      const s = this.volumeStep.get(v);
      if (s) after.push(s);
    }
    const img = this.imageStep.get(svc.name);
    if (img) after.push(img);
    for (const dep of depsInScope(svc, this.byName, this.scope)) after.push(...this.joined("created", dep.service));
    return after;
  }

  /** A container goes: stopped when active, then removed. */
  removeSteps(c: ActualContainer, reason: Reason): void {
    if (c.state === "removing") return; // the engine is already on it
    const after: string[] = [];
    if (isActive(c)) {
      after.push(this.b.add({ kind: "stopContainer", id: `stop:${c.id}`, after: [], container: refOf(c), reason }));
    }
    this.b.add({ kind: "removeContainer", id: `remove:${c.id}`, after, container: refOf(c), volumes: false, reason });
  }

  /**
   * What waits for every container of `service` being created (or started)
   * waits on: those steps when few, else one barrier step over all of them
   * (filled in by `closeBarriers`), so N containers and M dependents make
   * N+M edges, not N·M.
   */
  joined(of: "created" | "started", service: string): string[] {
    const ids = (of === "created" ? this.creates : this.starts).get(service) ?? [];
    if (ids.length <= JOIN_FANIN && !this.barriers.has(`${of}:${service}`)) return [...ids];
    const id = `${of}:${service}`;
    if (!this.barriers.has(id)) {
      this.barriers.set(id, { of, service });
      this.b.add({ kind: "barrier", id, after: [], service, of, reason: { code: "dependency" } });
    }
    return [id];
  }

  /** Every barrier waits on all the steps it stands for (some were added after it). */
  closeBarriers(): void {
    for (const [id, { of, service }] of this.barriers) this.b.after(id, (of === "created" ? this.creates : this.starts).get(service) ?? []);
  }

  /** A start step of `svc` (recorded for the dependency gates). */
  started(svc: DesiredService<C>, start: string): void {
    pushTo(this.starts, svc.name, start);
    this.gated.push([start, svc]);
  }
}
