/**
 * The placement controller: this node's say in the leaderless placement
 * (source.ts). It hands the reconciler this node's share of every
 * deployment, publishes what this node runs, rolls a failing update back,
 * and on membership steps: publishes the deployments this node had before it
 * joined, and reports what really runs here before a restarted member
 * rejoins (its records from before may be stale).
 */
import { getDeployment as getDeploymentState } from "../../core/state/index.ts";
import type { Engine } from "../../platform/engine/index.ts";
import { listProjectContainers, ownedBy } from "../../platform/deploy/project.ts";
import type { ClusterAgent } from "../cluster/membership.ts";
import type { Controller } from "../controller.ts";
import type { AgentContext } from "../context.ts";
import { recordEvent } from "../event-log.ts";
import { ClusterPlacementSource } from "./source.ts";

export class PlacementController implements Controller {
  readonly name = "placement";
  readonly source: ClusterPlacementSource;

  constructor(
    private readonly ctx: AgentContext,
    private readonly o: { readonly membership: ClusterAgent; readonly engine: Engine },
  ) {
    const m = o.membership;
    this.source = new ClusterPlacementSource({
      node: () => m.settledNode,
      member: () => m.current,
      catchingUp: () => m.catchingUp,
      store: ctx.store,
      self: ctx.node,
      emit: (e) => recordEvent(ctx, e),
      wake: (name) => ctx.notify({ kind: "deployment", name, source: "cluster" }),
      now: ctx.now,
    });
    m.onResumed(() => this.reportAll());
    m.onMember(async () => this.publishLocal());
  }

  start(): void {}

  async stop(): Promise<void> {}

  /** Tells the cluster what this node runs of every deployment (a restarted member, before it rejoins). */
  private async reportAll(): Promise<void> {
    for (const d of this.ctx.store.listDeployments()) {
      const list = await listProjectContainers(this.o.engine, d.name);
      this.source.report(d.name, list.filter((c) => ownedBy(c, this.ctx.node)));
    }
  }

  /** Deployments this node had before it was in a cluster go into the cluster state. */
  private publishLocal(): void {
    const node = this.o.membership.current;
    if (!node) return;
    for (const d of this.ctx.store.listDeployments()) if (!getDeploymentState(node.state, d.name)) this.source.publish(d.name);
  }
}
