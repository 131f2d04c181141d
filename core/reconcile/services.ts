/**
 * Service-level graph helpers shared by the planners: target validation,
 * dependency closure (`fizz up web` also brings up what web depends on),
 * dependents closure (`depends_on.restart`), and dependency order.
 */

import { FizzError } from "../errors.ts";
import { suggest } from "../text/suggest.ts";
import type { ActualContainer, DesiredProject, DesiredService } from "./types.ts";

export function serviceMap<C>(project: DesiredProject<C>): Map<string, DesiredService<C>> {
  return new Map(project.services.map((s) => [s.name, s]));
}

/** Throws `reconcile.unknown_service` for a target that is not in the project. */
export function checkTargets(project: DesiredProject<unknown>, targets: readonly string[]): void {
  const names = project.services.map((s) => s.name);
  for (const t of targets) {
    if (!names.includes(t)) {
      const near = suggest(t, names);
      throw new FizzError({
        code: "reconcile.unknown_service",
        message: `no such service: ${t}`,
        ...(near ? { hint: `did you mean '${near}'?` } : {}),
      });
    }
  }
}

/**
 * The services an `up` touches: the targets (all services when none) plus,
 * unless `noDeps`, everything they transitively depend on. A required
 * dependency missing from the project is an error; an optional one a warning.
 */
export function upScope<C>(
  project: DesiredProject<C>,
  targets: readonly string[] | undefined,
  noDeps: boolean,
  warn: (m: string) => void,
): Set<string> {
  const byName = serviceMap(project);
  const start = targets && targets.length > 0 ? [...targets] : project.services.map((s) => s.name);
  checkTargets(project, start);
  const scope = new Set<string>();
  const queue = [...start];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (scope.has(name)) continue;
    scope.add(name);
    const svc = byName.get(name)!;
    for (const dep of svc.dependsOn) {
      if (!byName.has(dep.service)) {
        if (dep.required) {
          throw new FizzError({
            code: "reconcile.unknown_dependency",
            message: `service ${name} depends on undefined service ${dep.service}`,
            hint: `define ${dep.service}, or mark the dependency 'required: false'`,
          });
        }
        warn(`service ${name}: optional dependency ${dep.service} is not in the project; skipped`);
        continue;
      }
      if (!noDeps) queue.push(dep.service);
    }
  }
  return scope;
}

/** Dependencies of `svc` that exist in the project and in `scope`. */
export function depsInScope<C>(
  svc: DesiredService<C>,
  byName: ReadonlyMap<string, DesiredService<C>>,
  scope: ReadonlySet<string>,
): DesiredService<C>["dependsOn"] {
  return svc.dependsOn.filter((d) => byName.has(d.service) && scope.has(d.service));
}

/**
 * Services in dependency order (dependencies first), ties by project order.
 * Throws `reconcile.dependency_cycle` on a cycle.
 */
export function dependencyOrder<C>(project: DesiredProject<C>, scope?: ReadonlySet<string>): DesiredService<C>[] {
  const byName = serviceMap(project);
  const inScope = project.services.filter((s) => !scope || scope.has(s.name));
  const names = new Set(inScope.map((s) => s.name));
  const out: DesiredService<C>[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (s: DesiredService<C>, path: string[]): void => {
    const st = state.get(s.name);
    if (st === "done") return;
    if (st === "visiting") {
      const cycle = [...path.slice(path.indexOf(s.name)), s.name];
      throw new FizzError({
        code: "reconcile.dependency_cycle",
        message: `dependency cycle between services: ${cycle.join(" -> ")}`,
      });
    }
    state.set(s.name, "visiting");
    for (const d of s.dependsOn) {
      const dep = byName.get(d.service);
      if (dep && names.has(dep.name)) visit(dep, [...path, s.name]);
    }
    state.set(s.name, "done");
    out.push(s);
  };
  for (const s of inScope) visit(s, []);
  return out;
}

/** `services` plus every service that depends on one of them with `restart: true`, transitively. */
export function withRestartDependents<C>(project: DesiredProject<C>, services: ReadonlySet<string>): Set<string> {
  const out = new Set(services);
  let grew = true;
  while (grew) {
    grew = false;
    for (const s of project.services) {
      if (out.has(s.name)) continue;
      if (s.dependsOn.some((d) => d.restart && out.has(d.service))) {
        out.add(s.name);
        grew = true;
      }
    }
  }
  return out;
}

/** Non-oneoff containers of `project`, the only ones up/down/stop/start reason about. */
export function projectContainers(projectName: string, containers: readonly ActualContainer[]): ActualContainer[] {
  return containers.filter((c) => c.project === projectName && !c.oneoff);
}

export function isActive(c: ActualContainer): boolean {
  return c.state === "running" || c.state === "restarting" || c.state === "paused";
}

export function byNumber(a: ActualContainer, b: ActualContainer): number {
  return a.number - b.number || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

export function refOf(c: ActualContainer): { id: string; name: string; service: string; number: number } {
  return { id: c.id, name: c.name, service: c.service, number: c.number };
}
