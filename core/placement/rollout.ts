/**
 * Rolling updates without a coordinator. Every node looks at the same cluster
 * state (one record per replica: its spec hash and health) and derives the
 * same answer: which replicas may move to the new spec now. Each node then
 * acts on its own replicas only.
 *
 * The rule, per replicated service with target spec H and batch size p
 * (`update_config.parallelism`, 0 = all):
 *   - a replica on H that is healthy (or running, without a healthcheck) for
 *     `monitor` is done; on H but not yet done (starting, or missing: being
 *     created) it is in flight; on H and unhealthy or exited it failed;
 *   - replicas on another spec are to do. Those that serve nothing (exited,
 *     unhealthy) are replaced at once: it costs no capacity. Of the others,
 *     the lowest `p − in flight` indices go, once `delay` has passed since the
 *     last replica finished;
 *   - a failure stops new batches; `failure_action` says what follows:
 *     `rollback` (Fizz's default) returns the service to its previous spec,
 *     `pause` waits for a new deploy, `continue` counts the failure as done.
 *
 * A stale view only ever holds back more: a node that has not yet heard that
 * replica 2 started still sees it to do, ahead of its own replica 3. So at
 * most p replicas are down at a time, cluster-wide, with no locks.
 */
import type { ReplicaRecord } from "./replica-record.ts";

export interface RolloutConfig {
  /** Replicas updated at a time; 0 means all at once (compose's meaning). */
  readonly parallelism: number;
  readonly delayMs: number;
  readonly monitorMs: number;
  readonly failureAction: "rollback" | "pause" | "continue";
  readonly order: "stop-first" | "start-first";
}

export const DEFAULT_ROLLOUT: RolloutConfig = { parallelism: 1, delayMs: 0, monitorMs: 5_000, failureAction: "rollback", order: "stop-first" };

/** One replica as the rollout sees it: the record of the node it is placed on (undefined: not created yet). */
export interface RolloutReplica {
  readonly index: number;
  readonly record?: Pick<ReplicaRecord, "status" | "specHash"> & { readonly startedAt?: number };
}

export interface RolloutInput {
  readonly target: string;
  readonly replicas: readonly RolloutReplica[];
  readonly config: RolloutConfig;
  readonly now: number;
  /**
   * An update to `target` is under way: this node saw replicas still on an
   * older spec and not yet every replica through its monitor on this one. Its
   * last batch failing is the update failing (`failure_action` applies);
   * without it, a replica failing on a settled spec is the health monitor's.
   */
  readonly underway?: boolean;
}

export type RolloutPhase = "settled" | "updating" | "paused" | "rollback";

export interface RolloutDecision {
  readonly phase: RolloutPhase;
  /** Replicas on an older spec that must keep it for now. */
  readonly hold: ReadonlySet<number>;
  /** Replicas on the target spec that failed. */
  readonly failed: readonly number[];
  readonly done: number;
  readonly inFlight: number;
  readonly reason?: string;
  /** When time alone may change this decision (a replica's monitor ends, a delay passes): decide again then. */
  readonly nextAt?: number;
}

const serving = (s: ReplicaRecord["status"]): boolean => s === "healthy" || s === "running";
const broken = (s: ReplicaRecord["status"]): boolean => s === "unhealthy" || s === "failed";

export function decideRollout(input: RolloutInput): RolloutDecision {
  const { target, config, now } = input;
  const sorted = [...input.replicas].sort((a, b) => a.index - b.index);
  const p = config.parallelism > 0 ? Math.floor(config.parallelism) : sorted.length;
  const todo: RolloutReplica[] = [];
  const failed: number[] = [];
  let done = 0;
  let inFlight = 0;
  let lastDone = -Infinity;
  let nextAt = Infinity;
  for (const r of sorted) {
    const rec = r.record;
    if (!rec) {
      inFlight++;
      continue;
    }
    if (rec.specHash !== undefined && rec.specHash !== target) {
      todo.push(r);
      continue;
    }
    if (broken(rec.status)) {
      failed.push(r.index);
      if (config.failureAction === "continue") done++;
      continue;
    }
    const since = rec.startedAt ?? -Infinity;
    if (serving(rec.status) && now - since >= config.monitorMs) {
      done++;
      lastDone = Math.max(lastDone, since + config.monitorMs);
    } else {
      inFlight++;
      if (serving(rec.status)) nextAt = Math.min(nextAt, since + config.monitorMs);
    }
  }
  const hold = new Set<number>();
  const base = { failed, done, inFlight, ...(nextAt < Infinity ? { nextAt } : {}) };
  // Nothing left on an older spec: the last batch (a one-replica service's only one) failing still fails the update.
  if (todo.length === 0 && !(input.underway && failed.length > 0 && config.failureAction !== "continue")) return { phase: "settled", hold, ...base };

  if (failed.length > 0 && config.failureAction !== "continue") {
    for (const r of todo) hold.add(r.index);
    const what = `replica ${failed.map((i) => i + 1).join(", ")} failed on the new spec`;
    return config.failureAction === "rollback"
      ? { phase: "rollback", hold, ...base, reason: `${what}; rolling back` }
      : { phase: "paused", hold, ...base, reason: `${what}; update paused (update_config.failure_action: pause)` };
  }
  // Replacing a replica that serves nothing costs no capacity.
  const waiting = todo.filter((r) => r.record && serving(r.record.status));
  let slots = Math.max(0, p - inFlight);
  let reason: string | undefined;
  if (config.delayMs > 0 && lastDone > -Infinity && now < lastDone + config.delayMs) {
    slots = 0;
    reason = `update_config.delay: next batch in ${Math.ceil((lastDone + config.delayMs - now) / 1000)}s`;
    const at = Math.min(nextAt, lastDone + config.delayMs);
    waiting.forEach((r) => hold.add(r.index));
    return { phase: "updating", hold, ...base, nextAt: at, reason };
  }
  waiting.slice(slots).forEach((r) => hold.add(r.index));
  return { phase: "updating", hold, ...base, ...(reason ? { reason } : {}) };
}
