/**
 * Planners for the imperative verbs: `down`, `stop`, `start`, `restart`.
 * Same step vocabulary and DAG rules as `plan()`: stops run dependents
 * first, starts run dependencies first behind `waitFor` gates.
 */

import { LABEL, parseDependsOn } from "../labels.ts";
import { PlanBuilder } from "./dag.ts";
import { byNumber, checkTargets, isActive, projectContainers, refOf, serviceMap, withRestartDependents } from "./services.ts";
import type { ActualContainer, ActualState, DesiredDependency, DesiredProject, Plan, Reason } from "./types.ts";

export interface DownOptions {
  /** `-v`: also remove named (non-external) volumes and containers' anonymous volumes. */
  readonly volumes?: boolean;
  /** `--remove-orphans`: also remove containers of services the project no longer has. */
  readonly removeOrphans?: boolean;
}

type DepsOf = (service: string) => readonly DesiredDependency[];

/** Dependencies from the desired project, or (for a bare project name) from the containers' depends_on labels. */
function depsResolver(project: DesiredProject<unknown> | undefined, containers: readonly ActualContainer[]): DepsOf {
  const fromProject = project ? serviceMap(project) : undefined;
  return (service) => {
    const s = fromProject?.get(service);
    if (s) return s.dependsOn;
    const c = containers.find((x) => x.service === service && x.labels?.[LABEL.dependsOn] !== undefined);
    return parseDependsOn(c?.labels?.[LABEL.dependsOn]).map((d) => ({ ...d, required: true }));
  };
}

/** Stops `containers` (the active ones), dependents before their dependencies. Returns stop ids by container id. */
function addStops<C>(
  b: PlanBuilder<C>,
  containers: readonly ActualContainer[],
  depsOf: DepsOf,
  reason: (c: ActualContainer) => Reason,
): Map<string, string> {
  const out = new Map<string, string>();
  for (const c of containers) {
    if (isActive(c)) {
      out.set(c.id, b.add({ kind: "stopContainer", id: `stop:${c.id}`, after: [], container: refOf(c), reason: reason(c) }));
    }
  }
  // stop(dependency) after stop(dependent)
  for (const dependent of containers) {
    const stopDependent = out.get(dependent.id);
    if (!stopDependent) continue;
    const deps = new Set(depsOf(dependent.service).map((d) => d.service));
    for (const dependency of containers) {
      const stopDependency = out.get(dependency.id);
      if (stopDependency && dependency.service !== dependent.service && deps.has(dependency.service)) {
        b.after(stopDependency, [stopDependent]);
      }
    }
  }
  return out;
}

/** Starts `containers` (each after `pre[id]`), dependencies first, gated on depends_on conditions. */
function addStarts<C>(
  b: PlanBuilder<C>,
  containers: readonly ActualContainer[],
  depsOf: DepsOf,
  reason: Reason,
  pre: ReadonlyMap<string, string> = new Map(),
): void {
  const startsOf = new Map<string, string[]>();
  const ids = new Map<string, string>();
  for (const c of containers) {
    const id = b.add({
      kind: "startContainer",
      id: `start:${c.name}`,
      after: pre.has(c.id) ? [pre.get(c.id)!] : [],
      container: refOf(c),
      reason,
    });
    ids.set(c.id, id);
    const l = startsOf.get(c.service) ?? [];
    l.push(id);
    startsOf.set(c.service, l);
  }
  for (const c of containers) {
    const id = ids.get(c.id)!;
    for (const d of depsOf(c.service)) {
      if (d.condition === "service_started") {
        b.after(id, startsOf.get(d.service) ?? []);
        continue;
      }
      const wait = `wait:${d.service}:${d.condition}`;
      const existing = b.get(wait);
      if (existing && existing.kind === "waitFor") {
        if (!existing.dependents.includes(c.service)) (existing.dependents as string[]).push(c.service);
      } else {
        b.add({
          kind: "waitFor",
          id: wait,
          after: startsOf.get(d.service) ?? [],
          service: d.service,
          condition: d.condition,
          required: d.required,
          dependents: [c.service],
          reason: { code: "dependency" },
        });
      }
      b.after(id, [wait]);
    }
  }
}

/**
 * `fizz down`: stop and remove the project's containers (dependents first),
 * then its networks, and with `volumes` its named volumes. Given only a
 * project name (no compose file), everything labelled with it goes. External
 * networks and volumes are never removed.
 */
