/**
 * Which replicas take ingress traffic, and when a stopping one may stop.
 * A replica is a backend once it runs and is healthy (or has no
 * healthcheck); one its node is about to stop is marked draining in the
 * replicated state first, so every node stops sending it new work; the node
 * stops it once the mark had time to spread and its own in-flight requests
 * finished, or when the drain bound passes, whichever comes first.
 */

export interface ReplicaView {
  readonly status: "pending" | "running" | "healthy" | "unhealthy" | "stopped" | "failed";
  readonly health: "none" | "starting" | "healthy" | "unhealthy";
  /** Set by the replica's node before it stops the container. */
  readonly draining: boolean;
  /** The node is alive in the membership (a dead node's replicas take nothing). */
  readonly nodeAlive: boolean;
}

export type ReplicaRole = "ready" | "draining" | "out";

export function replicaRole(r: ReplicaView): ReplicaRole {
  if (!r.nodeAlive) return "out";
  if (r.status !== "running" && r.status !== "healthy") return "out";
  if (r.health === "starting" || r.health === "unhealthy") return "out";
  return r.draining ? "draining" : "ready";
}

export interface DrainPolicy {
  /** Time for the draining mark to reach every node (gossip dissemination), ms. */
  readonly settleMs: number;
  /** Upper bound on the whole drain, ms. */
  readonly timeoutMs: number;
}

export const DEFAULT_DRAIN: DrainPolicy = { settleMs: 2_000, timeoutMs: 10_000 };

export type DrainState =
  | { readonly kind: "wait"; readonly until: number; readonly why: string }
  | { readonly kind: "done"; readonly why: "drained" | "timeout" };

export function drainState(markedAt: number, now: number, inFlight: number, p: DrainPolicy = DEFAULT_DRAIN): DrainState {
  const settle = Math.min(p.settleMs, p.timeoutMs);
  if (now >= markedAt + p.timeoutMs) return { kind: "done", why: inFlight === 0 ? "drained" : "timeout" };
  if (now < markedAt + settle) return { kind: "wait", until: markedAt + settle, why: "the draining mark is spreading to every node" };
  if (inFlight > 0) return { kind: "wait", until: markedAt + p.timeoutMs, why: `${inFlight} request(s) in flight` };
  return { kind: "done", why: "drained" };
}
