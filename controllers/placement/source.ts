/**
 * The agent's side of leaderless scheduling. Each reconcile pass:
 *   1. mirrors the cluster's deployments (spec, intent, previous spec and
 *      `fizz scale` overrides) into this node's desired state, and lists
 *      those removed cluster-wide;
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
import type { ServiceShare } from "../../core/deploy/desired.ts";
import { intentFromJson, newIntentId } from "../../core/deploy/intent.ts";
import { clusterPlacement, type ClusterPlacement, type PlacementNode, type ReplicaRecord } from "../../core/placement/cluster-placement.ts";
import { replicaRecords, sameRecord } from "../../core/placement/replica-records.ts";
import { schedServices } from "../../core/placement/service-spec.ts";
import type { SchedService } from "../../core/scheduler/types.ts";
import { decideRollout, type RolloutReplica } from "../../core/placement/rollout.ts";
import { rolloutConfigOf } from "../../core/placement/service-spec.ts";
import { rollbackService } from "../../core/placement/rollback.ts";
import {
  containerKey,
  getDeployment as getDeploymentState,
  listContainers,
  listDeployments as listDeploymentsState,
  putDeployment as putDeploymentState,
  clearReplicas,
  recordContainer,
  removeContainer,
  servicesOf,
  setReplicas,
  type ContainerRecord,
} from "../../core/state/index.ts";
import type { Json } from "../../core/crdt/index.ts";
import { dependencyVerdict, type DependencyVerdict, type DependsCondition } from "../../core/placement/remote-dependency.ts";
import type { ContainerSummary } from "../../platform/engine/index.ts";
import type { ClusterNode } from "../../platform/cluster/index.ts";
import type { PlacementSource } from "../deployments/reconciler.ts";
import type { DesiredStore } from "../deployments/desired.ts";
import { versionOf } from "../../platform/store/index.ts";
import type { AgentEvent } from "../event-log.ts";

export interface ClusterPlacementDeps {
  /** The running cluster node, when this agent is a settled member. */
  readonly node: () => ClusterNode | undefined;
  /** The running cluster node, settled or not (reports go out before a restarted node acts). */
  readonly member: () => ClusterNode | undefined;
  /** In a cluster but not caught up yet (or not even resumed): change nothing. */
  readonly catchingUp: () => boolean;
  readonly desired: DesiredStore;
  readonly self: string;
  readonly emit: (e: AgentEvent) => void;
  /** Asks for another reconcile of a deployment soon (after this node changed the cluster state itself), or at `at`. */
  readonly wake: (deployment: string, at?: number) => void;
  readonly now: () => number;
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

export class ClusterPlacementSource implements PlacementSource {
  private current: ClusterPlacement | undefined;
  private records = new Map<string, ContainerRecord>();
  private readonly said = new Map<string, string>();
  /** deployment/service → the spec hash an update is under way to (decideRollout's `underway`). */
  private readonly underway = new Map<string, string>();
  private counter = 0;
  private computedFor = "";
  /** Per deployment, the cluster record (stamp and overrides) mirrored into the store last. */
  private readonly mirrored = new Map<string, string>();
  private readonly sched = new Map<string, { key: string; services: readonly SchedService[] }>();

