/**
 * Questions the planner and the CLI ask of a normalised project: how many
 * replicas a service wants, and in which order services start (dependencies
 * first, in levels that can start in parallel).
 */
import type { Project, Service } from "./model.ts";


/** depends_on plus the dependencies Compose infers from links, volumes_from and `service:` modes. */
export function implicitDeps(svc: Service | undefined): string[] {
  if (!svc) return [];
  const deps = new Set(Object.keys(svc.depends_on));
  for (const l of svc.links ?? []) deps.add(l.split(":")[0]!);
  for (const v of svc.volumes_from ?? []) if (!v.startsWith("container:")) deps.add(v.replace(/^service:/, "").split(":")[0]!);
  for (const m of [svc.network_mode, svc.ipc, svc.pid]) if (typeof m === "string" && m.startsWith("service:")) deps.add(m.slice(8));
  return [...deps];
}

/**
 * Desired replicas: deploy.replicas, else scale, else 1 (held within
 * `x-fizz.scaling` when the service declares bounds: `min: 2` alone starts
 * two, as an autoscaler would); `global` modes are one per node (returned as
 * "global").
 */
export function replicasOf(service: Service): number | "global" {
  const mode = service.deploy?.mode;
  if (mode === "global" || mode === "global-job") return "global";
  const n = service.deploy?.replicas ?? service.scale;
  if (n !== undefined) return n;
  const b = service.x_fizz?.scaling;
  return b ? Math.min(Math.max(1, b.min), b.max) : 1;
}

/** The count lists show and the scheduler takes: a `fizz scale` override, else `replicasOf`, a global service counting one (per node). */
export function replicaCount(service: Service, override?: number): number {
  if (override !== undefined) return override;
  const r = replicasOf(service);
  return r === "global" ? 1 : r;
}

/**
 * Enabled services in start order, grouped in levels: every service's
 * dependencies (depends_on, links, volumes_from, service: modes) are in
 * earlier levels; names sorted within a level so the order is deterministic.
 * Services caught in a dependency cycle (which validation reports) come last.
 */
export function startOrder(project: Project): string[][] {
  const names = Object.keys(project.services).sort();
  const deps = new Map(names.map((n) => [n, implicitDeps(project.services[n]).filter((d) => Object.hasOwn(project.services, d) && d !== n)]));
  const done = new Set<string>();
  const levels: string[][] = [];
  while (done.size < names.length) {
    const level = names.filter((n) => !done.has(n) && deps.get(n)!.every((d) => done.has(d)));
    if (level.length === 0) {
      levels.push(names.filter((n) => !done.has(n)));
      break;
    }
    for (const n of level) done.add(n);
    levels.push(level);
  }
  return levels;
}

/**
 * The profiles to enable so the named services run, as compose-go's
 * WithServicesEnabled does for `docker compose config web` (and up, run…):
 * the active profiles plus those of every named service that is disabled.
 * Undefined when every named service is already enabled (or unknown).
 */
export function profilesEnabling(project: Project, names: readonly string[]): string[] | undefined {
  const extra = names.flatMap((n) => (!Object.hasOwn(project.services, n) && Object.hasOwn(project.disabled_services, n) ? project.disabled_services[n]!.profiles : []));
  if (!extra.length) return undefined;
  return [...new Set([...project.active_profiles, ...extra])];
}
