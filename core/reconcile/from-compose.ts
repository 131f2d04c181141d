/**
 * The normalised compose `Project` → the planner's `DesiredProject`. Kept
 * apart from the planner so the planner's types never depend on the compose
 * model; the engine create body is the caller's (`create` callback), since it
 * belongs to the engine translator, not to reconciliation.
 */

import { hashableService, serviceConfigHash } from "../compose/hash.ts";
import type { Project, Service } from "../compose/model.ts";
import { replicaCount } from "../compose/query.ts";
import { networkName } from "../labels.ts";
import { configFieldHashes } from "./config-fields.ts";
import { policyFromService, type RestartPolicySpec } from "./health-policy.ts";
import type { DesiredNetwork, DesiredProject, DesiredService, DesiredVolume, PullPolicy, RestartSetting } from "./types.ts";

export interface FromComposeOptions<C> {
  /** Builds the executor's opaque create payload for a service. */
  readonly create?: (service: Service, project: Project) => C;
  /**
   * Services named on the command line: a profile-disabled service named here
   * is enabled, as `docker compose up <svc>` does.
   */
  readonly targets?: readonly string[];
}

/** Compose's default image for a build-only service. */
export function defaultImageName(project: string, service: string): string {
  return `${project}-${service}`;
}

function pullPolicy(p: string | undefined): PullPolicy {
  switch (p) {
    case "always":
    case "never":
    case "build":
      return p;
    // `daily`/`weekly` need a last-pulled time we do not keep yet; treat them as `missing`.
    default:
      return "missing";
  }
}

function restartSetting(r: string | undefined): RestartSetting | undefined {
  if (r === undefined) return undefined;
  if (r === "always" || r === "unless-stopped" || r === "no") return r;
  if (r.startsWith("on-failure")) return "on-failure";
  return undefined;
}

/** N of `on-failure:N` (N > 0): the engine restarts at most that many times, then the container stays exited. */
function restartRetries(r: string | undefined): number | undefined {
  const n = r === undefined ? undefined : /^on-failure:(\d+)$/.exec(r)?.[1];
  return n !== undefined && Number(n) > 0 ? Number(n) : undefined;
}

/** The network keys a service's containers attach to (none with a `network_mode:`). */
export function serviceNetworkKeys(svc: Service): string[] {
  if (svc.network_mode !== undefined) return [];
  const keys = Object.keys(svc.networks);
  return keys.length > 0 ? keys : ["default"];
}

/** Services whose container ids end up in this service's containers' config. */
export function containerLinked(svc: Service): string[] {
  const out = new Set<string>();
  for (const v of svc.volumes_from ?? []) if (!v.startsWith("container:")) out.add(v.replace(/^service:/, "").split(":")[0]!);
  for (const m of [svc.network_mode, svc.ipc, svc.pid]) if (typeof m === "string" && m.startsWith("service:")) out.add(m.slice(8));
  return [...out];
}

/** Dependencies Compose infers beyond `depends_on`: links, volumes_from, service: modes. */
export function implicitDependencies(svc: Service): string[] {
  const out = new Set(containerLinked(svc));
  for (const l of svc.links ?? []) out.add(l.split(":")[0]!);
  return [...out];
}

