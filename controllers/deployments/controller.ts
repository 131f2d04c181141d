/**
 * The deployments controller: stored deployments converged on this node's
 * engine. It owns the one converge path (reconciler.ts), the deployments API
 * (api.ts: reads from views.ts, changes through changes.ts, each change
 * followed to its end by follow.ts), and wakes the loop on every change that
 * may make a deployment differ from what runs (an engine event, a peer's
 * state change, a membership change): a peer's change to some deployments'
 * records wakes only those (reconciler.ts `wakeFor`). When this node leaves its cluster it
 * takes down its share of the cluster's deployments.
 */
import { healthFromStatus } from "../../core/deploy/actual.ts";
import type { Project } from "../../core/compose/model.ts";
import type { MountSpec } from "../../core/deploy/engine-body.ts";
import { neverReady, neverReadyError, notReady } from "../../core/reconcile/readiness.ts";
import { sleep } from "../../core/clock.ts";
import { FizzError } from "../../core/errors.ts";
import { PER_DEPLOYMENT, type DeltaScope } from "../../core/state/delta-scope.ts";
import { claimDeployments } from "../../core/net/claim-deployments.ts";
import type { RouteModule } from "../../platform/api/router.ts";
import { deploymentRoutes } from "../../platform/api/routes-deployments.ts";
import { containerRoutes } from "../../platform/api/routes-containers.ts";
import { userStopRoutes } from "../../platform/api/routes-user-stops.ts";
import { prepareProject } from "../../platform/deploy/project.ts";
import { waitTimeout } from "../../platform/deploy/wait-healthy.ts";
import type { Change } from "../changes.ts";
import type { ClusterAgent } from "../cluster/membership.ts";
import type { Controller } from "../controller.ts";
import type { AgentContext } from "../context.ts";
import { recordEvent } from "../event-log.ts";
import type { PlacementController } from "../placement/controller.ts";
import type { DeploymentImageHooks } from "../registry/controller.ts";
import { DeploymentsApi } from "./api.ts";
import { DeploymentChanges } from "./changes.ts";
import { ClusterViews } from "./cluster-views.ts";
import { DesiredStore } from "./desired.ts";
import { Follower } from "./follow.ts";
import { PendingReadiness } from "./pending-readiness.ts";
import type { NodeEngine } from "./node-engine.ts";
import { Reconciler, type ReconcilerOptions } from "./reconciler.ts";
import { DeploymentViews } from "./views.ts";
import { UserStops } from "./user-stops.ts";
import { unhonouredByEngine } from "../../core/engine/unhonoured.ts";

export interface DeploymentsControllerDeps {
  readonly engine: NodeEngine;
  /** In a cluster (or able to become one): membership and placement. */
  readonly cluster?: { readonly membership: ClusterAgent; readonly placement: PlacementController };
  /** How often waits (`up --wait`, a cluster-wide change) look again (ms). */
  readonly pollMs?: number;
  /** The registry: images pinned at deploy and pulled through it. */
  readonly images?: DeploymentImageHooks;
  /** Writes a container's secrets and configs before it is created (the secrets controller). */
  readonly secrets?: {
    prepareContainer(project: Project, service: string, container: string): Promise<MountSpec[]>;
    prepareStart?(project: Project, service: string, container: string): Promise<void>;
    /** In the pass that applies a user's change: delivered files up to date (a rotated config's restart) before it is reported done. */
    filesCurrent?(project: Project, versions?: Readonly<Record<string, number>>): Promise<void>;
    /** The stored values' versions a change is made with (recorded in its intent). */
    versions?(project: Project): Record<string, number>;
  };
  /** Takes a container out of ingress rotation and lets its requests finish before it stops (the ingress controller). */
  readonly drain?: { beforeStop(project: Project, container: string): Promise<void> };
  /** Refuses a deployment that claims what another holds (the ingress controller: ports, hosts and paths). */
  readonly admit?: { admit(name: string, project: Project): void };
  /**
   * Cluster networks (the mesh controller): addresses and the mesh's shape
   * before each plan, and a container's bridges routed before it is created.
   */
  readonly network?: { shape: NonNullable<ReconcilerOptions["network"]>; prepareContainer(): Promise<unknown> };
  /** The cluster resolver listens on a container's networks before it is created (the dns controller). */
  readonly resolver?: { prepareContainer(): Promise<unknown> };
}

