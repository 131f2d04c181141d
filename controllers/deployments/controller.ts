/**
 * The deployments controller: stored deployments converged on this node's
 * engine. It owns the reconcile loop (reconciler.ts) and the deployments API
 * (engine-backend.ts, and cluster-backend.ts in a cluster). It wakes the loop
 * on every change that may make a deployment differ from what runs (an
 * engine event, a peer's state change, a membership change), and when this
 * node leaves its cluster it takes down its share of the cluster's
 * deployments.
 */
import { MANAGED_FILTER } from "../../core/labels.ts";
import type { Project } from "../../core/compose/model.ts";
import type { MountSpec } from "../../core/deploy/engine-body.ts";
import { healthFromStatus } from "../../core/deploy/actual.ts";
import type { AgentBackend } from "../../platform/api/backend.ts";
import type { RouteModule } from "../../platform/api/router.ts";
import { deploymentRoutes } from "../../platform/api/routes-deployments.ts";
import { containerRoutes } from "../../platform/api/routes-containers.ts";
import type { Engine } from "../../platform/engine/index.ts";
import type { Change } from "../changes.ts";
import type { ClusterAgent } from "../cluster/membership.ts";
import type { Controller } from "../controller.ts";
import type { AgentContext } from "../context.ts";
import { recordEvent } from "../event-log.ts";
import type { PlacementController } from "../placement/controller.ts";
import type { DeploymentImageHooks } from "../registry/controller.ts";
import { clusterBackend } from "./cluster-backend.ts";
import { EngineBackend } from "./engine-backend.ts";
import { Reconciler } from "./reconciler.ts";

export interface DeploymentsControllerDeps {
  readonly engine: Engine;
  /** In a cluster (or able to become one): membership and placement. */
  readonly cluster?: { readonly membership: ClusterAgent; readonly placement: PlacementController };
  /** The registry: images pinned at deploy and pulled through it. */
  readonly images?: DeploymentImageHooks;
  /** Writes a container's secrets and configs before it is created (the secrets controller). */
  readonly secrets?: { prepareContainer(project: Project, service: string, container: string): Promise<MountSpec[]> };
  /** Takes a container out of ingress rotation and lets its requests finish before it stops (the ingress controller). */
  readonly drain?: { beforeStop(project: Project, container: string): Promise<void> };
  /** Refuses a deployment that claims what another holds (the ingress controller: ports, hosts and paths). */
  readonly admit?: { admit(name: string, project: Project): void };
}

export class DeploymentsController implements Controller {
  readonly name = "deployments";
  readonly reconciler: Reconciler;
  readonly backend: EngineBackend;
  /** What the API serves: the engine backend, seen cluster-wide when there is a cluster. */
  readonly api: AgentBackend;
  readonly routes: readonly RouteModule[];

  constructor(
    private readonly ctx: AgentContext,
    private readonly d: DeploymentsControllerDeps,
  ) {
    const { config, store, node, fizzVersion, metrics, logger } = ctx;
    const source = d.cluster?.placement.source;
    const emit = (e: Parameters<typeof recordEvent>[1]) => recordEvent(ctx, e);
    const removed = (name: string) => ctx.notify({ kind: "deployment-removed", name });
    this.reconciler = new Reconciler(d.engine, store, {
      node,
      fizzVersion,
      intervalMs: config.reconcile.interval,
      parallelism: config.reconcile.parallelism,
      wakeDelayMs: config.reconcile.wake_delay,
      onEvent: emit,
      onPass: (seconds, deployment, error) => {
        logger.debug({ deployment, seconds }, "reconcile pass");
        metrics.observeReconcile(seconds, error);
        this.sample();
      },
      onReconciled: (name, generation, failed) => ctx.notify({ kind: "reconciled", name, generation, failed }),
      onRemoved: removed,
      ...(source ? { placement: source } : {}),
      ...(d.images ? { images: d.images } : {}),
      ...(d.secrets ? { prepareContainer: (p: Project, svc: string, c: string) => d.secrets!.prepareContainer(p, svc, c) } : {}),
      ...(d.drain ? { beforeStop: (p: Project, c: string) => d.drain!.beforeStop(p, c) } : {}),
      now: ctx.now,
    });
    this.backend = new EngineBackend({
      engine: d.engine,
      store,
      reconciler: this.reconciler,
      node,
      fizzVersion,
      emit,
      onRemoved: removed,
      ...(source ? { cluster: source } : {}),
      ...(d.images ? { images: d.images } : {}),
      ...(d.secrets ? { prepareContainer: (p: Project, svc: string, c: string) => d.secrets!.prepareContainer(p, svc, c) } : {}),
      ...(d.drain ? { beforeStop: (p: Project, c: string) => d.drain!.beforeStop(p, c) } : {}),
      ...(d.admit ? { admit: (n: string, p: Project) => d.admit!.admit(n, p) } : {}),
      now: ctx.now,
    });
    this.api = d.cluster ? clusterBackend(this.backend, d.cluster.membership, source) : this.backend;
    this.routes = [deploymentRoutes(this.api), containerRoutes(this.api)];
    // Leaving: this node's share moves to the others; nothing of the cluster's stays here.
    d.cluster?.membership.onLeft(async () => {
      for (const dep of store.listDeployments()) await this.backend.deleteDeployment(dep.name, { volumes: false }, new AbortController().signal);
    });
  }

  start(): void {
    this.reconciler.start();
    this.sample();
  }

  stop(): Promise<void> {
    return this.reconciler.stop();
  }

  onChange(c: Change): void {
    switch (c.kind) {
      case "engine":
      case "membership":
      case "cluster-state":
      case "deployment":
        this.reconciler.wake();
        return;
      case "deployment-removed":
      case "reconciled":
        return;
    }
  }

  /** Container counts by state and health, for the metrics. */
  private sample(): void {
    void this.d.engine.containers
      .list({ all: true, labels: [...MANAGED_FILTER] })
      .then((list) => this.ctx.metrics.setContainers(list.map((c) => ({ state: String(c.State).toLowerCase(), health: healthFromStatus(c.Status) }))))
      .catch(() => {});
  }
}
