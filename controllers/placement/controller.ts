/**
 * The placement controller: this node's say in the leaderless placement
 * (source.ts) and the desired state's cluster side (cluster-desired.ts). It
 * hands the reconciler this node's share of every deployment, publishes what
 * this node runs, rolls a failing update back, and on membership steps:
 * publishes the deployments this node had before it joined, and reports what
 * really runs here before a restarted member rejoins (its records from
 * before may be stale).
 */
import { intentFromJson } from "../../core/deploy/intent.ts";
import { containersOnNode, getDeployment as getDeploymentState, listDeployments as listDeploymentsState, removeContainer } from "../../core/state/index.ts";
import type { Timer } from "../../core/clock.ts";
import { ownedBy } from "../../platform/deploy/project.ts";
import type { ClusterAgent } from "../cluster/membership.ts";
import type { Change } from "../changes.ts";
import type { Controller } from "../controller.ts";
import type { AgentContext } from "../context.ts";
import { DesiredStore } from "../deployments/desired.ts";
import type { NodeEngine } from "../deployments/node-engine.ts";
import { recordEvent } from "../event-log.ts";
import { ClusterDesired } from "./cluster-desired.ts";
import { ClusterPlacementSource } from "./source.ts";

export class PlacementController implements Controller {
  readonly name = "placement";
  readonly source: ClusterPlacementSource;
  readonly desired: ClusterDesired;
  private readonly local: DesiredStore;

  constructor(
    private readonly ctx: AgentContext,
    private readonly o: { readonly membership: ClusterAgent; readonly engine: NodeEngine },
  ) {
    const m = o.membership;
    this.local = new DesiredStore(ctx.store);
    this.source = new ClusterPlacementSource({
      node: () => m.settledNode,
      member: () => m.current,
      catchingUp: () => m.catchingUp,
      desired: this.local,
      self: ctx.node,
      emit: (e) => recordEvent(ctx, e),
      wake: (name, at) => this.wake(name, at),
      now: ctx.now,
    });
    this.desired = new ClusterDesired({ node: () => m.settledNode, desired: this.local, source: this.source, self: ctx.node, now: ctx.now, clock: ctx.clock, pollMs: ctx.config.reconcile.wait_poll });
    m.onResumed(() => this.reportAll());
    m.onMember(async () => this.publishLocal());
  }

  private readonly wakes = new Map<string, { at: number; timer: Timer }>();

  /** A reconcile of `name` now, or at `at` (the earliest asked for wins). */
  private wake(name: string, at?: number): void {
    const notify = () => this.ctx.notify({ kind: "deployment", name, source: "cluster" });
    if (at === undefined) return notify();
    const cur = this.wakes.get(name);
    if (cur && cur.at <= at) return;
    cur?.timer.cancel();
    const timer = this.ctx.clock.setTimeout(() => {
      this.wakes.delete(name);
      notify();
    }, Math.max(0, at - this.ctx.now()));
    this.wakes.set(name, { at, timer });
  }

  start(): void {}

  /**
   * A peer's change that carries a new intent is applied here at once (the
   * reconciler's woken pass waits `reconcile.wake_delay` to coalesce bursts
   * of container records; a user's change need not).
   */
  onChange(c: Change): void {
    if (c.kind === "membership") return this.followMembership();
    // Intents travel in deployment records.
    if (c.kind !== "cluster-state" || (c.scope && !c.scope.collections.includes("deployments"))) return;
    const node = this.o.membership.settledNode;
    if (!node) return;
    for (const [name, rec] of listDeploymentsState(node.state)) {
      const id = intentFromJson(rec.intent)?.id;
      if (id === undefined || this.announced.get(name) === id) continue;
      this.announced.set(name, id);
      if (this.local.intent(name)?.id !== id) this.wake(name);
    }
  }

  /**
   * A member joined, came back, died or left: the placement is computed again
   * now, not when the reconcile loop next begins a pass (a pass of another
   * deployment may hold it for minutes: an image pull, a dependency's wait),
   * so `fizz why` and the passes under way see the membership `fizz nodes`
   * shows; each deployment whose share here moved gets its own pass at once.
   */
  private followMembership(): void {
    const node = this.o.membership.settledNode;
    if (!node) return;
    // A member that left (`fizz leave`) took its containers down: its records say nothing true any more, and
    // only it would have removed them, so `fizz ps` listed them as 'unknown (node X left)' on every node, for
    // good. Every node drops them (the same deletions, idempotent); a node that joins again reports afresh.
    // A dead member's stay: it may come back with its containers running.
    for (const m of node.members()) {
      if (m.state !== "left" || m.id === this.ctx.node) continue;
      for (const r of containersOnNode(node.state, m.id)) node.mutate((st, ts) => removeContainer(st, ts, r.deploymentId, r.service, r.index, m.id));
    }
    const names = this.local.names();
    const before = names.map((n) => JSON.stringify(this.source.placed(n)));
    this.source.refresh();
    names.forEach((n, i) => {
      if (JSON.stringify(this.source.placed(n)) !== before[i]) this.wake(n);
    });
  }

  /** The intent each deployment was last woken for (a burst of gossip wakes it once). */
  private readonly announced = new Map<string, string>();

  async stop(): Promise<void> {
    for (const w of this.wakes.values()) w.timer.cancel();
    this.wakes.clear();
  }

  /** Tells the cluster what this node runs of every deployment (a restarted member, before it rejoins). */
  private async reportAll(): Promise<void> {
    for (const name of this.local.names()) {
      const list = await this.o.engine.containers(name);
      this.source.report(name, list.filter((c) => ownedBy(c, this.ctx.node)));
    }
  }

  /** Deployments this node had before it was in a cluster go into the cluster state. */
  private publishLocal(): void {
    const node = this.o.membership.current;
    if (!node) return;
    for (const name of this.local.names()) if (!getDeploymentState(node.state, name)) this.desired.publish(name);
  }
}
