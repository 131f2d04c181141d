/**
 * The desired state's cluster side: an API change made here goes into the
 * cluster state (spec, intent, overrides) for every node to apply; each node
 * records which intent it applied (`applied`), so the node that made the
 * change can follow it everywhere; a node whose pass failed an intent writes
 * the spec before it back (or removes a deployment that was new), and every
 * node follows that.
 */
import type { Project } from "../../core/compose/model.ts";
import { sleep, type Clock } from "../../core/clock.ts";
import { addedServices, intentFromJson, intentToJson, newIntentId, type DeployIntent } from "../../core/deploy/intent.ts";
import { FizzError } from "../../core/errors.ts";
import { replicasNotRunning, unplaceableReplicas } from "../../core/placement/replica-records.ts";
import {
  clearReplicas,
  deleteDeployment as deleteDeploymentState,
  getApplied,
  getDeployment as getDeploymentState,
  putDeployment as putDeploymentState,
  recordApplied,
  servicesOf,
  setReplicas,
} from "../../core/state/index.ts";
import type { Json } from "../../core/crdt/index.ts";
import type { ClusterNode } from "../../platform/cluster/index.ts";
import type { ClusterWrites } from "../deployments/changes.ts";
import type { DesiredStore } from "../deployments/desired.ts";
import type { ClusterFollow } from "../deployments/follow.ts";
import type { ClusterPlacementSource } from "./source.ts";

export interface ClusterDesiredDeps {
  /** The running cluster node, when this agent is a settled member. */
  readonly node: () => ClusterNode | undefined;
  readonly desired: DesiredStore;
  readonly source: ClusterPlacementSource;
  readonly self: string;
  readonly now: () => number;
  readonly clock: Clock;
  /** How often `waitRunning` looks again (ms). */
  readonly pollMs: number;
}

