/**
 * A compose service as the scheduler sees it: mode, replica count,
 * `deploy.placement` (constraints, spread preferences, max_replicas_per_node),
 * `deploy.resources.reservations`, the service's and the project's `x-fizz`
 * placement, and the spec hash used to keep placements of unchanged replicas.
 */
import type { Project, Service } from "../compose/model.ts";
import { configHashOf } from "../compose/hash.ts";
import { withResolvedEnvironment } from "../deploy/env.ts";
import { withoutIngressPorts } from "../ingress/routes.ts";
import { replicaCount } from "../compose/query.ts";
import type { SchedService, XFizzPlacement } from "../scheduler/types.ts";
import { DEFAULT_ROLLOUT, type RolloutConfig } from "./rollout.ts";

/**
 * A fixed host port published in `mode: host` (`{target: 80, published: 8080,
 * mode: host}`) can be bound once per node: two replicas of the service on one
 * node would fail to start. Such a service runs at most one replica per node,
 * as in Swarm's host-mode publishing. Ingress-mode ports (the default) are
 * served by every node's ingress, not bound by the replicas (issue 13).
 */
function fixedHostPort(s: Service): boolean {
  return s.ports.some((p) => p.mode === "host" && p.published !== undefined && p.published !== "" && !p.published.includes("-"));
}

function xfizzPlacement(project: Project, s: Service): XFizzPlacement | undefined {
  const top = project.x_fizz?.placement;
  const own = s.x_fizz?.placement;
  const constraints = [...(top?.constraints ?? []), ...(own?.constraints ?? [])];
  const prefer = [...(top?.prefer ?? []), ...(own?.prefer ?? [])];
  const asked = own?.max_per_node ?? s.deploy?.placement?.max_replicas_per_node ?? top?.max_per_node;
  const maxPerNode = fixedHostPort(s) ? Math.min(asked ?? 1, 1) : asked;
  const spread = s.x_fizz?.spread;
  if (!constraints.length && !prefer.length && maxPerNode === undefined && spread === undefined) return undefined;
  return {
    ...(constraints.length ? { constraints } : {}),
    ...(prefer.length ? { prefer } : {}),
    ...(maxPerNode !== undefined && maxPerNode > 0 ? { maxPerNode } : {}),
    ...(spread !== undefined ? { spread } : {}),
  };
}

/**
 * The scheduler's view of every service of a deployment. Jobs
 * (`replicated-job`, `global-job`) are scheduled like their long-running
 * counterparts: the planner knows a finished job from a failed one.
 */
export function schedServices(deploymentId: string, project: Project, replicas: ReadonlyMap<string, number>): SchedService[] {
  return Object.values(project.services).map((s) => {
    const mode = s.deploy?.mode === "global" || s.deploy?.mode === "global-job" ? "global" : "replicated";
    const r = s.deploy?.resources?.reservations;
    const xfizz = xfizzPlacement(project, s);
    return {
      deploymentId,
      name: s.name,
      mode,
      replicas: replicaCount(s, replicas.get(s.name)),
      constraints: s.deploy?.placement?.constraints ?? [],
      preferences: s.deploy?.placement?.preferences ?? [],
      reservations: { cpus: r?.cpus ?? 0, memoryBytes: r?.memory ?? 0 },
      ...(xfizz ? { xfizz } : {}),
      specHash: clusterConfigHash(s),
    };
  });
}

/**
 * The config hash a cluster node labels this service's containers with: the
 * service as the agent prepares it (environment files were folded in when the
 * deployment was accepted; published ports are the ingress's, not the
 * container's; platform/deploy/project.ts). Placement compares replicas' hashes
 * with it, so the two must be made the same way.
 */
export function clusterConfigHash(s: Service): string {
  return configHashOf(withoutIngressPorts(withResolvedEnvironment(s, () => undefined, {})));
}

const NS_PER_MS = 1e6;

/**
 * How a service's replicas move to a new spec: Fizz's defaults, then the
 * project's `x-fizz.update`, the service's `x-fizz.update`, and last the
 * compose `deploy.update_config` fields that are set. `failure_action`
 * defaults to `rollback` (Swarm's default is `pause`, which leaves a
 * half-updated service behind until someone notices).
 */
export function rolloutConfigOf(project: Project, s: Service): RolloutConfig {
  let c: RolloutConfig = DEFAULT_ROLLOUT;
  for (const u of [project.x_fizz?.update, s.x_fizz?.update]) {
    if (!u) continue;
    c = { ...c, parallelism: u.parallelism, delayMs: u.delay / NS_PER_MS, order: u.order, failureAction: u.failure_action };
  }
  const d = s.deploy?.update_config;
  if (d) {
    c = {
      ...c,
      ...(d.parallelism !== undefined ? { parallelism: d.parallelism } : {}),
      ...(d.delay !== undefined ? { delayMs: d.delay / NS_PER_MS } : {}),
      ...(d.monitor !== undefined ? { monitorMs: d.monitor / NS_PER_MS } : {}),
      ...(d.failure_action !== undefined ? { failureAction: d.failure_action } : {}),
      ...(d.order !== undefined ? { order: d.order } : {}),
    };
  }
  return c;
}
