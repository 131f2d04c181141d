/**
 * The whole cluster's placement, computed the same way on every node from the
 * same inputs (membership, deployments, the container records every node
 * publishes), and this node's share of it: which container numbers of which
 * service run here. No node decides for another; a node only ever starts or
 * removes its own containers, so a replica moves when its old node removes it
 * and its new node starts it, each on its own.
 *
 * Replica index i (0-based, the scheduler's) is container number i + 1
 * (`<project>-<service>-<i+1>`). A global service runs container number 1 on
 * every node it is placed on.
 */
import type { Project } from "../compose/model.ts";
import { schedule } from "../scheduler/schedule.ts";
import type { ExistingPlacement, NodeState, Placement, SchedNode, SchedService } from "../scheduler/types.ts";
import { schedServices } from "./service-spec.ts";

export interface PlacementNode {
  readonly id: string;
  readonly name: string;
  readonly state: NodeState;
  readonly labels: Readonly<Record<string, string>>;
  readonly resources: { readonly cpuMillis: number; readonly memoryBytes: number };
  /** Engine labels (`engine.labels.*` constraints), when known. */
  readonly engineLabels?: Readonly<Record<string, string>>;
}

export interface PlacementDeployment {
  readonly id: string;
  readonly project: Project;
  /** `fizz scale` overrides per service. */
  readonly replicas: ReadonlyMap<string, number>;
  /** The scheduler's view of it, when the caller kept it from an earlier computation (`schedServices` of the same spec and overrides). */
  readonly services?: readonly SchedService[];
}

export type { ReplicaRecord } from "./replica-record.ts";
import type { ReplicaRecord } from "./replica-record.ts";

export interface ClusterPlacement {
  readonly placement: Placement;
  readonly services: readonly SchedService[];
  /** Node id → name, for explanations. */
  readonly names: ReadonlyMap<string, string>;
  /** The nodes that are up (alive or suspect): what they report counts. */
  readonly live: ReadonlySet<string>;
  /** Container numbers per service placed on `nodeId`, for one deployment (services without any are listed empty). */
  share(deploymentId: string, nodeId: string): Record<string, number[]>;
  /** Replica index → node, for one service. */
  owners(deploymentId: string, service: string): ReadonlyMap<number, string>;
  /** The scheduler's view of one service. */
  service(deploymentId: string, service: string): SchedService | undefined;
}

/**
 * A replica stays where it is unless it failed: an unhealthy container is the
 * health monitor's business on its own node (moving it would not cure a bad
 * image, and would fight a rolling update).
 */
function keepable(r: ReplicaRecord): boolean {
  return r.status !== "failed" && r.status !== "stopped";
}

export function clusterPlacement(nodes: readonly PlacementNode[], deployments: readonly PlacementDeployment[], records: readonly ReplicaRecord[]): ClusterPlacement {
  const schedNodes: SchedNode[] = nodes.map((n) => ({
    id: n.id,
    hostname: n.name,
    role: "worker",
    labels: n.labels,
    engineLabels: n.engineLabels ?? {},
    state: n.state,
    resources: { cpus: n.resources.cpuMillis / 1000, memoryBytes: n.resources.memoryBytes },
  }));
  const services: SchedService[] = [];
  const broken = new Set<string>();
  for (const d of deployments) {
    try {
      services.push(...(d.services ?? schedServices(d.id, d.project, d.replicas)));
    } catch {
      // A spec this version cannot read is left alone rather than stopping everything else.
      broken.add(d.id);
    }
  }
  const existing: ExistingPlacement[] = records
    .filter((r) => !broken.has(r.deploymentId))
    .map((r) => ({ deploymentId: r.deploymentId, service: r.service, index: r.index, nodeId: r.nodeId, healthy: keepable(r), specHash: r.specHash ?? "", ...(r.startedAt !== undefined ? { createdAt: r.startedAt } : {}) }));
  const placement = schedule({ nodes: schedNodes, existing }, services);
  const key = (d: string, s: string) => `${d}\u0000${s}`;
  const byKey = new Map(services.map((s) => [key(s.deploymentId, s.name), s]));
  const owners = new Map<string, Map<number, string>>();
  for (const a of placement.assignments) {
    const k = key(a.deploymentId, a.service);
    let m = owners.get(k);
    if (!m) owners.set(k, (m = new Map()));
    m.set(a.index, a.nodeId);
  }
  return {
    placement,
    services,
    names: new Map(nodes.map((n) => [n.id, n.name])),
    live: new Set(nodes.filter((n) => n.state === "alive" || n.state === "suspect").map((n) => n.id)),
    share(deploymentId, nodeId) {
      const out: Record<string, number[]> = {};
      for (const s of services) if (s.deploymentId === deploymentId) out[s.name] = [];
      for (const a of placement.assignments) {
        if (a.deploymentId !== deploymentId || a.nodeId !== nodeId) continue;
        const global = byKey.get(key(a.deploymentId, a.service))?.mode === "global";
        (out[a.service] ??= []).push(global ? 1 : a.index + 1);
      }
      for (const k of Object.keys(out)) out[k] = [...new Set(out[k])].sort((a, b) => a - b);
      return out;
    },
    owners: (deploymentId, service) => owners.get(key(deploymentId, service)) ?? new Map(),
    service: (deploymentId, service) => byKey.get(key(deploymentId, service)),
  };
}
