/**
 * Compose project → the planner's `DesiredProject`: resolved names, replica
 * counts, config hashes, pull policies and each service's create template.
 */
import { canonicalJson, serviceConfigHash } from "../compose/hash.ts";
import type { Project, Service } from "../compose/model.ts";
import type { DesiredNetwork, DesiredProject, DesiredService, DesiredVolume, PullPolicy, RestartSetting } from "../reconcile/types.ts";
import { labelsFor } from "../labels.ts";
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import { serviceTemplate, type ServiceTemplate } from "./container-spec.ts";

export interface DesiredOptions {
  /** Node id stamped on networks/volumes this agent creates. */
  node?: string;
  fizzVersion?: string;
  /** `fizz scale` / `--scale` overrides. */
  replicas?: ReadonlyMap<string, number> | Readonly<Record<string, number>>;
}

export interface DesiredResult {
  desired: DesiredProject<ServiceTemplate>;
  warnings: string[];
}

/** Image a service runs: `image:`, or `<project>-<service>` for build-only services (Compose's naming). */
export function serviceImage(project: Project, s: Service): string {
  return s.image ?? `${project.name}-${s.name}`;
}

export function replicasOf(s: Service, overrides?: DesiredOptions["replicas"]): number {
  const o = overrides instanceof Map ? overrides.get(s.name) : (overrides as Record<string, number> | undefined)?.[s.name];
  if (o !== undefined) return o;
  if (s.deploy?.mode === "global") return 1;
  return s.deploy?.replicas ?? s.scale ?? 1;
}

function pullPolicy(s: Service): PullPolicy {
  const p = s.pull_policy;
  if (p === "always" || p === "never" || p === "build") return p;
  if (p === "missing" || p === "if_not_present") return "missing";
  return "missing";
}

function restartSetting(s: Service): RestartSetting | undefined {
  const r = s.restart?.split(":")[0];
  return r === "no" || r === "always" || r === "on-failure" || r === "unless-stopped" ? r : undefined;
}

/** Short per-field hashes, so a recreate can say which settings changed. */
function configFields(s: Service): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(s)) {
    if (v === undefined || k === "name" || k === "scale" || k === "profiles") continue;
    if (k === "deploy" && v && typeof v === "object") {
      const { replicas: _r, ...rest } = v as Record<string, unknown>;
      out[k] = bytesToHex(sha256(utf8ToBytes(canonicalJson(rest)))).slice(0, 8);
      continue;
    }
    if (Array.isArray(v) && v.length === 0) continue;
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) continue;
    out[k] = bytesToHex(sha256(utf8ToBytes(canonicalJson(v)))).slice(0, 8);
  }
  return out;
}

export function desiredProject(project: Project, opts: DesiredOptions = {}): DesiredResult {
  const warnings: string[] = [];
  const usedNetworks = new Set<string>();
  const usedVolumes = new Set<string>();
  const services: DesiredService<ServiceTemplate>[] = [];

  for (const s of Object.values(project.services)) {
    const image = serviceImage(project, s);
    const { template, warnings: w } = serviceTemplate(project, s, image);
    warnings.push(...w);
    const nets = s.network_mode ? [] : Object.keys(s.networks).length ? Object.keys(s.networks) : ["default"];
    nets.forEach((n) => usedNetworks.add(n));
    const vols = s.volumes.filter((v) => v.type === "volume" && v.source && project.volumes[v.source]).map((v) => v.source!);
    vols.forEach((v) => usedVolumes.add(v));
    const restart = restartSetting(s);
    const fields = configFields(s);
    template.configFields = fields;
    services.push({
      name: s.name,
      replicas: replicasOf(s, opts.replicas),
      configHash: serviceConfigHash(project, s.name),
      configFields: fields,
      image,
      pullPolicy: pullPolicy(s),
      hasBuild: s.build !== undefined,
      dependsOn: Object.entries(s.depends_on).map(([service, d]) => ({
        service,
        condition: d.condition,
        required: d.required,
        restart: d.restart,
      })),
      ...(s.container_name !== undefined ? { containerName: s.container_name } : {}),
      networks: nets,
      volumes: vols,
      ...(restart ? { restart } : {}),
      hasHealthcheck: s.healthcheck !== undefined && !s.healthcheck.disable,
      create: template,
    });
  }

  const networks: DesiredNetwork[] = [];
  for (const key of usedNetworks) {
    const n = project.networks[key];
    const name = n?.name ?? `${project.name}_${key}`;
    const external = n?.external ?? false;
    networks.push({
      key,
      name,
      external,
      ...(n?.driver ? { driver: n.driver } : {}),
      ...(n?.driver_opts ? { driverOpts: n.driver_opts } : {}),
      labels: labelsFor({
        kind: "network",
        project: project.name,
        network: key,
        userLabels: n?.labels ?? {},
        ...(opts.node ? { node: opts.node } : {}),
        ...(opts.fizzVersion ? { fizzVersion: opts.fizzVersion } : {}),
      }),
      ...(n?.internal ? { internal: true } : {}),
      ...(n?.attachable ? { attachable: true } : {}),
      ...(n?.enable_ipv6 ? { enableIpv6: true } : {}),
      ...(n?.ipam ? { ipam: n.ipam } : {}),
    });
  }
  const volumes: DesiredVolume[] = [];
  for (const [key, v] of Object.entries(project.volumes)) {
    if (!usedVolumes.has(key)) continue;
    volumes.push({
      key,
      name: v.name,
      external: v.external,
      ...(v.driver ? { driver: v.driver } : {}),
      ...(v.driver_opts ? { driverOpts: v.driver_opts } : {}),
      labels: labelsFor({
        kind: "volume",
        project: project.name,
        volume: key,
        userLabels: v.labels,
        ...(opts.node ? { node: opts.node } : {}),
        ...(opts.fizzVersion ? { fizzVersion: opts.fizzVersion } : {}),
      }),
    });
  }
  return { desired: { name: project.name, networks, volumes, services }, warnings };
}