  constructor(private readonly d: ClusterPlacementDeps) {}

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
    const desired = this.d.desired;
    const live = new Set<string>();
    for (const [name, rec] of listDeploymentsState(state)) {
      live.add(name);
      // A record stamped as the one mirrored last needs no second look.
      const stamp = `${rec.updated}:${servicesOf(state, name).join()}`;
      if (this.mirrored.get(name) === stamp && desired.has(name)) continue;
      this.mirrored.set(name, stamp);
      const local = desired.get(name);
      const intent = intentFromJson(rec.intent);
      if (!local || !sameJson(local.spec, rec.spec)) {
        desired.put(name, rec.spec as unknown as Project, local?.source ?? { origin: "cluster" }, intent, this.d.now());
        desired.setPrevious(name, rec.previous as unknown as Project | undefined);
      } else if (intent && local.intent?.id !== intent.id) desired.setIntent(name, intent);
      const overrides = desired.replicas(name);
      const want = new Map(servicesOf(state, name));
      for (const [svc, n] of want) if (overrides.get(svc) !== n) desired.setReplicas(name, svc, n);
      for (const svc of overrides.keys()) if (!want.has(svc)) desired.clearReplicas(name, svc);
    }
    const gone = desired.names().filter((n) => !live.has(n));
    for (const n of this.mirrored.keys()) if (!live.has(n)) this.mirrored.delete(n);
    this.refresh();
    return gone;
  }

  private compute(): ClusterPlacement | undefined {
    const node = this.d.node();
    if (!node) return undefined;
    const nodes: PlacementNode[] = node.members().map((m) => ({ id: m.id, name: m.meta.name, state: m.state, labels: m.meta.labels, resources: m.meta.resources }));
    const deployments = this.d.desired.list().map((r) => {
      const replicas = this.d.desired.replicas(r.name);
      // A spec's services (config hashes and all) change only with its stored version and overrides.
      const key = `${versionOf(r.generation, r.createdAt, r.updatedAt)}:${[...replicas].join()}`;
      let s = this.sched.get(r.name);
      if (s?.key !== key) {
        s = { key, services: schedServices(r.name, r.spec, replicas) };
        this.sched.set(r.name, s);
      }
      return { id: r.name, project: r.spec, replicas, services: s.services };
    });
    return clusterPlacement(nodes, deployments, [...this.records.values()] as ReplicaRecord[]);
  }

  /** Reads every node's container records and computes the placement from the state as it is now. */
  refresh(): void {
    const node = this.d.node();
    if (!node) return;
    // The same state (cluster and this node's overrides) makes the same placement: reuse it.
    // What placement reads: members and their states, every container record (by stamp), the desired state.
    const members = node.members().map((m) => `${m.id}=${m.state}`).join();
    let records = "";
    for (const k in node.state.containers) records += `${k}@${node.state.containers[k]!.ts};`;
    const key = `${members}|${records}|${this.d.desired.fingerprint()}`;
    if (key === this.computedFor && this.current) return;
    this.computedFor = key;
    this.records = new Map(listContainers(node.state).map((r) => [containerKey(r.deploymentId, r.service, r.index, r.nodeId), r]));
    this.current = this.compute();
  }

  /** The placement as of the last pass (computed now if none yet): `fizz why`. */
  placement(): ClusterPlacement | undefined {
    if (!this.current) this.refresh();
    return this.current;
  }

  /** Every node's container records as of the last refresh. */
  recordsNow(): ReadonlyMap<string, ContainerRecord> {
    return this.records;
  }

  placed(deployment: string): Readonly<Record<string, readonly number[]>> {
    const cp = this.current ?? this.placement();
    return cp && this.d.desired.has(deployment) ? cp.share(deployment, this.d.self) : {};
  }

  share(deployment: string): Readonly<Record<string, ServiceShare>> {
    const cp = this.current ?? this.placement();
    const rec = this.d.desired.get(deployment);
    if (!cp || !rec) return {};
    const self = this.d.self;
    const numbers = cp.share(deployment, self);
    const project = rec.spec;
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
      const key = `${deployment}/${service}`;
      const decision = decideRollout({ target: svc.specHash, replicas, config: rolloutConfigOf(project, spec), now: this.d.now(), underway: this.underway.get(key) === svc.specHash });
      // Under way from the first sight of a replica on an older spec until every replica has served its monitor on this one.
      if (decision.phase === "updating") this.underway.set(key, svc.specHash);
      else if (decision.phase === "settled" && decision.done === replicas.length) this.underway.delete(key);
      out[service] = { numbers: nums, holdConfig: nums.filter((n) => decision.hold.has(n - 1)) };
      // A replica's monitor ending changes the decision without any event: look again then.
      if (decision.nextAt !== undefined && decision.phase === "updating") this.d.wake(deployment, decision.nextAt);
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
    // A revert: if bringing the previous spec back fails too, nothing is reverted again.
    const failedIntent = intentFromJson(rec.intent);
    const failed = failedIntent?.id ?? "";
    const intent = { id: newIntentId(this.d.self, this.d.now(), this.counter++), kind: "revert" as const, reverts: { intent: failed, node: this.d.self, reason } };
    node.mutate((s, ts) => putDeploymentState(s, ts, deployment, rec.project, r.spec as unknown as Json, { ...intent }, { revert: true }));
    // The service's `fizz scale` override the failed change reset (the file wins) comes back with its spec.
    const before = failedIntent?.previousScale?.[service];
    if (failedIntent?.kind === "up") node.mutate((s, ts) => (before === undefined ? clearReplicas(s, ts, deployment, service) : setReplicas(s, ts, deployment, service, before)));
    this.d.desired.put(deployment, r.spec, this.d.desired.get(deployment)?.source ?? { origin: "cluster" }, intent, this.d.now());
    this.d.emit({ type: "rollout.rolled_back", deployment, service, message: `${service}: ${reason} to the previous spec` });
    // The pass under way planned with the failed spec; the next one returns the replicas here.
    this.d.wake(deployment);
  }

  /**
   * How a dependency's replicas on other nodes stand (depends_on across
   * nodes): the live records of the replicas the placement puts elsewhere;
   * one with no record yet is pending.
   */
  dependency(deployment: string, service: string, condition: DependsCondition): DependencyVerdict {
    const node = this.d.node();
    const cp = this.current ?? this.placement();
    if (!node || !cp) return { kind: "waiting", reason: "this node is not caught up with the cluster yet" };
    const recs: ContainerRecord[] = [];
    for (const [index, nodeId] of cp.owners(deployment, service)) {
      if (nodeId === this.d.self) continue;
      const e = node.state.containers[containerKey(deployment, service, index, nodeId)];
      recs.push(e && !e.deleted ? e.value : { deploymentId: deployment, service, index, nodeId, status: "pending", containerId: null, health: "none" });
    }
    return dependencyVerdict(service, condition, recs);
  }

  report(deployment: string, containers: readonly ContainerSummary[]): void {
    const node = this.d.member();
    if (!node) return;
    const self = this.d.self;
    const mine = replicaRecords(deployment, self, this.d.desired.get(deployment)?.spec, containers);
    const before = new Map(listContainers(node.state, deployment).filter((r) => r.nodeId === self).map((r) => [containerKey(deployment, r.service, r.index, self), r]));
    for (const [key, r] of before) if (!mine.has(key)) node.mutate((s, ts) => removeContainer(s, ts, deployment, r.service, r.index, self));
    for (const [key, rec] of mine) {
      if (sameRecord(before.get(key), rec)) continue;
      node.mutate((s, ts) => recordContainer(s, ts, rec));
    }
  }
}
