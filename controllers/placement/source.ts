/**
 * The agent's side of leaderless scheduling. Each reconcile pass:
 *   1. mirrors the cluster's deployments (and `fizz scale` overrides) into
 *      the local store, and lists those removed cluster-wide;
 *   2. computes the whole cluster's placement from membership, deployments
 *      and every node's container records (core/placement), the same
 *      computation every other node makes;
 *   3. hands the reconciler this node's share per service, with the replicas
 *      a rolling update holds back on their old spec;
 *   4. publishes what this node runs (one record per container, written by
 *      this node only) so the others see it.
 * A rolling update whose new replicas fail their healthcheck is rolled back
 * here, by the node that runs the failing replica: it writes the service's
 * previous spec back into the cluster state.
 */
import type { Project } from "../../core/compose/model.ts";
import { FizzError } from "../../core/errors.ts";
import type { ServiceShare } from "../../core/deploy/desired.ts";
import { exitCodeFromStatus, healthFromStatus } from "../../core/deploy/actual.ts";
import { LABEL, parseLabels } from "../../core/labels.ts";
import { clusterPlacement, type ClusterPlacement, type PlacementNode, type ReplicaRecord } from "../../core/placement/cluster-placement.ts";
import { decideRollout, type RolloutReplica } from "../../core/placement/rollout.ts";
import { rolloutConfigOf } from "../../core/placement/service-spec.ts";
import { rollbackService } from "../../core/placement/rollback.ts";
import {
  containerKey,
  deleteDeployment as deleteDeploymentState,
  getDeployment as getDeploymentState,
  setReplicas,
  listContainers,
  listDeployments as listDeploymentsState,
  putDeployment as putDeploymentState,
  recordContainer,
  removeContainer,
  servicesOf,
  type ContainerRecord,
  type ContainerStatus,
} from "../../core/state/index.ts";
import type { Json } from "../../core/crdt/index.ts";
import type { ContainerSummary } from "../../platform/engine/index.ts";
import type { AgentStore } from "../../platform/store/index.ts";
import type { ClusterNode } from "../../platform/cluster/index.ts";
import type { PlacementSource, ReconcilerEvent } from "../deployments/reconciler.ts";
import type { ClusterHooks } from "../deployments/engine-backend.ts";

export interface ClusterPlacementDeps {
  /** The running cluster node, when this agent is a settled member. */
  readonly node: () => ClusterNode | undefined;
  /** The running cluster node, settled or not (reports go out before a restarted node acts). */
  readonly member: () => ClusterNode | undefined;
  /** In a cluster but not caught up yet (or not even resumed): change nothing. */
  readonly catchingUp: () => boolean;
  readonly store: AgentStore;
  readonly self: string;
  readonly emit: (e: ReconcilerEvent) => void;
  /** Asks for another reconcile of a deployment soon (after this node changed the cluster state itself). */
  readonly wake?: (deployment: string) => void;
  readonly now?: () => number;
}

const projectOf = (spec: unknown): Project => spec as Project;

