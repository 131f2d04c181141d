/**
 * The deployments as the whole cluster has them, for `fizz ls` and `fizz ps`
 * on any node: deployments this node has not mirrored yet, replicas counted
 * on every node, and other nodes' containers from the records they publish
 * (no engine detail: ports, restart counts).
 */
import {
  getDeployment as getDeploymentState,
  listContainers,
  listDeployments as listDeploymentsState,
  servicesOf,
  type ContainerStatus,
  type DeploymentRecord,
} from "../../core/state/index.ts";
import { decodeHlc } from "../../core/crdt/index.ts";
import { replicaCount, replicasOf } from "../../core/compose/query.ts";
import type { Project, Service } from "../../core/compose/model.ts";
import { enginePortsOnNode, hostPortsShown, ingressPortsShown } from "../../core/ingress/shown-ports.ts";
import type { ClusterNode } from "../../platform/cluster/index.ts";
import type { ContainerFilter, ContainerView, DeploymentDetail, DeploymentSummary } from "../../platform/api/backend.ts";

/** Who wrote the record first (the node where it was created): the node part of its `created` HLC. */
function originOf(rec: DeploymentRecord): string {
  const h = decodeHlc(rec.created);
  return h.ok ? h.value.node : "";
}

function wallOf(s: string): number {
  const h = decodeHlc(s);
  return h.ok ? h.value.wall : 0;
}

export type ClusterDeploymentSummary = DeploymentSummary & { readonly origin: string };

const STATE_OF: Record<ContainerStatus, ContainerView["state"]> = { pending: "created", running: "running", healthy: "running", unhealthy: "running", stopped: "exited", failed: "exited" };

/** Each member's name and SWIM state, by id. */
function membersOf(node: ClusterNode): ReadonlyMap<string, { readonly name: string; readonly state: string }> {
  return new Map(node.members().map((m) => [m.id, { name: m.meta.name, state: m.state }]));
}

/**
 * Why a node's container records say nothing about now (it is dead, it left,
 * it is no member), or undefined while it is up (alive or suspect): a down
 * node's containers are unknown, not running, as Swarm's tasks on a down node.
 */
function downReason(members: ReturnType<typeof membersOf>, id: string): string | undefined {
  const m = members.get(id);
  const name = m?.name || id.slice(0, 8);
  if (!m) return `node ${name} is not a member`;
  if (m.state === "dead") return `node ${name} is dead`;
  if (m.state === "left") return `node ${name} left`;
  return undefined;
}

/** A deployment's spec from the cluster state, when it has one. */
function specOf(node: ClusterNode, deployment: string): Project | undefined {
  const spec = getDeploymentState(node.state, deployment)?.spec as Project | null | undefined;
  return spec && typeof spec === "object" && spec.services && typeof spec.services === "object" ? spec : undefined;
}

/**
 * What a client connects to for a replica in the cluster: the ingress ports
 * (any node), then the ports bound on its node (`engine`: this node's engine
 * list; for other nodes, the spec's mode: host ports).
 */
function portsShown(spec: Project | undefined, deployment: string, service: string, node: string, engine: readonly string[] | undefined): string[] {
  const svc = spec?.services[service];
  const ingress = spec && svc ? ingressPortsShown(deployment, spec, service) : [];
  const bound = engine ? enginePortsOnNode(engine, node) : svc && Array.isArray(svc.ports) ? hostPortsShown(svc, node) : [];
  return [...ingress, ...bound];
}

/** Other nodes' containers as `fizz ps` rows, from the records they publish (no engine detail: restarts; ports from the spec). */
function remoteContainers(node: ClusterNode, self: string, members: ReturnType<typeof membersOf>, f: ContainerFilter): ContainerView[] {
  const out: ContainerView[] = [];
  for (const r of listContainers(node.state, f.deployment, f.service)) {
    if (r.nodeId === self) continue;
    const down = downReason(members, r.nodeId);
    const state = down ? "unknown" : STATE_OF[r.status];
    const health = down ? "none" : r.health;
    if ((f.state && f.state !== state) || (f.health && f.health !== health)) continue;
    const spec = specOf(node, r.deploymentId);
    const where = members.get(r.nodeId)?.name ?? r.nodeId.slice(0, 8);
    out.push({
      id: r.containerId ?? "",
      name: `${r.deploymentId}-${r.service}-${r.index + 1}`,
      deployment: r.deploymentId,
      service: r.service,
      number: r.index + 1,
      image: spec?.services?.[r.service]?.image ?? `${r.deploymentId}-${r.service}`,
      state,
      health,
      status: down ? `unknown (${down})` : r.status === "pending" ? "starting" : r.status,
      createdAt: r.startedAt ?? 0,
      restarts: 0,
      ports: portsShown(spec, r.deploymentId, r.service, where, undefined),
      node: where,
      nodeId: r.nodeId,
      ...(r.addresses && Object.keys(r.addresses).length ? { addresses: { ...r.addresses } } : {}),
    });
  }
  return out;
}

