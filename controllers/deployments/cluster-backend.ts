/**
 * The deployments API in a cluster: decorates the engine's AgentBackend so
 * that deployments stored here are replicated into the cluster state,
 * `fizz ls`/`ps` show every node's deployments and replicas (other nodes'
 * from the records they publish), and a deployment made elsewhere can be
 * removed here. Without a placement source (an engine-less backend, in
 * tests) deployments are published as they are.
 */
import {
  deleteDeployment as deleteDeploymentState,
  getDeployment as getDeploymentState,
  listContainers,
  listDeployments as listDeploymentsState,
  putDeployment as putDeploymentState,
  servicesOf,
  setReplicas,
  type ContainerStatus,
  type DeploymentRecord,
} from "../../core/state/index.ts";
import { decodeHlc, type Json } from "../../core/crdt/index.ts";
import { replicaCount } from "../../core/compose/query.ts";
import type { Service } from "../../core/compose/model.ts";
import type { ClusterNode } from "../../platform/cluster/index.ts";
import type { AgentBackend, ContainerFilter, ContainerView, DeploymentDetail, DeploymentSummary } from "../../platform/api/backend.ts";
import type { ClusterAgent } from "../cluster/membership.ts";
import type { ClusterPlacementSource } from "../placement/source.ts";


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

/** Other nodes' containers as `fizz ps` rows, from the records they publish (no engine detail: ports, restarts). */
function remoteContainers(node: ClusterNode, self: string, names: ReadonlyMap<string, string>, f: ContainerFilter): ContainerView[] {
  const out: ContainerView[] = [];
  for (const r of listContainers(node.state, f.deployment, f.service)) {
    if (r.nodeId === self) continue;
    const state = STATE_OF[r.status];
    if ((f.state && f.state !== state) || (f.health && f.health !== r.health)) continue;
    const spec = getDeploymentState(node.state, r.deploymentId)?.spec as { services?: Record<string, { image?: string }> } | undefined;
    const where = names.get(r.nodeId) ?? r.nodeId.slice(0, 8);
    out.push({
      id: r.containerId ?? "",
      name: `${r.deploymentId}-${r.service}-${r.index + 1}`,
      deployment: r.deploymentId,
      service: r.service,
      number: r.index + 1,
      image: spec?.services?.[r.service]?.image ?? `${r.deploymentId}-${r.service}`,
      state,
      health: r.health,
      status: r.status === "pending" ? "starting" : r.status,
      createdAt: r.startedAt ?? 0,
      restarts: 0,
      ports: [],
      node: where,
    });
  }
  return out;
}

/** Containers of a deployment up on any node, from the records each node publishes. */
function clusterRunning(node: ClusterNode, name: string): number {
  return listContainers(node.state, name).filter((c) => c.status === "running" || c.status === "healthy" || c.status === "unhealthy").length;
}

function remoteSummary(node: ClusterNode, name: string, rec: DeploymentRecord): ClusterDeploymentSummary {
  const spec = rec.spec as { services?: Record<string, unknown> } | null;
  const services = spec && typeof spec === "object" && spec.services && typeof spec.services === "object" ? Object.keys(spec.services).length : 0;
  // The spec's counts with the cluster's `fizz scale` overrides (global services count one, as the engine backend does).
  const overrides = new Map(servicesOf(node.state, name));
  const desired = Object.values(((spec?.services ?? {}) as Record<string, Service>)).reduce((n, sv) => n + replicaCount(sv, overrides.get(sv.name)), 0);
  const running = clusterRunning(node, name);
  return { name, generation: rec.version, createdAt: wallOf(rec.created), updatedAt: wallOf(rec.updated), services, running, desired, origin: originOf(rec) };
}

/**
 * `inner` is the engine backend (or, in tests, any backend); `source` the
 * placement source when `inner` converges through the reconciler. When this
 * node becomes a member, deployments it had before are published.
 */
