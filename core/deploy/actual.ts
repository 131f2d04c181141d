/**
 * Engine list results → the planner's `ActualState`. Pure: the caller lists
 * containers/networks/volumes/images (filtered by project label) and passes
 * the raw summaries here. Only resources carrying our labels count.
 */
import { LABEL, parseLabels } from "../labels.ts";
import type { ActualContainer, ActualImage, ActualNetwork, ActualState, ActualVolume, ContainerHealth, ContainerState } from "../reconcile/types.ts";

/** The fields of GET /containers/json entries we read (Docker and Podman agree on these). */
export interface ContainerSummary {
  Id: string;
  Names?: string[];
  Image?: string;
  ImageID?: string;
  Labels?: Record<string, string> | null;
  State?: string;
  Status?: string;
  Created?: number;
  NetworkSettings?: { Networks?: Record<string, { IPAMConfig?: { IPv4Address?: string } | null; IPAddress?: string } | null> | null } | null;
}
export interface NetworkSummary {
  Id?: string;
  Name: string;
  Labels?: Record<string, string> | null;
  IPAM?: { Config?: { Subnet?: string }[] | null } | null;
  /** Podman's libpod shape (its compat list has IPAM too). */
  subnets?: { subnet?: string }[] | null;
}

/** A container's IPv4 address per engine network: the one asked for at create, else the one it got. */
export function containerAddresses(c: ContainerSummary): Record<string, string> | undefined {
  const nets = c.NetworkSettings?.Networks;
  if (!nets) return undefined;
  const out: Record<string, string> = {};
  for (const [name, ep] of Object.entries(nets)) {
    const a = ep?.IPAMConfig?.IPv4Address || ep?.IPAddress;
    if (a) out[name] = a;
  }
  return Object.keys(out).length ? out : undefined;
}
export interface VolumeSummary {
  Name: string;
  Labels?: Record<string, string> | null;
}
export interface ImageSummary {
  Id: string;
  RepoTags?: string[] | null;
  Labels?: Record<string, string> | null;
}

const STATES: ReadonlySet<string> = new Set(["created", "running", "paused", "restarting", "exited", "dead", "removing"]);

/** Health from the list's Status text ("Up 3 minutes (healthy)", "Up 1 second (health: starting)"). */
export function healthFromStatus(status: string | undefined): ContainerHealth {
  if (!status) return "none";
  if (/\(unhealthy\)/.test(status)) return "unhealthy";
  if (/\(health: starting\)|\(starting\)/.test(status)) return "starting";
  if (/\(healthy\)/.test(status)) return "healthy";
  return "none";
}

/** Exit code from "Exited (137) 5 seconds ago". */
export function exitCodeFromStatus(status: string | undefined): number | undefined {
  const m = /^Exited \((-?\d+)\)/.exec(status ?? "");
  return m ? Number(m[1]) : undefined;
}

/**
 * The names a user may have written for a tag the engine reports: Podman
 * qualifies local images as `localhost/x` and Hub ones as `docker.io/library/x`.
 */
export function imageAliases(ref: string): string[] {
  const out = [ref];
  for (const prefix of ["localhost/", "docker.io/library/", "docker.io/"]) {
    if (ref.startsWith(prefix)) out.push(ref.slice(prefix.length));
  }
  return [...new Set(out)];
}

export function actualContainer(c: ContainerSummary): ActualContainer | undefined {
  const owner = parseLabels(c.Labels ?? undefined);
  if (!owner || owner.kind !== "container") return undefined;
  const rawState = (c.State ?? "").toLowerCase();
  // Podman reports "configured" for created and "stopped" for exited containers.
  const state = (rawState === "configured" ? "created" : rawState === "stopped" ? "exited" : rawState) as ContainerState;
  const exitCode = exitCodeFromStatus(c.Status);
  const addresses = containerAddresses(c);
  return {
    id: c.Id,
    name: (c.Names?.[0] ?? c.Id).replace(/^\//, ""),
    project: owner.project,
    service: owner.service,
    number: owner.number,
    ...(owner.configHash !== undefined ? { configHash: owner.configHash } : {}),
    configFields: owner.configFields,
    ...(owner.imageId !== undefined ? { imageId: owner.imageId } : c.ImageID ? { imageId: c.ImageID } : {}),
    state: STATES.has(state) ? state : "created",
    ...(exitCode !== undefined ? { exitCode } : {}),
    health: healthFromStatus(c.Status),
    oneoff: owner.oneoff,
    labels: c.Labels ?? {},
    ...(addresses ? { addresses } : {}),
  };
}

export function actualState(input: {
  containers: readonly ContainerSummary[];
  networks: readonly NetworkSummary[];
  volumes: readonly VolumeSummary[];
  images: readonly ImageSummary[];
}): ActualState {
  const containers = input.containers.map(actualContainer).filter((c): c is ActualContainer => c !== undefined);
  const networks: ActualNetwork[] = input.networks.map((n) => {
    const o = parseLabels(n.Labels ?? undefined);
    const subnet = (n.IPAM?.Config ?? []).map((c) => c.Subnet).find((x) => x && !x.includes(":")) ?? (n.subnets ?? []).map((c) => c.subnet).find((x) => x && !x.includes(":"));
    // core/net/deploy-shape.ts labels the networks it shapes (Podman's list shows no bridge option).
    const clusterSubnet = n.Labels?.["io.fizz.cluster-subnet"];
    return {
      ...(n.Id ? { id: n.Id } : {}),
      name: n.Name,
      ...(o?.kind === "network" ? { project: o.project, key: o.network } : {}),
      ...(subnet ? { subnet } : {}),
      ...(clusterSubnet ? { clusterSubnet } : {}),
    };
  });
  const volumes: ActualVolume[] = input.volumes.map((v) => {
    const o = parseLabels(v.Labels ?? undefined);
    return { name: v.Name, ...(o?.kind === "volume" ? { project: o.project, key: o.volume } : {}) };
  });
  const images: ActualImage[] = input.images.flatMap((i) =>
    (i.RepoTags ?? []).filter((t) => t !== "<none>:<none>").flatMap((ref) => {
      const built = i.Labels?.[LABEL.buildHash];
      return imageAliases(ref).map((r) => ({ ref: r, id: i.Id, ...(built ? { buildHash: built } : {}) }));
    }),
  );
  return { containers, networks, volumes, images };
}
