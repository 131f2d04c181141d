/**
 * Pure rules between the engine and the cluster state: what status a
 * container's record says (from the engine's state and status text), which
 * record each of a node's containers makes (one per replica, the best when a
 * recreate briefly has two), and which placed replicas do not run the current
 * spec yet (`up --wait` in a cluster).
 */
import type { Project } from "../compose/model.ts";
import { containerAddresses, exitCodeFromStatus, healthFromStatus, type ContainerSummary } from "../deploy/actual.ts";
import { LABEL, parseLabels } from "../labels.ts";
import { containerKey, type ContainerRecord, type ContainerStatus } from "../state/schema.ts";
import { describeReason } from "../scheduler/explain.ts";
import type { ClusterPlacement } from "./cluster-placement.ts";

/** What a node knows of one of its containers, as the engine lists it. */
export interface EngineContainer {
  readonly Id: string;
  /** created, running, exited, dead… */
  readonly State: string;
  /** `Up 3 minutes (healthy)`, `Exited (1) 2 seconds ago`. */
  readonly Status: string;
  /** Seconds since the epoch. */
  readonly Created: number;
  readonly Labels?: Readonly<Record<string, string>> | null;
  /** Its endpoints per engine network (the list's NetworkSettings). */
  readonly NetworkSettings?: ContainerSummary["NetworkSettings"];
}

/** Engine state → the cluster record's status. */
export function replicaStatus(state: string, statusText: string): { status: ContainerStatus; health: ContainerRecord["health"] } {
  const s = state.toLowerCase();
  const health = healthFromStatus(statusText);
  if (s === "running") {
    if (health === "healthy") return { status: "healthy", health };
    if (health === "unhealthy") return { status: "unhealthy", health };
    if (health === "starting") return { status: "pending", health };
    return { status: "running", health };
  }
  if (s === "created" || s === "removing" || s === "paused") return { status: "pending", health };
  if (s === "exited") return { status: exitCodeFromStatus(statusText) === 0 ? "stopped" : "failed", health };
  return { status: "failed", health }; // dead, restarting (crash loop)
}

/**
 * The records `self` publishes for its containers of `deployment`, by key.
 * Global services have one replica per node (index 0). A record carries the
 * container's IPv4 address on each of the project's networks, by compose
 * network key (what the cluster resolver answers; it keeps only addresses in
 * a network's cluster subnet).
 */
export function replicaRecords(deployment: string, self: string, project: Pick<Project, "services"> & Partial<Pick<Project, "networks" | "name">> | undefined, containers: readonly EngineContainer[]): Map<string, ContainerRecord> {
  const mine = new Map<string, ContainerRecord>();
  const rank = (c: EngineContainer) => (String(c.State).toLowerCase() === "running" ? 0 : 1);
  const ordered = [...containers].sort((a, b) => rank(a) - rank(b) || b.Created - a.Created);
  const modes = new Map(Object.values(project?.services ?? {}).map((s) => [s.name, s.deploy?.mode]));
  const keyOf = new Map(Object.entries(project?.networks ?? {}).map(([key, n]) => [n.name ?? `${project?.name ?? deployment}_${key}`, key]));
  for (const c of ordered) {
    const o = parseLabels(c.Labels ?? undefined);
    if (!o || o.kind !== "container" || o.oneoff) continue;
    const global = modes.get(o.service) === "global" || modes.get(o.service) === "global-job";
    const index = global ? 0 : o.number - 1;
    const key = containerKey(deployment, o.service, index, self);
    if (mine.has(key)) continue; // the best one per replica (a recreate briefly has two)
    const { status, health } = replicaStatus(String(c.State), c.Status);
    const hash = c.Labels?.[LABEL.configHash];
    const addresses: Record<string, string> = {};
    for (const [net, ip] of Object.entries(containerAddresses(c) ?? {})) {
      const k = keyOf.get(net);
      if (k !== undefined) addresses[k] = ip;
    }
    const withAddresses = Object.keys(addresses).length ? { addresses } : {};
    mine.set(key, { deploymentId: deployment, service: o.service, index, nodeId: self, status, containerId: c.Id, health, ...(hash ? { specHash: hash } : {}), startedAt: c.Created * 1000, ...withAddresses });
  }
  return mine;
}