export function clusterBackend(inner: AgentBackend, cluster: ClusterAgent, source?: ClusterPlacementSource): AgentBackend {
  const publish = async (name: string) => {
    if (source) return source.publish(name);
    const node = cluster.current;
    const rec = node ? await inner.getDeployment(name) : undefined;
    if (!node || !rec) return;
    // The stored spec is plain JSON (it came from JSON or went through the store's JSON column).
    const spec = JSON.parse(JSON.stringify(rec.spec ?? null)) as Json;
    node.mutate((s, ts) => putDeploymentState(s, ts, name, name, spec));
    const services = await inner.listServices(name).catch(() => undefined);
    for (const sv of services ?? []) node.mutate((s, ts) => setReplicas(s, ts, name, sv.name, sv.desired));
  };
  // Deployments this node had before it was in a cluster are published when it becomes a member.
  if (!source) cluster.onMember(async () => {
    for (const d of await inner.listDeployments()) {
      const node = cluster.current;
      if (node && !getDeploymentState(node.state, d.name)) await publish(d.name);
    }
  });
  return {
    async listDeployments() {
      const local = await inner.listDeployments();
      const node = cluster.current;
      if (!node) return local;
      const out: (DeploymentSummary & { origin?: string })[] = [];
      const seen = new Set<string>();
      for (const d of local) {
        const rec = getDeploymentState(node.state, d.name);
        // Counted cluster-wide once the deployment is in the cluster state (this engine holds only this node's share).
        out.push({ ...d, origin: rec ? originOf(rec) : cluster.nodeId, ...(rec && source?.active() ? { running: clusterRunning(node, d.name) } : {}) });
        seen.add(d.name);
      }
      for (const [name, rec] of listDeploymentsState(node.state)) if (!seen.has(name)) out.push(remoteSummary(node, name, rec));
      return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    },
    async getDeployment(name) {
      const local = await inner.getDeployment(name);
      if (local) return local;
      const node = cluster.current;
      const rec = node ? getDeploymentState(node.state, name) : undefined;
      if (!node || !rec) return undefined;
      const detail: DeploymentDetail & { origin: string } = { ...remoteSummary(node, name, rec), spec: rec.spec, source: { origin: originOf(rec) } };
      return detail;
    },
    async putDeployment(name, input, signal) {
      const r = await inner.putDeployment(name, input, signal);
      await publish(name);
      return r;
    },
    async deleteDeployment(name, opts, signal) {
      const r = await inner.deleteDeployment(name, opts, signal);
      const node = cluster.current;
      if (node && getDeploymentState(node.state, name)) {
        // Not mirrored here yet (or removed locally already): the cluster state still drops it; its nodes take their parts down.
        node.mutate((s, ts) => deleteDeploymentState(s, ts, name));
        return r ?? { deployment: name, removed: { containers: 0, networks: 0, volumes: 0 } };
      }
      return r;
    },
    listServices: (d) => inner.listServices(d),
    async listContainers(f) {
      const local = await inner.listContainers(f);
      const node = cluster.current;
      if (!node || !source?.active()) return local;
      const names = new Map(node.members().map((m) => [m.id, m.meta.name]));
      const self = names.get(cluster.nodeId) ?? cluster.nodeId.slice(0, 8);
      const remote = remoteContainers(node, cluster.nodeId, names, f);
      return [...local.map((c) => ({ ...c, node: self })), ...remote].sort((a, b) => a.name.localeCompare(b.name) || (a.node ?? "").localeCompare(b.node ?? ""));
    },
    inspect: (t) => inner.inspect(t),
    logs: (q, s) => inner.logs(q, s),
    async scale(deployment, service, replicas, signal) {
      const r = await inner.scale(deployment, service, replicas, signal);
      const node = cluster.current;
      if (r && node && !source && getDeploymentState(node.state, deployment)) node.mutate((s, ts) => setReplicas(s, ts, deployment, service, replicas));
      if (r && source) source.publish(deployment);
      return r;
    },
    ...(inner.why ? { why: inner.why.bind(inner) } : {}),
    ...(inner.rollback ? { rollback: inner.rollback.bind(inner) } : {}),
  };
}
