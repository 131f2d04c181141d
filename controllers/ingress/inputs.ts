/**
 * What the ingress plan is computed from, read from where it lives: in a
 * cluster, the replicated deployments and container records plus the
 * membership (which nodes are alive, where their relays are); on a single
 * node, the store's deployments and the engine's containers. Addresses of
 * this node's own replicas come from the engine (the container's address on
 * its first network), since the records do not carry them. The engine is
 * asked once per pass for every managed container, not once per deployment:
 * a pass runs on every state change, and during a deploy those come by the
 * dozen.
 */
import type { Project } from "../../core/compose/model.ts";
import type { DeploymentInput } from "../../core/ingress/routes.ts";
import type { ReplicaInput } from "../../core/ingress/plan.ts";
import { drainMarks, listContainers, listDeployments } from "../../core/state/index.ts";
import { LABEL } from "../../core/labels.ts";
import type { ContainerSummary, Engine } from "../../platform/engine/index.ts";
import { listManagedContainers, ownedBy } from "../../platform/deploy/project.ts";
import type { AgentStore } from "../../platform/store/index.ts";
import type { ClusterNode } from "../../platform/cluster/index.ts";

export interface PlanInputs {
  readonly clustered: boolean;
  readonly deployments: DeploymentInput[];
  readonly replicas: ReplicaInput[];
  readonly relays: Map<string, { host: string; port: number }>;
  /** Member addresses allowed to use this node's relay. */
  readonly members: Set<string>;
  /** Draining marks whose container is gone (deployment/service/index/node): this node's after `markGraceMs`, anyone's after an hour. */
  readonly staleMarks: string[];
}

function hostOf(address: string): string {
  const i = address.lastIndexOf(":");
  const h = i < 0 ? address : address.slice(0, i);
  return h.startsWith("[") && h.endsWith("]") ? h.slice(1, -1) : h;
}

function firstAddress(c: ContainerSummary): string | undefined {
  const nets = c.NetworkSettings?.Networks ?? {};
  for (const n of Object.keys(nets).sort()) {
    const ip = nets[n]?.IPAddress;
    if (ip) return ip;
  }
  return undefined;
}

function localView(c: ContainerSummary): { status: ReplicaInput["status"]; health: ReplicaInput["health"] } {
  const state = String(c.State ?? "").toLowerCase();
  const st = c.Status ?? "";
  const health = /\(healthy\)/.test(st) ? "healthy" : /\(unhealthy\)/.test(st) ? "unhealthy" : /health: starting/.test(st) ? "starting" : "none";
  return { status: state === "running" ? "running" : state === "exited" || state === "dead" ? "stopped" : "pending", health };
}

/** This node's replicas, by deployment, then service/index, with their addresses and states. */
async function localReplicas(engine: Engine, self: string): Promise<Map<string, Map<string, { id: string; address: string | undefined; view: ReturnType<typeof localView> }>>> {
  const out = new Map<string, Map<string, { id: string; address: string | undefined; view: ReturnType<typeof localView> }>>();
  for (const c of await listManagedContainers(engine)) {
    if (!ownedBy(c, self) || c.Labels?.[LABEL.oneoff] === "True") continue;
    const deployment = c.Labels?.[LABEL.project];
    const service = c.Labels?.[LABEL.service];
    const num = Number(c.Labels?.[LABEL.containerNumber]);
    if (!deployment || !service || !Number.isInteger(num)) continue;
    let mine = out.get(deployment);
    if (!mine) out.set(deployment, (mine = new Map()));
    mine.set(`${service}/${num - 1}`, { id: c.Id, address: firstAddress(c), view: localView(c) });
  }
  return out;
}

export async function readInputs(o: { store: AgentStore; engine: Engine; node: ClusterNode | undefined; self: string; relayPort: number; draining: ReadonlySet<string>; now: number; markGraceMs: number }): Promise<PlanInputs> {
  const { node, self } = o;
  const deployments: DeploymentInput[] = [];
  const replicas: ReplicaInput[] = [];
  const relays = new Map<string, { host: string; port: number }>();
  const members = new Set<string>();
  const local = await localReplicas(o.engine, self);
  if (!node) {
    for (const d of o.store.listDeployments()) {
      deployments.push({ id: d.name, created: String(d.createdAt).padStart(16, "0"), project: d.spec as Project });
      for (const [k, r] of local.get(d.name) ?? []) {
        const [service, idx] = k.split("/") as [string, string];
        replicas.push({ deployment: d.name, service, index: Number(idx), node: self, ...r.view, draining: o.draining.has(`${d.name}/${k}`), nodeAlive: true, ...(r.address ? { localAddress: r.address } : {}) });
      }
    }
    return { clustered: false, deployments, replicas, relays, members, staleMarks: [] };
  }
  const alive = new Set<string>();
  for (const m of node.members()) {
    if (m.state !== "alive") continue;
    alive.add(m.id);
    if (!m.self) {
      relays.set(m.id, { host: hostOf(m.address), port: o.relayPort });
      members.add(hostOf(m.address));
    }
  }
  const state = node.state;
  // Replicas some node is about to stop (the mark names the container, so a replacement under the same number is not draining).
  const marks = drainMarks(state);
  const liveMarks = new Set<string>();
  for (const [id, rec] of listDeployments(state)) {
    deployments.push({ id, created: rec.created, project: rec.spec as unknown as Project });
    const here = local.get(id);
    for (const c of listContainers(state, id)) {
      const mine = c.nodeId === self;
      const l = mine ? here?.get(`${c.service}/${c.index}`) : undefined;
      if (mine && !l) continue; // recorded but gone from the engine
      const markKey = `${id}/${c.service}/${c.index}/${c.nodeId}`;
      const mark = marks.get(markKey);
      const marked = mark !== undefined && mark.container === (mine ? l!.id : c.containerId);
      if (marked) liveMarks.add(markKey);
      replicas.push({
        deployment: id,
        service: c.service,
        index: c.index,
        node: c.nodeId,
        // Our own replicas: the engine's word is fresher than our published record.
        status: l ? l.view.status : c.status,
        health: l ? l.view.health : c.health,
        draining: marked || (mine && o.draining.has(`${id}/${c.service}/${c.index}`)),
        nodeAlive: alive.has(c.nodeId),
        ...(l?.address ? { localAddress: l.address } : {}),
      });
    }
  }
  const staleMarks = [...marks.entries()]
    .filter(([k, m]) => !liveMarks.has(k) && o.now - m.since > (k.endsWith(`/${self}`) ? o.markGraceMs : 3_600_000))
    .map(([k]) => k);
  return { clustered: true, deployments, replicas, relays, members, staleMarks };
}
