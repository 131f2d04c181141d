/**
 * Which deployments the ingress has anything to do with: those with a route
 * (a published port or an x-fizz.ingress HTTP route) in the table, refused
 * ones included (a conflict is reported and clears when the other side goes).
 * The ingress controller skips changes about any other deployment's replicas:
 * a deploy of a service that publishes nothing brings dozens of them (each
 * container's create and start, every peer's records), and each pass asks the
 * engine for its containers.
 */
import type { DeltaScope } from "../state/delta-scope.ts";
import type { RouteTable } from "./routes.ts";

export function routedDeployments(table: RouteTable): Set<string> {
  const out = new Set<string>();
  for (const r of table.l4) out.add(r.service.deployment);
  for (const l of table.http) for (const r of l.routes) out.add(r.service.deployment);
  for (const c of table.conflicts) {
    out.add(c.kept.service.deployment);
    out.add(c.refused.service.deployment);
  }
  return out;
}

/**
 * Whether a peer's state change can change the ingress plan, given the
 * deployments routed after the last pass: any change to specs (a deployment
 * may gain or lose a route), drain marks and certificates (ingress) or nodes;
 * a change to replicas' records only when one of them is a routed deployment's.
 * An unknown scope may be anything.
 */
export function deltaConcernsIngress(scope: DeltaScope | undefined, routed: ReadonlySet<string>): boolean {
  if (scope === undefined) return true;
  const cs = scope.collections;
  if (cs.includes("deployments") || cs.includes("ingress") || cs.includes("nodes")) return true;
  return cs.includes("containers") && scope.deployments.some((d) => routed.has(d));
}
