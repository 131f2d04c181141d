/**
 * `fizz up -d web` through the agent: the deployment keeps what it runs for
 * the other services and takes the named ones (and, unless `--no-deps`, what
 * they depend on) from the file, as `docker compose up web` changes only
 * those. Top-level networks, volumes, configs and secrets are the union, the
 * file's definition winning, so a target can use one the file just added.
 */
import type { Project, Service } from "../compose/model.ts";
import { implicitDeps } from "../compose/query.ts";

/**
 * `up tools` where `tools` is disabled by its profiles enables it, as Compose
 * does (and the disabled services it depends on): they move to `services`.
 */
export function enableTargets(project: Project, targets: readonly string[]): Project {
  const services = { ...project.services };
  const disabled = { ...project.disabled_services };
  const enable = (name: string) => {
    const svc = disabled[name];
    if (!svc || services[name]) return;
    services[name] = svc;
    delete disabled[name];
    for (const d of implicitDeps(svc)) enable(d);
  };
  for (const t of targets) enable(t);
  return { ...project, services, disabled_services: disabled };
}

/** The targets and, unless `noDeps`, every service they depend on (depends_on, links, volumes_from, `service:` modes), transitively. */
export function withDependencies(project: Project, targets: readonly string[], noDeps: boolean): string[] {
  const out = new Set<string>();
  const visit = (name: string) => {
    if (out.has(name)) return;
    const svc = project.services[name];
    if (!svc) return;
    out.add(name);
    if (noDeps) return;
    for (const d of implicitDeps(svc)) visit(d);
  };
  for (const t of targets) visit(t);
  return [...out].sort();
}

/**
 * The project to store: `stored` (the deployment as it runs; undefined for a
 * new one) with `chosen` services taken from `file`. Services only the stored
 * project has stay (unless `removeOrphans`), as Compose leaves containers of
 * services it was not asked about.
 */
export function mergeTargets(stored: Project | undefined, file: Project, chosen: readonly string[], o: { removeOrphans?: boolean } = {}): Project {
  const services: Record<string, Service> = { ...(stored?.services ?? {}) };
  // `--remove-orphans`: what the file no longer defines goes, as with `docker compose up --remove-orphans web`.
  if (o.removeOrphans) for (const name of Object.keys(services)) if (!file.services[name] && !file.disabled_services[name]) delete services[name];
  for (const name of chosen) services[name] = file.services[name]!;
  const disabled: Record<string, Service> = { ...(stored?.disabled_services ?? {}), ...file.disabled_services };
  for (const name of Object.keys(services)) delete disabled[name];
  return {
    ...file,
    services,
    disabled_services: disabled,
    networks: { ...(stored?.networks ?? {}), ...file.networks },
    volumes: { ...(stored?.volumes ?? {}), ...file.volumes },
    secrets: { ...(stored?.secrets ?? {}), ...file.secrets },
    configs: { ...(stored?.configs ?? {}), ...file.configs },
    active_profiles: [...new Set([...(stored?.active_profiles ?? []), ...file.active_profiles])],
  };
}