const sameJson = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export class ClusterDesired implements ClusterWrites, ClusterFollow {
  private counter = 0;

  constructor(private readonly d: ClusterDesiredDeps) {}

  active(): boolean {
    return this.d.node() !== undefined;
  }

  publish(name: string): void {
    const node = this.d.node();
    const rec = this.d.desired.get(name);
    if (!node || !rec) return;
    const spec = JSON.parse(JSON.stringify(rec.spec ?? null)) as Json;
    const intent = rec.intent ? (intentToJson(rec.intent) as Json) : undefined;
    const cur = getDeploymentState(node.state, name);
    if (!cur || !sameJson(cur.spec, spec) || !sameJson(cur.intent, intent)) node.mutate((s, ts) => putDeploymentState(s, ts, name, name, spec, intent));
    const have = new Map(servicesOf(node.state, name));
    const want = this.d.desired.replicas(name);
    for (const [svc, n] of want) if (have.get(svc) !== n) node.mutate((s, ts) => setReplicas(s, ts, name, svc, n));
    for (const svc of have.keys()) if (!want.has(svc)) node.mutate((s, ts) => clearReplicas(s, ts, name, svc));
  }

  remove(name: string): boolean {
    const node = this.d.node();
    if (!node || !getDeploymentState(node.state, name)) return false;
    node.mutate((s, ts) => deleteDeploymentState(s, ts, name));
    return true;
  }

  previous(name: string): unknown {
    const node = this.d.node();
    return node ? getDeploymentState(node.state, name)?.previous : undefined;
  }

  ack(name: string, intent: string, ok: boolean, message?: string): void {
    const node = this.d.node();
    if (!node || !getDeploymentState(node.state, name)) return;
    node.mutate((s, ts) => recordApplied(s, ts, name, this.d.self, { intent, ok, ...(message ? { message: message.slice(0, 4000) } : {}) }));
  }

  revert(name: string, failed: DeployIntent, reason: string): void {
    const node = this.d.node();
    const rec = node ? getDeploymentState(node.state, name) : undefined;
    if (!node || !rec || intentFromJson(rec.intent)?.id !== failed.id) return; // gone, or a later change replaced it
    if (rec.previous === undefined) {
      node.mutate((s, ts) => deleteDeploymentState(s, ts, name));
      // deleteDeployment drops the applied rows; this node's says why, for the change's waiter (pending) on any node.
      node.mutate((s, ts) => recordApplied(s, ts, name, this.d.self, { intent: failed.id, ok: false, message: reason.slice(0, 4000) }));
      return;
    }
    const drop = addedServices(rec.spec as { services?: Record<string, unknown> }, rec.previous as { services?: Record<string, unknown> });
    const intent: DeployIntent = { id: newIntentId(this.d.self, this.d.now(), this.counter++), kind: "revert", reverts: { intent: failed.id, node: this.d.self, reason }, ...(drop.length ? { dropServices: drop } : {}) };
    node.mutate((s, ts) => putDeploymentState(s, ts, name, rec.project, rec.previous!, intentToJson(intent) as Json, { revert: true }));
    // The `fizz scale` overrides the failed change reset or set come back too.
    const before = failed.previousScale ?? {};
    for (const [svc] of servicesOf(node.state, name)) if (!Object.hasOwn(before, svc)) node.mutate((s, ts) => clearReplicas(s, ts, name, svc));
    for (const [svc, n] of Object.entries(before)) node.mutate((s, ts) => setReplicas(s, ts, name, svc, n));
    this.d.desired.put(name, rec.previous as unknown as Project, this.d.desired.get(name)?.source ?? { origin: "cluster" }, intent, this.d.now());
  }

  pending(name: string, intent: string): { waiting: string[]; failed?: { node: string; message: string; superseded?: boolean } } {
    const node = this.d.node();
    if (!node) return { waiting: [] };
    const members = node.members().filter((m) => m.state === "alive" || m.state === "suspect");
    const rec = getDeploymentState(node.state, name);
    const current = intentFromJson(rec?.intent);
    const waiting: string[] = [];
    let failed: { node: string; message: string; superseded?: boolean } | undefined;
    for (const m of members) {
      const a = getApplied(node.state, name, m.id);
      if (a?.intent === intent && !a.ok) failed ??= { node: m.meta.name, message: a.message ?? "failed" };
      else if (a?.intent !== intent) waiting.push(m.meta.name);
    }
    if (!failed && current?.id !== intent) {
      // Replaced: by its own revert (a node failed it), or by someone else's change.
      if (current?.reverts?.intent === intent) failed = { node: members.find((m) => m.id === current.reverts!.node)?.meta.name ?? current.reverts.node.slice(0, 8), message: current.reverts.reason };
      else if (!rec) failed = { node: "the cluster", message: `deployment ${name} was removed while the change was applied` };
      else failed = { node: "the cluster", message: `a later change to ${name} replaced this one`, superseded: true };
    }
    return failed ? { waiting, failed } : { waiting };
  }

  outdated(name: string): { updating: string[]; unplaceable: string[] } {
    this.d.source.refresh();
    const cp = this.d.source.placement();
    const rec = this.d.desired.get(name);
    if (!cp || !rec) return { updating: [], unplaceable: [] };
    return { updating: replicasNotRunning(name, rec.spec, cp, this.d.source.recordsNow(), false, { pending: false }), unplaceable: unplaceableReplicas(name, cp) };
  }

  async waitRunning(name: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
    const deadline = this.d.now() + timeoutMs;
    for (;;) {
      this.d.source.refresh();
      const cp = this.d.source.placement();
      const rec = this.d.desired.get(name);
      const missing = cp && rec ? replicasNotRunning(name, rec.spec, cp, this.d.source.recordsNow()) : [`${name}: unknown deployment`];
      if (missing.length === 0) return;
      if (signal.aborted) throw new FizzError({ code: "api.aborted", message: "the client went away", status: 499 });
      if (this.d.now() > deadline) {
        throw new FizzError({
          code: "deploy.wait_timeout",
          message: `not every replica of ${name} is running after ${Math.round(timeoutMs / 1000)}s: ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ` and ${missing.length - 10} more` : ""}`,
          hint: "`fizz why <service>` explains the placement; `fizz events` shows what the nodes did",
          status: 504,
        });
      }
      await sleep(this.d.clock, this.d.pollMs);
    }
  }
}
