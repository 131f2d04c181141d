/**
 * Compose project → the planner's `DesiredProject`, ready to execute: the
 * reconcile module's `desiredFromCompose` (replicas, hashes, implicit
 * dependencies) plus, per service, the engine create template, replica
 * overrides (`fizz scale`, `--scale`), and networks/volumes limited to those
 * in use and labelled so a later `down` (or a restarted agent) finds them.
 */
import type { Project, Service } from "../compose/model.ts";
import { desiredFromCompose } from "../reconcile/from-compose.ts";
import type { DesiredNetwork, DesiredProject, DesiredVolume } from "../reconcile/types.ts";
import { labelsFor } from "../labels.ts";
import { serviceTemplate, type ServiceTemplate } from "./container-spec.ts";
import { rolloutConfigOf } from "../placement/service-spec.ts";

export interface DesiredOptions {
  /** Node id stamped on networks/volumes this agent creates. */
  node?: string;
  fizzVersion?: string;
  /** `fizz scale` / `--scale` overrides. */
  replicas?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
  /** Services named on the command line (enables profile-disabled ones, like Compose). */
  targets?: readonly string[];
  /**
   * Cluster mode: per service, the container numbers placed on this node (and
   * those a rolling update has not reached yet). Services not listed get none.
   */
  share?: Readonly<Record<string, ServiceShare>>;
}

/** This node's part of a service in a cluster. */
export interface ServiceShare {
  readonly numbers: readonly number[];
  readonly holdConfig?: readonly number[];
}

export interface DesiredResult {
  desired: DesiredProject<ServiceTemplate>;
  warnings: string[];
}

/** Image a service runs: `image:`, or `<project>-<service>` for build-only services (Compose's naming). */
export function serviceImage(project: Project, s: Service): string {
  return s.image ?? `${project.name}-${s.name}`;
}

function override(replicas: DesiredOptions["replicas"], service: string): number | undefined {
  if (!replicas) return undefined;
  return replicas instanceof Map ? replicas.get(service) : (replicas as Record<string, number>)[service];
}

export function desiredProject(project: Project, opts: DesiredOptions = {}): DesiredResult {
  const warnings: string[] = [];
  const base = desiredFromCompose<ServiceTemplate>(project, {
    create: (svc, p) => {
      const r = serviceTemplate(p, svc, serviceImage(p, svc));
      warnings.push(...r.warnings);
      return r.template;
    },
    ...(opts.targets ? { targets: opts.targets } : {}),
  });
  const services = base.services.map((s) => {
    const n = override(opts.replicas, s.name);
    if (s.create && s.configFields) s.create.configFields = { ...s.configFields };
    const spec = project.services[s.name];
    const order = spec ? rolloutConfigOf(project, spec).order : "stop-first";
    const counted = n === undefined ? s : { ...s, replicas: n };
    const withCount = order === "start-first" ? { ...counted, updateOrder: order } : counted;
    if (!opts.share) return withCount;
    const mine = opts.share[s.name];
    return { ...withCount, numbers: mine?.numbers ?? [], ...(mine?.holdConfig?.length ? { holdConfig: mine.holdConfig } : {}) };
  });
  const usedNetworks = new Set(services.flatMap((s) => s.networks));
  const usedVolumes = new Set(services.flatMap((s) => s.volumes));
  const fizz = { ...(opts.node ? { node: opts.node } : {}), ...(opts.fizzVersion ? { fizzVersion: opts.fizzVersion } : {}) };
  const networks: DesiredNetwork[] = base.networks
    .filter((n) => usedNetworks.has(n.key))
    .map((n) => ({ ...n, labels: labelsFor({ kind: "network", project: project.name, network: n.key, userLabels: n.labels ?? {}, ...fizz }) }));
  const volumes: DesiredVolume[] = base.volumes
    .filter((v) => usedVolumes.has(v.key))
    .map((v) => ({ ...v, labels: labelsFor({ kind: "volume", project: project.name, volume: v.key, userLabels: v.labels ?? {}, ...fizz }) }));
  return { desired: { name: project.name, networks, volumes, services, ...(base.disabledServices ? { disabledServices: base.disabledServices } : {}) }, warnings };
}
