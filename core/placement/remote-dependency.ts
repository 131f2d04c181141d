/**
 * `depends_on` conditions held against the whole cluster: whether a
 * dependency's condition is met, judged from the container records every
 * node publishes (core/state), so it holds when the dependency runs on
 * another node. Compose's meanings:
 *
 *   service_started                a replica has started (running, healthy,
 *                                  unhealthy, or already finished)
 *   service_healthy                at least one replica, and every replica
 *                                  the cluster reports is healthy (running
 *                                  replicas with no healthcheck fail it)
 *   service_completed_successfully at least one replica, and every one has
 *                                  exited 0; one that exited non-zero fails
 *                                  the dependent (as Compose does)
 */
import type { ContainerRecord } from "../state/schema.ts";

export type DependsCondition = "service_started" | "service_healthy" | "service_completed_successfully";

export type DependencyVerdict =
  | { readonly kind: "met" }
  | { readonly kind: "waiting"; readonly reason: string }
  | { readonly kind: "failed"; readonly reason: string };

const STARTED = new Set<ContainerRecord["status"]>(["running", "healthy", "unhealthy", "stopped"]);

function where(rs: readonly ContainerRecord[]): string {
  const nodes = [...new Set(rs.map((r) => r.nodeId))].sort();
  return nodes.length ? ` (on ${nodes.join(", ")})` : "";
}

/** `records`: every node's records of the dependency service (listContainers(state, deployment, service)). */
export function dependencyVerdict(service: string, condition: DependsCondition, records: readonly ContainerRecord[]): DependencyVerdict {
  if (records.length === 0) return { kind: "waiting", reason: `${service} has no replica in the cluster yet` };
  switch (condition) {
    case "service_started":
      return records.some((r) => STARTED.has(r.status)) ? { kind: "met" } : { kind: "waiting", reason: `${service} has not started yet${where(records)}` };
    case "service_healthy": {
      if (records.every((r) => r.status === "running" && r.health === "none")) {
        return { kind: "failed", reason: `service ${service} has no healthcheck, so it can never become healthy${where(records)}` };
      }
      const bad = records.filter((r) => r.status !== "healthy");
      return bad.length === 0 ? { kind: "met" } : { kind: "waiting", reason: `${bad.length} of ${records.length} replicas of ${service} are not healthy yet${where(bad)}` };
    }
    case "service_completed_successfully": {
      const failed = records.filter((r) => r.status === "failed");
      if (failed.length) return { kind: "failed", reason: `${service} exited with a non-zero code${where(failed)}` };
      const left = records.filter((r) => r.status !== "stopped");
      return left.length === 0 ? { kind: "met" } : { kind: "waiting", reason: `${left.length} of ${records.length} replicas of ${service} have not completed yet${where(left)}` };
    }
  }
}