/** Engine state → the cluster record's status. */
export function statusOf(c: ContainerSummary): { status: ContainerStatus; health: ContainerRecord["health"] } {
  const state = String(c.State).toLowerCase();
  const health = healthFromStatus(c.Status);
  if (state === "running") {
    if (health === "healthy") return { status: "healthy", health };
    if (health === "unhealthy") return { status: "unhealthy", health };
    if (health === "starting") return { status: "pending", health };
    return { status: "running", health };
  }
  if (state === "created" || state === "removing" || state === "paused") return { status: "pending", health };
  if (state === "exited") return { status: exitCodeFromStatus(c.Status) === 0 ? "stopped" : "failed", health };
  return { status: "failed", health }; // dead, restarting (crash loop)
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameRecord(a: ContainerRecord | undefined, b: ContainerRecord): boolean {
  return (
    a !== undefined &&
    a.status === b.status &&
    a.health === b.health &&
    a.containerId === b.containerId &&
    a.specHash === b.specHash &&
    a.startedAt === b.startedAt
  );
}

export class ClusterPlacementSource implements PlacementSource, ClusterHooks {
  private current: ClusterPlacement | undefined;
  private records = new Map<string, ContainerRecord>();
  private readonly now: () => number;
  private readonly said = new Map<string, string>();

  constructor(private readonly d: ClusterPlacementDeps) {
    this.now = d.now ?? Date.now;
  }

  active(): boolean {
    return this.d.node() !== undefined;
  }

  waiting(): boolean {
    return this.d.catchingUp();
  }

  beginPass(): string[] {
    const node = this.d.node();
    if (!node) return [];
    const state = node.state;
    const store = this.d.store;
    const live = new Set<string>();
    for (const [name, rec] of listDeploymentsState(state)) {
      live.add(name);
      const local = store.getDeployment(name);
      if (!local || !sameJson(local.spec, rec.spec)) store.putDeployment(name, rec.spec, local?.source ?? { origin: "cluster" }, this.now());
      const overrides = store.replicas(name);
      for (const [svc, n] of servicesOf(state, name)) if (overrides.get(svc) !== n) store.setReplicas(name, svc, n);
    }
    const gone = store.listDeployments().filter((r) => !live.has(r.name)).map((r) => r.name);
    this.refresh();
    return gone;
  }

  private compute(): ClusterPlacement | undefined {
    const node = this.d.node();
    if (!node) return undefined;
    const nodes: PlacementNode[] = node.members().map((m) => ({
      id: m.id,
      name: m.meta.name,
      state: m.state,
      labels: m.meta.labels,
      resources: m.meta.resources,
    }));
    const deployments = this.d.store.listDeployments().map((r) => ({ id: r.name, project: projectOf(r.spec), replicas: this.d.store.replicas(r.name) }));
    return clusterPlacement(nodes, deployments, [...this.records.values()] as ReplicaRecord[]);
  }

  /** The placement as of the last pass (computed now if none yet): `fizz why`. */
  placement(): ClusterPlacement | undefined {
    if (!this.current) this.refresh();
    return this.current;
  }

  share(deployment: string): Readonly<Record<string, ServiceShare>> {
    const cp = this.current ?? this.placement();
    const rec = this.d.store.getDeployment(deployment);
    if (!cp || !rec) return {};
    const self = this.d.self;
    const numbers = cp.share(deployment, self);
    const project = projectOf(rec.spec);
    const out: Record<string, ServiceShare> = {};
    for (const [service, nums] of Object.entries(numbers)) {
      const svc = cp.service(deployment, service);
      const spec = project.services[service];
      if (!svc || !spec || svc.mode === "global") {
        out[service] = { numbers: nums };
        continue;
      }
      const owners = cp.owners(deployment, service);
      const replicas: RolloutReplica[] = [];
      for (const [index, nodeId] of owners) {
        const r = this.records.get(containerKey(deployment, service, index, nodeId));
        replicas.push(r ? { index, record: { status: r.status, ...(r.specHash ? { specHash: r.specHash } : {}), ...(r.startedAt !== undefined ? { startedAt: r.startedAt } : {}) } } : { index });
      }
      const decision = decideRollout({ target: svc.specHash, replicas, config: rolloutConfigOf(project, spec), now: this.now() });
      out[service] = { numbers: nums, holdConfig: nums.filter((n) => decision.hold.has(n - 1)) };
      const key = `${deployment}/${service}`;
      if (decision.phase === "rollback" && decision.failed.some((i) => owners.get(i) === self)) this.rollback(deployment, service, decision.reason ?? "new replicas failed");
      else if (decision.phase === "paused" || decision.phase === "updating") this.tell(key, decision.phase, decision.reason);
      else this.said.delete(key);
    }
    return out;
  }

  /** One event per change of a rollout's state (not one per pass). */
  private tell(key: string, phase: string, reason: string | undefined): void {
    const what = `${phase}:${reason ?? ""}`;
    if (this.said.get(key) === what) return;
    this.said.set(key, what);
    const [deployment, service] = key.split("/") as [string, string];
    if (phase === "paused") this.d.emit({ type: "rollout.paused", deployment, service, message: reason ?? "update paused" });
    else if (phase === "updating" && !reason) this.d.emit({ type: "rollout.progress", deployment, service, message: `rolling update of ${service} in progress` });
  }

  /** Writes the service's previous spec back (the failing replica's node does it; the others follow the state). */
  private rollback(deployment: string, service: string, reason: string): void {
    const node = this.d.node();
    const rec = node ? getDeploymentState(node.state, deployment) : undefined;
    if (!node || !rec) return;
    const r = rollbackService(rec.spec, rec.previous, service);
    if (!r.ok) {
      this.tell(`${deployment}/${service}`, "paused", `${reason}, but ${r.reason}; update paused`);
      return;
    }
    node.mutate((s, ts) => putDeploymentState(s, ts, deployment, rec.project, r.spec as unknown as Json));
    this.d.store.putDeployment(deployment, r.spec, this.d.store.getDeployment(deployment)?.source ?? { origin: "cluster" }, this.now());
    this.d.emit({ type: "rollout.rolled_back", deployment, service, message: `${service}: ${reason} to the previous spec` });
    // The pass under way planned with the failed spec; the next one returns the replicas here.
    this.d.wake?.(deployment);
  }

  // ---- ClusterHooks (the API's changes) ------------------------------------

  /** Reads every node's container records and computes the placement from the state as it is now. */
  refresh(): void {
    const node = this.d.node();
    if (!node) return;
    this.records = new Map(listContainers(node.state).map((r) => [containerKey(r.deploymentId, r.service, r.index, r.nodeId), r]));
    this.current = this.compute();
  }

  publish(name: string): void {
    const node = this.d.node();
    const rec = this.d.store.getDeployment(name);
    if (!node || !rec) return;
    const spec = JSON.parse(JSON.stringify(rec.spec ?? null)) as Json;
    const cur = getDeploymentState(node.state, name);
    if (!cur || !sameJson(cur.spec, spec)) node.mutate((s, ts) => putDeploymentState(s, ts, name, name, spec));
    const have = new Map(servicesOf(node.state, name));
    for (const [svc, n] of this.d.store.replicas(name)) if (have.get(svc) !== n) node.mutate((s, ts) => setReplicas(s, ts, name, svc, n));
  }

  remove(name: string): void {
    const node = this.d.node();
    if (node && getDeploymentState(node.state, name)) node.mutate((s, ts) => deleteDeploymentState(s, ts, name));
  }

  specs(name: string): { spec: unknown; previous: unknown } | undefined {
    const node = this.d.node();
    const rec = node ? getDeploymentState(node.state, name) : undefined;
    return rec ? { spec: rec.spec, previous: rec.previous } : undefined;
  }

  /** Replicas of a deployment that do not run the current spec yet, as "service #n (why)". */
  notRunning(name: string): string[] {
    this.refresh();
    const cp = this.current;
    const rec = this.d.store.getDeployment(name);
    if (!cp || !rec) return [`${name}: unknown deployment`];
    const project = projectOf(rec.spec);
    const out: string[] = [];
    for (const p of cp.placement.pending) if (p.deploymentId === name) out.push(`${p.service} #${p.index + 1} (pending: fits no node)`);
    for (const a of cp.placement.assignments) {
      if (a.deploymentId !== name) continue;
      const svc = cp.service(name, a.service);
      const global = svc?.mode === "global";
      const r = this.records.get(containerKey(name, a.service, global ? 0 : a.index, a.nodeId));
      const hasCheck = project.services[a.service]?.healthcheck !== undefined && project.services[a.service]?.healthcheck?.disable !== true;
      const ok = r && r.specHash === svc?.specHash && (r.status === "healthy" || (!hasCheck && r.status === "running") || (r.status === "stopped" && project.services[a.service]?.deploy?.mode?.endsWith("job")));
      if (!ok) out.push(`${a.service} #${(global ? 0 : a.index) + 1} on ${cp.names.get(a.nodeId) ?? a.nodeId.slice(0, 8)} (${r ? r.status : "not created yet"})`);
    }
    return out;
  }

  async waitRunning(name: string, timeoutMs: number, signal: AbortSignal, refresh: () => Promise<void>): Promise<void> {
    const deadline = this.now() + timeoutMs;
    for (;;) {
      await refresh();
      const missing = this.notRunning(name);
      if (missing.length === 0) return;
      if (signal.aborted) throw new FizzError({ code: "api.aborted", message: "the client went away", status: 499 });
      if (this.now() > deadline) {
        throw new FizzError({
          code: "deploy.wait_timeout",
          message: `not every replica of ${name} is running after ${Math.round(timeoutMs / 1000)}s: ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ` and ${missing.length - 10} more` : ""}`,
          hint: "`fizz why <service>` explains the placement; `fizz events` shows what the nodes did",
          status: 504,
        });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  report(deployment: string, containers: readonly ContainerSummary[]): void {
    const node = this.d.member();
    if (!node) return;
    const self = this.d.self;
    const mine = new Map<string, ContainerRecord>();
    const rank = (c: ContainerSummary) => (String(c.State).toLowerCase() === "running" ? 0 : 1);
    const ordered = [...containers].sort((a, b) => rank(a) - rank(b) || b.Created - a.Created);
    const modes = new Map(Object.values(projectOf(this.d.store.getDeployment(deployment)?.spec ?? { services: {} }).services ?? {}).map((s) => [s.name, s.deploy?.mode]));
    for (const c of ordered) {
      const o = parseLabels(c.Labels);
      if (!o || o.kind !== "container" || o.oneoff) continue;
      const global = modes.get(o.service) === "global" || modes.get(o.service) === "global-job";
      const index = global ? 0 : o.number - 1;
      const key = containerKey(deployment, o.service, index, self);
      if (mine.has(key)) continue; // the best one per replica (a recreate briefly has two)
      const { status, health } = statusOf(c);
      mine.set(key, {
        deploymentId: deployment,
        service: o.service,
        index,
        nodeId: self,
        status,
        containerId: c.Id,
        health,
        ...(c.Labels?.[LABEL.configHash] ? { specHash: c.Labels[LABEL.configHash] } : {}),
        startedAt: c.Created * 1000,
      });
    }
    const before = new Map(listContainers(node.state, deployment).filter((r) => r.nodeId === self).map((r) => [containerKey(deployment, r.service, r.index, self), r]));
    for (const [key, r] of before) if (!mine.has(key)) node.mutate((s, ts) => removeContainer(s, ts, deployment, r.service, r.index, self));
    for (const [key, rec] of mine) {
      if (sameRecord(before.get(key), rec)) continue;
      node.mutate((s, ts) => recordContainer(s, ts, rec));
    }
  }
}