/** Containers of a deployment up on any node that is up, from the records each node publishes. */
function clusterRunning(node: ClusterNode, name: string): number {
  const members = membersOf(node);
  return listContainers(node.state, name).filter((c) => (c.status === "running" || c.status === "healthy" || c.status === "unhealthy") && !downReason(members, c.nodeId)).length;
}

/** How many replicas of a global service the placement puts on nodes (one per eligible node); undefined before placement is in force. */
export type GlobalPlaced = (deployment: string, service: string) => number | undefined;

/**
 * The replicas a deployment wants cluster-wide: the spec's counts with the cluster's `fizz scale` overrides, and a
 * global service one per node the placement gives it (counted one without placement, as the engine backend does:
 * against replicas counted on every node that read `running(3/1)`).
 */
function clusterDesired(node: ClusterNode, name: string, spec: unknown, globalPlaced: GlobalPlaced | undefined): number {
  const services = ((spec as { services?: Record<string, Service> } | null)?.services ?? {}) as Record<string, Service>;
  const overrides = new Map(servicesOf(node.state, name));
  return Object.values(services).reduce((n, sv) => {
    const placed = replicasOf(sv) === "global" ? globalPlaced?.(name, sv.name) : undefined;
    return n + (placed ?? replicaCount(sv, overrides.get(sv.name)));
  }, 0);
}

function remoteSummary(node: ClusterNode, name: string, rec: DeploymentRecord, globalPlaced: GlobalPlaced | undefined): ClusterDeploymentSummary {
  const spec = rec.spec as { services?: Record<string, unknown> } | null;
  const services = spec && typeof spec === "object" && spec.services && typeof spec.services === "object" ? Object.keys(spec.services).length : 0;
  const desired = clusterDesired(node, name, rec.spec, globalPlaced);
  const running = clusterRunning(node, name);
  return { name, generation: rec.version, createdAt: wallOf(rec.created), updatedAt: wallOf(rec.updated), services, running, desired, origin: originOf(rec) };
}


export class ClusterViews {
  constructor(
    /** The cluster node when this agent is a member. */
    private readonly node: () => ClusterNode | undefined,
    /** True once this node is a settled member (placement in force). */
    private readonly settled: () => boolean,
    private readonly self: string,
    /** Replicas of a global service the placement puts on nodes, once it is in force. */
    private readonly globalPlaced?: GlobalPlaced,
  ) {}

  /** This node's deployments counted cluster-wide, plus those only the cluster state has yet. */
  deployments(local: readonly DeploymentSummary[]): DeploymentSummary[] {
    const node = this.node();
    if (!node) return [...local];
    const out: ClusterDeploymentSummary[] = [];
    const seen = new Set<string>();
    for (const d of local) {
      const rec = getDeploymentState(node.state, d.name);
      // Counted cluster-wide once the deployment is in the cluster state (this engine holds only this node's share).
      out.push({ ...d, origin: rec ? originOf(rec) : this.self, ...(rec && this.settled() ? { running: clusterRunning(node, d.name), desired: clusterDesired(node, d.name, rec.spec, this.globalPlaced) } : {}) });
      seen.add(d.name);
    }
    for (const [name, rec] of listDeploymentsState(node.state)) if (!seen.has(name)) out.push(remoteSummary(node, name, rec, this.settled() ? this.globalPlaced : undefined));
    return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** A deployment this node has not mirrored yet. */
  deployment(name: string): DeploymentDetail | undefined {
    const node = this.node();
    const rec = node ? getDeploymentState(node.state, name) : undefined;
    if (!node || !rec) return undefined;
    const detail: DeploymentDetail & { origin: string } = { ...remoteSummary(node, name, rec, this.settled() ? this.globalPlaced : undefined), spec: rec.spec, source: { origin: originOf(rec) } };
    return detail;
  }

  /** This node's containers with its name, and every other node's. */
  containers(local: readonly ContainerView[], f: ContainerFilter): ContainerView[] {
    const node = this.node();
    if (!node || !this.settled()) return [...local];
    const members = membersOf(node);
    const selfName = members.get(this.self)?.name ?? this.self.slice(0, 8);
    const remote = remoteContainers(node, this.self, members, f);
    const here = local.map((c) => ({ ...c, ports: portsShown(specOf(node, c.deployment), c.deployment, c.service, selfName, c.ports), node: selfName, nodeId: this.self }));
    return [...here, ...remote].sort((a, b) => a.name.localeCompare(b.name) || (a.node ?? "").localeCompare(b.node ?? ""));
  }
}
