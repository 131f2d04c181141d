/**
 * The /v1 API as route modules: each resource's routes live in their own
 * file (routes-<resource>.ts) and export a function that returns a
 * `RouteModule`; the agent's composition root mounts them with one line each
 * (a controller lists its modules in `Controller.routes`). Every input is
 * checked in the module (names, query parameters, body shapes) so the code
 * behind it receives typed, valid values; see api/openapi.yaml.
 */
import type { AgentBackend } from "./backend.ts";
import type { EventFeed } from "./events.ts";
import type { ClusterApi } from "./cluster-api.ts";
import { Router, type RouteModule } from "./router.ts";
import { systemRoutes, type SystemInfo } from "./routes-system.ts";
import { deploymentRoutes } from "./routes-deployments.ts";
import { containerRoutes } from "./routes-containers.ts";
import { eventRoutes } from "./routes-events.ts";
import { clusterRoutes } from "./routes-cluster.ts";

export type { RouteModule };

/** A router with these modules mounted, in order. */
export function mountRoutes(modules: readonly RouteModule[]): Router {
  const r = new Router();
  for (const m of modules) m(r);
  return r;
}

export interface RoutesOptions {
  readonly backend: AgentBackend;
  readonly events: EventFeed;
  /** Serves GET /metrics when given. */
  readonly metrics?: SystemInfo["metrics"];
  /** What GET /v1/info reports (node id, version, engine…). */
  readonly info?: SystemInfo["info"];
  /** Cluster membership and keys (/v1/cluster/…); without it those routes answer 503. */
  readonly cluster?: ClusterApi | undefined;
  /** More modules (a capability's own routes). */
  readonly extra?: readonly RouteModule[];
}

/** The whole API over one backend (tests and embedders; the agent mounts its controllers' modules itself). */
export function createRoutes(o: RoutesOptions): Router {
  return mountRoutes([
    systemRoutes({ metrics: o.metrics, info: o.info }),
    deploymentRoutes(o.backend),
    containerRoutes(o.backend),
    eventRoutes(o.events),
    clusterRoutes(o.cluster),
    ...(o.extra ?? []),
  ]);
}