export class DeploymentsController implements Controller {
  readonly name = "deployments";
  readonly desired: DesiredStore;
  readonly reconciler: Reconciler;
  /** Per container being created: the mesh and resolver work its start waits for. */
  private readonly readying = new PendingReadiness();
  readonly changes: DeploymentChanges;
  /** What the API serves. */
  readonly api: DeploymentsApi;
  readonly routes: readonly RouteModule[];

  constructor(
    private readonly ctx: AgentContext,
    private readonly d: DeploymentsControllerDeps,
  ) {
    const { config, node, fizzVersion, metrics, logger } = ctx;
    const placement = d.cluster?.placement;
    const emit = (e: Parameters<typeof recordEvent>[1]) => recordEvent(ctx, e);
    const pollMs = d.pollMs ?? config.reconcile.wait_poll;
    this.desired = new DesiredStore(ctx.store);
    const follower = new Follower({ emit, waitReady: (n, t, s) => this.waitReady(n, t, s, pollMs), ...(placement ? { cluster: placement.desired } : {}), now: ctx.now, clock: ctx.clock, pollMs });
    this.reconciler = new Reconciler(d.engine, this.desired, {
      node,
      fizzVersion,
      intervalMs: config.reconcile.interval,
      parallelism: config.reconcile.parallelism,
      wakeDelayMs: config.reconcile.wake_delay,
      onEvent: emit,
      onPass: (seconds, deployment, error, phases) => {
        logger.debug({ deployment, seconds, phases }, "reconcile pass");
        metrics.observeReconcile(seconds, error);
        this.sample();
      },
      onReconciled: (name, generation, failed) => ctx.notify({ kind: "reconciled", name, generation, failed }),
      onApplied: (a) => this.changes.applied(a),
      onRemoved: (name) => ctx.notify({ kind: "deployment-removed", name }),
      ...(placement ? { placement: placement.source } : {}),
      clock: ctx.clock,
      ...(d.images ? { images: d.images } : {}),
      ...(d.secrets || d.network || d.resolver
        ? {
            prepareContainer: async (p: Project, svc: string, c: string) => {
              // The mesh routes a new network's bridge and the resolver listens on its gateway before a container on
              // it starts. The engine needs neither to create the container, so both run while it does.
              if (d.network || d.resolver) this.readying.add(c, this.readyNetworks(c));
              return d.secrets ? d.secrets.prepareContainer(p, svc, c) : [];
            },
            prepareStart: async (p: Project, svc: string, c: string) => {
              await this.readying.take(c);
              await d.secrets?.prepareStart?.(p, svc, c);
            },
          }
        : {}),
      ...(d.secrets?.filesCurrent ? { filesCurrent: (p: Project, v?: Readonly<Record<string, number>>) => d.secrets!.filesCurrent!(p, v) } : {}),
      ...(d.network ? { network: d.network.shape } : {}),
      ...(d.drain ? { beforeStop: (p: Project, c: string) => d.drain!.beforeStop(p, c) } : {}),
      now: ctx.now,
    });
    this.changes = new DeploymentChanges(ctx, this.desired, this.reconciler, follower, placement?.desired, d.images, d.admit, d.secrets?.versions ? (p: Project) => d.secrets!.versions!(p) : undefined, (p: Project) => unhonouredByEngine(p, { name: d.engine.name, apiVersion: d.engine.apiVersion }));
    const views = new DeploymentViews(d.engine, this.desired, ctx.store, {
      node,
      followPoll: ctx.config.reconcile.wait_poll,
      placement: () => (placement?.source.active() ? placement.source.placement() : undefined),
      ...(placement ? { records: () => placement.source.recordsNow().values() } : {}),
    });
    const membership = d.cluster?.membership;
    const clusterViews = membership && placement ? new ClusterViews(
            () => membership.current,
            () => placement.source.active(),
            node,
            (deployment, service) => (placement.source.active() ? placement.source.placement()?.owners(deployment, service).size : undefined),
          )
        : undefined;
    this.api = new DeploymentsApi(views, this.changes, clusterViews);
    const stops = new UserStops(this.desired, (n) => this.reconciler.settle(n));
    this.routes = [deploymentRoutes(this.api), containerRoutes(this.api), userStopRoutes(stops)];
    // Leaving: this node's share moves to the others; nothing of the cluster's stays here.
    membership?.onLeft(async () => {
      for (const rec of this.desired.list()) {
        this.desired.delete(rec.name);
        follower.removed(rec.name);
        const r = await this.reconciler.teardown(rec.name, rec.spec, { volumes: false });
        if (!r.ok) emit({ type: "reconcile.failed", deployment: rec.name, message: `taking down after leaving the cluster: ${r.error?.message ?? "failed"}` });
      }
    });
  }