export function sameRecord(a: ContainerRecord | undefined, b: ContainerRecord): boolean {
  return a !== undefined && a.status === b.status && a.health === b.health && a.containerId === b.containerId && a.specHash === b.specHash && a.startedAt === b.startedAt && sameAddresses(a.addresses, b.addresses);
}

function sameAddresses(a: Readonly<Record<string, string>> | undefined, b: Readonly<Record<string, string>> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => a![k] === b?.[k]);
}

/** Created from its spec and started (running, whatever its health, or a job that finished): what `up` without --wait waits for, as Compose's does. */
function started(r: ContainerRecord): boolean {
  return r.status === "running" || r.status === "healthy" || r.status === "unhealthy" || r.status === "stopped" || (r.status === "pending" && r.health === "starting");
}

/**
 * Replicas of a deployment that do not run the current spec yet, as
 * "service #n on node (why)", and replicas still running on a member that
 * placement no longer puts them on (a move not finished: two would run).
 * `ready`: also healthy where the service has a healthcheck (`up --wait`);
 * otherwise created from the current spec and started is enough.
 */

export function replicasNotRunning(name: string, project: Project, cp: ClusterPlacement, records: ReadonlyMap<string, ContainerRecord>, ready = true, o: { readonly pending?: boolean } = {}): string[] {
  const out: string[] = [];
  if (o.pending !== false) for (const p of cp.placement.pending) if (p.deploymentId === name) out.push(`${p.service} #${p.index + 1} (pending: fits no node)`);
  for (const a of cp.placement.assignments) {
    if (a.deploymentId !== name) continue;
    const svc = cp.service(name, a.service);
    const global = svc?.mode === "global";
    const r = records.get(containerKey(name, a.service, global ? 0 : a.index, a.nodeId));
    const spec = project.services[a.service];
    const hasCheck = spec?.healthcheck !== undefined && spec.healthcheck.disable !== true;
    const ok =
      r &&
      r.specHash === svc?.specHash &&
      (ready ? r.status === "healthy" || (!hasCheck && r.status === "running") || (r.status === "stopped" && spec?.deploy?.mode?.endsWith("job")) : started(r));
    if (!ok) out.push(`${a.service} #${(global ? 0 : a.index) + 1} on ${cp.names.get(a.nodeId) ?? a.nodeId.slice(0, 8)} (${r ? r.status : "not created yet"})`);
  }
  const placed = new Set<string>();
  for (const a of cp.placement.assignments) {
    if (a.deploymentId === name) placed.add(containerKey(name, a.service, cp.service(name, a.service)?.mode === "global" ? 0 : a.index, a.nodeId));
  }
  for (const [key, r] of records) {
    if (r.deploymentId !== name || placed.has(key) || !cp.live.has(r.nodeId) || r.status === "failed" || r.status === "stopped") continue;
    if (!cp.service(name, r.service)) continue; // a service the spec dropped: --remove-orphans' business
    out.push(`${r.service} #${r.index + 1} on ${cp.names.get(r.nodeId)} (placed elsewhere, not removed yet)`);
  }
  return out;
}

/**
 * Replicas of a deployment that fit no node, each with why every node
 * refused it, grouped by reason ("web #1 (ConstraintMismatch: \"node.labels.zone
 * == a\" is not met: 3 nodes)"): what a change says rather than wait for
 * them, since waiting changes nothing until a node fits (`fizz why` has the
 * detail).
 */
export function unplaceableReplicas(name: string, cp: ClusterPlacement): string[] {
  const out: string[] = [];
  for (const p of cp.placement.pending) {
    if (p.deploymentId !== name) continue;
    const counts = new Map<string, number>();
    for (const r of p.reasons) {
      const k = describeReason(r.reason);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
    const why = [...counts].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([k, n]) => `${k}: ${n} node${n === 1 ? "" : "s"}`);
    out.push(`${p.service} #${p.index + 1} (${why.length ? why.join("; ") : "no node in the cluster"})`);
  }
  return out;
}