export function desiredService<C>(project: Project, svc: Service, opts: FromComposeOptions<C> = {}): DesiredService<C> {
  const replicas = replicaCount(svc);
  const restart = restartSetting(svc.restart);
  const create = opts.create?.(svc, project);
  return {
    name: svc.name,
    replicas,
    configHash: serviceConfigHash(project, svc.name),
    configFields: configFieldHashes(hashableService(svc)),
    image: svc.image ?? defaultImageName(project.name, svc.name),
    pullPolicy: pullPolicy(svc.pull_policy),
    hasBuild: svc.build !== undefined,
    dependsOn: [
      ...Object.entries(svc.depends_on).map(([service, d]) => ({
        service,
        condition: d.condition,
        required: d.required,
        restart: d.restart,
      })),
      // Compose infers `service_started` dependencies from links, volumes_from and service: modes.
      ...implicitDependencies(svc)
        .filter((s) => svc.depends_on[s] === undefined)
        .map((service) => ({ service, condition: "service_started" as const, required: true, restart: false })),
    ],
    ...(containerLinked(svc).length > 0 ? { recreateWith: containerLinked(svc) } : {}),
    ...(svc.container_name !== undefined ? { containerName: svc.container_name } : {}),
    networks: serviceNetworkKeys(svc),
    volumes: [
      ...new Set(
        svc.volumes
          .filter((v) => v.type === "volume" && v.source !== undefined && project.volumes[v.source] !== undefined)
          .map((v) => v.source!),
      ),
    ],
    ...(restart !== undefined ? { restart } : {}),
    ...(restartRetries(svc.restart) !== undefined ? { restartRetries: restartRetries(svc.restart)! } : {}),
    hasHealthcheck: svc.healthcheck !== undefined && !svc.healthcheck.disable,
    ...(create !== undefined ? { create } : {}),
  };
}

export function desiredFromCompose<C = unknown>(project: Project, opts: FromComposeOptions<C> = {}): DesiredProject<C> {
  const services: Service[] = Object.values(project.services);
  for (const t of opts.targets ?? []) {
    const disabled = project.disabled_services[t];
    if (disabled && !project.services[t]) services.push(disabled);
  }
  const networks: DesiredNetwork[] = Object.entries(project.networks).map(([key, n]) => ({
    key,
    name: n.name,
    external: n.external,
    ...(n.driver !== undefined ? { driver: n.driver } : {}),
    ...(n.driver_opts !== undefined ? { driverOpts: n.driver_opts } : {}),
    labels: n.labels,
    ...(n.internal !== undefined ? { internal: n.internal } : {}),
    ...(n.attachable !== undefined ? { attachable: n.attachable } : {}),
    ...(n.enable_ipv6 !== undefined ? { enableIpv6: n.enable_ipv6 } : {}),
    ...(n.ipam !== undefined ? { ipam: n.ipam } : {}),
  }));
  // The implicit default network, when a service uses it and the file does not declare it.
  if (!networks.some((n) => n.key === "default") && services.some((s) => serviceNetworkKeys(s).includes("default"))) {
    networks.push({ key: "default", name: networkName(project.name, "default"), external: false, labels: {} });
  }
  const volumes: DesiredVolume[] = Object.entries(project.volumes).map(([key, v]) => ({
    key,
    name: v.name,
    external: v.external,
    ...(v.driver !== undefined ? { driver: v.driver } : {}),
    ...(v.driver_opts !== undefined ? { driverOpts: v.driver_opts } : {}),
    labels: v.labels,
  }));
  return {
    name: project.name,
    networks,
    volumes,
    services: services.map((s) => desiredService(project, s, opts)),
    ...(disabledNames(project, services).length ? { disabledServices: disabledNames(project, services) } : {}),
  };
}

/** The file's services its profiles leave out (and no target enabled). */
function disabledNames(project: Project, enabled: readonly Service[]): string[] {
  return Object.keys(project.disabled_services ?? {}).filter((n) => !enabled.some((s) => s.name === n));
}

/** The unhealthy-restart policy of a compose service (durations converted from ns to ms). */
export function restartPolicyOf(svc: Service): RestartPolicySpec {
  const rp = svc.deploy?.restart_policy;
  const ms = (ns: number | undefined) => (ns === undefined ? undefined : Math.round(ns / 1e6));
  const delayMs = ms(rp?.delay);
  const windowMs = ms(rp?.window);
  return policyFromService({
    ...(svc.restart !== undefined ? { restart: svc.restart } : {}),
    ...(rp
      ? {
          restartPolicy: {
            ...(rp.condition !== undefined ? { condition: rp.condition } : {}),
            ...(delayMs !== undefined ? { delayMs } : {}),
            ...(rp.max_attempts !== undefined ? { maxAttempts: rp.max_attempts } : {}),
            ...(windowMs !== undefined ? { windowMs } : {}),
          },
        }
      : {}),
  });
}