  start(): void {
    this.reconciler.start();
    this.sample();
  }

  stop(): Promise<void> {
    return this.reconciler.stop();
  }

  /** The mesh routes, and the resolver serves, the networks a container is about to join (before it starts). */
  private async readyNetworks(container: string): Promise<void> {
    const t0 = this.ctx.now();
    await this.d.network?.prepareContainer();
    const t1 = this.ctx.now();
    await this.d.resolver?.prepareContainer();
    this.ctx.logger.debug({ container, meshMs: t1 - t0, dnsMs: this.ctx.now() - t1 }, "container's networks ready");
  }

  onChange(c: Change): void {
    switch (c.kind) {
      case "engine":
      case "membership":
        this.reconciler.wake();
        return;
      case "cluster-state": {
        // A delta about some deployments' records or networks wakes a pass over those (and any whose share here
        // moved); one about nodes, the registry, secrets or ingress may concern any deployment.
        const names = this.concernedBy(c.scope);
        if (names) {
          if (c.scope?.collections.includes("deployments")) this.ctx.logger.debug({ deployments: [...names], collections: c.scope.collections }, "a peer's change to deployments wakes a pass over them");
          // Only peers' container records: a pass of each looks first whether they matter to it here.
          if (c.scope?.collections.length === 1 && c.scope.collections[0] === "containers") this.reconciler.wakeForRecords(names);
          else this.reconciler.wakeFor(names);
        } else {
          this.ctx.logger.debug({ collections: c.scope?.collections }, "a peer's change wakes a pass over every deployment");
          this.reconciler.wake();
        }
        return;
      }
      case "deployment":
        if (c.source === "cluster") this.reconciler.kick(c.name);
        return;
      case "deployment-removed":
      case "reconciled":
        return;
    }
  }

  /** The deployments a peer's delta concerns; undefined: any may be. */
  private concernedBy(scope: DeltaScope | undefined): readonly string[] | undefined {
    if (!scope) return undefined;
    let names = scope.deployments;
    for (const k of scope.collections) {
      if (PER_DEPLOYMENT.has(k)) continue;
      const node = k === "ips" ? this.d.cluster?.membership.current : undefined;
      const claimed = node ? claimDeployments(node.state.ips, scope.ips) : undefined;
      if (!claimed) return undefined;
      names = [...names, ...claimed];
    }
    return names;
  }

  /** Single node `up --wait`: until every container runs, healthy where it has a check. */
  private async waitReady(name: string, timeoutMs: number, signal: AbortSignal, pollMs: number): Promise<void> {
    const deadline = this.ctx.now() + timeoutMs;
    for (;;) {
      const rec = this.desired.get(name);
      if (!rec) throw new FizzError({ code: "deploy.removed", message: `deployment ${name} was removed while waiting for it`, status: 409 });
      const prepared = prepareProject(rec.spec, { hostEnv: {}, readText: () => undefined, replicas: this.desired.replicas(name) });
      const actual = (await this.d.engine.observe(name)).actual;
      const missing = notReady(prepared.desired, actual);
      if (!missing.length) return;
      const never = neverReady(prepared.desired, actual);
      if (never.length) throw neverReadyError(never);
      if (signal.aborted) throw new FizzError({ code: "api.aborted", message: "the client went away", status: 499 });
      if (this.ctx.now() >= deadline) throw waitTimeout(timeoutMs, missing);
      await sleep(this.ctx.clock, pollMs);
    }
  }

  private sampledAt = -Infinity;

  /** Container counts by state and health, for the metrics (at most once a second: every pass would ask). */
  private sample(): void {
    const now = this.ctx.now();
    if (now - this.sampledAt < 1000) return;
    this.sampledAt = now;
    void this.d.engine
      .managed()
      .then((list) => this.ctx.metrics.setContainers(list.map((c) => ({ state: String(c.State).toLowerCase(), health: healthFromStatus(c.Status) }))))
      .catch(() => {});
  }
}