export function planDown<C>(
  target: DesiredProject<C> | string,
  actual: ActualState,
  options: DownOptions = {},
): Plan<C> {
  const b = new PlanBuilder<C>();
  const project = typeof target === "string" ? undefined : target;
  const name = typeof target === "string" ? target : target.name;
  const all = actual.containers.filter((c) => c.project === name).sort(byNumber);
  const known = project ? new Set(project.services.map((s) => s.name)) : undefined;
  const orphans = known ? all.filter((c) => !known.has(c.service)) : [];
  if (orphans.length > 0 && !options.removeOrphans) {
    b.warn(
      `Found orphan containers (${orphans.map((c) => c.name).join(", ")}) for this project. ` +
        "Run down with --remove-orphans to remove them.",
    );
  }
  const doomed = all.filter((c) => c.state !== "removing" && (!known || known.has(c.service) || options.removeOrphans));
  const depsOf = depsResolver(project, all);
  const reasonOf = (c: ActualContainer): Reason =>
    known && !known.has(c.service) ? { code: "orphan" } : { code: "requested" };
  const stops = addStops(b, doomed, depsOf, reasonOf);
  const removes: string[] = [];
  for (const c of doomed) {
    const s = stops.get(c.id);
    const reason = reasonOf(c);
    removes.push(
      b.add({
        kind: "removeContainer",
        id: `remove:${c.id}`,
        after: s ? [s] : [],
        container: refOf(c),
        volumes: options.volumes ?? false,
        reason,
      }),
    );
  }

  const externalNets = new Set(project?.networks.filter((n) => n.external).map((n) => n.name) ?? []);
  const ownNets = new Set(project?.networks.filter((n) => !n.external).map((n) => n.name) ?? []);
  for (const n of actual.networks) {
    if (externalNets.has(n.name)) continue;
    if (!ownNets.has(n.name) && n.project !== name) continue;
    b.add({ kind: "removeNetwork", id: `network:remove:${n.name}`, after: removes, name: n.name, reason: { code: "requested" } });
  }
  if (options.volumes) {
    const externalVols = new Set(project?.volumes.filter((v) => v.external).map((v) => v.name) ?? []);
    const ownVols = new Set(project?.volumes.filter((v) => !v.external).map((v) => v.name) ?? []);
    for (const v of actual.volumes) {
      if (externalVols.has(v.name)) continue;
      if (!ownVols.has(v.name) && v.project !== name) continue;
      b.add({ kind: "removeVolume", id: `volume:remove:${v.name}`, after: removes, name: v.name, reason: { code: "requested" } });
    }
  }
  return b.build();
}

function selected<C>(project: DesiredProject<C>, services: readonly string[] | undefined): Set<string> {
  if (!services || services.length === 0) return new Set(project.services.map((s) => s.name));
  checkTargets(project, services);
  return new Set(services);
}

/** `fizz stop [services…]`: stop running containers, dependents first. */
export function planStop<C>(project: DesiredProject<C>, actual: ActualState, services?: readonly string[]): Plan<C> {
  const b = new PlanBuilder<C>();
  const scope = selected(project, services);
  const containers = projectContainers(project.name, actual.containers)
    .filter((c) => scope.has(c.service))
    .sort(byNumber);
  addStops(b, containers, depsResolver(project, containers), () => ({ code: "requested" }));
  return b.build();
}

/** `fizz start [services…]`: start stopped containers, dependencies first, behind their conditions. */
export function planStart<C>(project: DesiredProject<C>, actual: ActualState, services?: readonly string[]): Plan<C> {
  const b = new PlanBuilder<C>();
  const scope = selected(project, services);
  const containers = projectContainers(project.name, actual.containers)
    .filter((c) => scope.has(c.service) && (c.state === "created" || c.state === "exited"))
    .sort(byNumber);
  const byName = serviceMap(project);
  const depsOf: DepsOf = (s) => (byName.get(s)?.dependsOn ?? []).filter((d) => byName.has(d.service));
  addStarts(b, containers, depsOf, { code: "requested" });
  return b.build();
}

export interface RestartOptions {
  /** `--no-deps`: do not also restart dependents that declare `depends_on.restart: true`. */
  readonly noDeps?: boolean;
}

/**
 * `fizz restart [services…]`: stop (dependents first) then start
 * (dependencies first) every container of the services, plus, unless
 * `noDeps`, of services that depend on them with `restart: true`.
 */
export function planRestart<C>(
  project: DesiredProject<C>,
  actual: ActualState,
  services?: readonly string[],
  options: RestartOptions = {},
): Plan<C> {
  const b = new PlanBuilder<C>();
  const base = selected(project, services);
  const scope = options.noDeps ? base : withRestartDependents(project, base);
  const containers = projectContainers(project.name, actual.containers)
    .filter((c) => scope.has(c.service) && c.state !== "removing" && c.state !== "dead")
    .sort(byNumber);
  const byName = serviceMap(project);
  const depsOf: DepsOf = (s) => (byName.get(s)?.dependsOn ?? []).filter((d) => byName.has(d.service));
  const reason = (c: ActualContainer): Reason =>
    base.has(c.service) ? { code: "requested" } : { code: "dependency-recreated", detail: "restart: true" };
  const stops = addStops(b, containers, depsOf, reason);
  addStarts(b, containers, depsOf, { code: "requested" }, stops);
  return b.build();
}

/**
 * Restart single containers (the health policy's `restart` decision): stop
 * then start each, independently of one another. Unknown ids are skipped.
 */
export function planRestartContainers<C>(actual: ActualState, ids: readonly string[], reason: Reason): Plan<C> {
  const b = new PlanBuilder<C>();
  for (const id of ids) {
    const c = actual.containers.find((x) => x.id === id);
    if (!c || c.state === "removing") continue;
    const after: string[] = [];
    if (isActive(c)) after.push(b.add({ kind: "stopContainer", id: `stop:${c.id}`, after: [], container: refOf(c), reason }));
    b.add({ kind: "startContainer", id: `start:${c.name}`, after, container: refOf(c), reason });
  }
  return b.build();
}
