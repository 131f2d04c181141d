/**
 * Rolling updates as a pure state machine, following compose's
 * `deploy.update_config`. The agent calls `planRollout` whenever something
 * changes (an engine event, a health change, the `wait` deadline) with what it
 * observes; it applies the returned actions in order and stores the returned
 * state. Nothing here keeps time or talks to an engine.
 *
 * Guarantees:
 *   - a replica counts as healthy when any of its instances is healthy;
 *   - stop-first never stops a healthy replica if that would leave fewer than
 *     replicas − parallelism healthy; start-first starts the new instance of a
 *     replica next to the old one and stops the old only once the new is
 *     healthy, so it runs at most `parallelism` extra instances;
 *   - a batch of `parallelism` replicas must be healthy for `monitor` before
 *     the next starts, `delay` after it;
 *   - when more than `max_failure_ratio` of the replicas fail during an update,
 *     `failure_action` applies: pause, continue, or roll back to the previous
 *     spec (with the same settings). A failing rollback pauses.
 */

export interface UpdateConfig {
  /** Replicas updated at a time; 0 means all at once (compose's meaning). */
  readonly parallelism: number;
  /** Wait between batches, ms. */
  readonly delayMs: number;
  readonly order: "stop-first" | "start-first";
  readonly failureAction: "pause" | "continue" | "rollback";
  /** How long a new instance must stay healthy before it counts as updated, ms. */
  readonly monitorMs: number;
  /** Failures tolerated, as a fraction of the replicas (0 = none). */
  readonly maxFailureRatio: number;
}

/** Compose's defaults for update_config (parallelism 1, no delay, stop-first, pause, 5s monitor). */
export const DEFAULT_UPDATE_CONFIG: UpdateConfig = {
  parallelism: 1,
  delayMs: 0,
  order: "stop-first",
  failureAction: "pause",
  monitorMs: 5_000,
  maxFailureRatio: 0,
};

export type InstanceHealth = "starting" | "healthy" | "unhealthy" | "exited";

export interface ObservedInstance {
  readonly index: number;
  readonly specHash: string;
  readonly health: InstanceHealth;
  /** When this instance was started, ms. */
  readonly startedAt: number;
  /** Tells two instances of one replica apart (container id); optional. */
  readonly instanceId?: string;
}

export type RolloutPhase = "updating" | "rolling-back" | "paused" | "completed" | "rolled-back";

export interface RolloutState {
  readonly phase: RolloutPhase;
  /** The spec the replicas are being moved to now. */
  readonly target: string;
  /** The spec a rollback returns to. */
  readonly previous: string;
  /** The phase to return to when a paused rollout resumes. */
  readonly resumeAs?: "updating" | "rolling-back";
  /** When this phase began: only instances started since then count as its failures. */
  readonly since: number;
  /** Replica indices whose new instance failed during this phase. */
  readonly failed: readonly number[];
  /** A batch is running (started, not yet healthy past `monitor`). */
  readonly batchOpen: boolean;
  /** No new batch before this time (the `delay` after the last batch). */
  readonly nextBatchAt: number;
  readonly reason?: string;
}

export type RolloutAction =
  | { readonly kind: "stop"; readonly index: number; readonly specHash: string; readonly instanceId?: string }
  | { readonly kind: "start"; readonly index: number; readonly specHash: string }
  /** Call again at `until` (or on any event before it). */
  | { readonly kind: "wait"; readonly until: number; readonly reason: string }
  | { readonly kind: "pause"; readonly reason: string }
  | { readonly kind: "rollback"; readonly from: string; readonly to: string; readonly reason: string }
  | { readonly kind: "complete"; readonly specHash: string; readonly rolledBack: boolean };

export interface RolloutInput {
  readonly state: RolloutState;
  readonly replicas: number;
  readonly config: UpdateConfig;
  readonly observed: readonly ObservedInstance[];
  readonly now: number;
}

export interface RolloutStep {
  readonly state: RolloutState;
  readonly actions: readonly RolloutAction[];
}

export function startRollout(from: string, to: string, now: number): RolloutState {
  return { phase: "updating", target: to, previous: from, since: now, failed: [], batchOpen: false, nextBatchAt: now };
}

/** Resumes a paused rollout (what `fizz up` / a resume command does); failures so far are forgiven. */
export function resumeRollout(state: RolloutState, now: number): RolloutState {
  if (state.phase !== "paused") return state;
  return {
    phase: state.resumeAs ?? "updating", target: state.target, previous: state.previous, since: now, failed: [], batchOpen: false, nextBatchAt: now,
  };
}

/** Effective batch size: 0 or anything above the replica count means all. */
export function batchSize(config: UpdateConfig, replicas: number): number {
  return config.parallelism > 0 ? Math.min(Math.floor(config.parallelism), replicas) : replicas;
}

const isDown = (h: InstanceHealth): boolean => h === "unhealthy" || h === "exited";

export function planRollout(input: RolloutInput): RolloutStep {
  const { state, replicas: R, config, now } = input;
  if (state.phase === "completed" || state.phase === "rolled-back" || state.phase === "paused") return { state, actions: [] };
  const p = batchSize(config, R);
  const byIndex = new Map<number, ObservedInstance[]>();
  for (const o of input.observed) {
    if (o.index < 0 || o.index >= R) continue; // scaling is the scheduler's business
    let l = byIndex.get(o.index);
    if (!l) byIndex.set(o.index, (l = []));
    l.push(o);
  }
  const target = state.target;

  // 1. Failures of new instances.
  const failed = new Set(state.failed);
  const fresh: number[] = [];
  for (const [i, list] of byIndex) {
    if (!failed.has(i) && list.some((o) => o.specHash === target && o.startedAt >= state.since && isDown(o.health))) {
      failed.add(i);
      fresh.push(i);
    }
  }
  const failedList = [...failed].sort((a, b) => a - b);
  if (fresh.length > 0 && failed.size / Math.max(1, R) > config.maxFailureRatio) {
    const what = `${failed.size} of ${R} replicas failed on ${short(target)} (replica ${fresh.sort((a, b) => a - b).map((i) => i + 1).join(", ")})`;
    const action = state.phase === "rolling-back" ? "pause" : config.failureAction;
    if (action === "pause") {
      const reason = state.phase === "rolling-back" ? `rollback failed: ${what}` : `update paused: ${what}`;
      const next: RolloutState = { ...state, phase: "paused", resumeAs: state.phase, failed: failedList, reason };
      return { state: next, actions: [{ kind: "pause", reason }] };
    }
    if (action === "rollback") {
      const reason = `rolling back to ${short(state.previous)}: ${what}`;
      const next: RolloutState = {
        phase: "rolling-back", target: state.previous, previous: target, since: now, failed: [], batchOpen: false, nextBatchAt: now, reason,
      };
      const rest = planRollout({ ...input, state: next });
      return { state: rest.state, actions: [{ kind: "rollback", from: target, to: state.previous, reason }, ...rest.actions] };
    }
    // continue: the failed replicas are left to their restart policy; the rollout goes on as far as the budget allows.
  }

  // 2. Classify replicas.
  const actions: RolloutAction[] = [];
  const todo: number[] = [];
  let inflight = 0;
  let settleAt = Infinity;
  let healthy = 0;
  let done = 0;
  for (let i = 0; i < R; i++) {
    const list = byIndex.get(i) ?? [];
    if (list.some((o) => o.health === "healthy")) healthy++;
    const mine = list.filter((o) => o.specHash === target);
    const others = list.filter((o) => o.specHash !== target);
    const live = mine.filter((o) => !isDown(o.health));
    if (live.length === 0) {
      if (!failed.has(i)) {
        todo.push(i);
        continue;
      }
      // A tolerated failure (or failure_action continue): the replica goes back to the
      // previous spec so it serves again and does not hold the disruption budget.
      const prev = others.filter((o) => o.specHash === state.previous);
      if (state.phase !== "updating") {
        done++; // a tolerated failure while rolling back: nothing older to return to
        continue;
      }
      for (const o of mine) actions.push(stop(o)); // the failed new instances
      if (prev.some((o) => o.health === "healthy")) done++;
      else if (prev.some((o) => o.health === "starting")) inflight++;
      else if (prev.some((o) => o.startedAt >= state.since)) done++; // the previous spec failed here too: leave it to the restart policy
      else {
        for (const o of others) actions.push(stop(o));
        actions.push({ kind: "start", index: i, specHash: state.previous });
        inflight++;
      }
      continue;
    }
    const ok = live.find((o) => o.health === "healthy");
    if (ok) {
      // The new instance serves: older ones (start-first, or a rollback's failed ones) can go.
      for (const o of others) actions.push(stop(o));
      // Extra copies of the target (e.g. a failed one beside a good one) go too.
      for (const o of mine) if (o !== ok && isDown(o.health)) actions.push(stop(o));
      if (now - ok.startedAt >= config.monitorMs) done++;
      else {
        inflight++;
        settleAt = Math.min(settleAt, ok.startedAt + config.monitorMs);
      }
    } else inflight++; // starting
  }

  // 3. Batches.
  let { batchOpen, nextBatchAt } = state;
  if (batchOpen && inflight === 0) {
    batchOpen = false;
    nextBatchAt = now + config.delayMs;
  }
  if (!batchOpen && todo.length > 0) {
    if (now < nextBatchAt) actions.push({ kind: "wait", until: nextBatchAt, reason: `update_config.delay before the next batch` });
    else {
      let budget = healthy - (R - p);
      let chosen = 0;
      const serves = (i: number): boolean => (byIndex.get(i) ?? []).some((o) => o.health === "healthy");
      // Replicas that serve nothing go first: replacing them costs no healthy capacity.
      const order = [...todo.filter((i) => !serves(i)), ...todo.filter(serves)];
      for (const i of order) {
        if (chosen >= p) break;
        const list = byIndex.get(i) ?? [];
        if (config.order === "stop-first") {
          if (serves(i)) {
            if (budget <= 0) break;
            budget--;
          }
          for (const o of list) actions.push(stop(o));
        } else {
          // start-first keeps the old instance serving; failed or starting leftovers of other specs can go.
          for (const o of list) if (o.health !== "healthy") actions.push(stop(o));
        }
        actions.push({ kind: "start", index: i, specHash: target });
        chosen++;
      }
      if (chosen > 0) batchOpen = true;
      else {
        actions.push({
          kind: "wait",
          until: now + Math.max(1000, config.monitorMs),
          reason: `blocked: only ${healthy} of ${R} replicas are healthy; stopping another would go below ${R - p}`,
        });
      }
    }
  } else if (batchOpen && settleAt < Infinity) {
    actions.push({ kind: "wait", until: settleAt, reason: "update_config.monitor: watching the new replicas" });
  }

  const base: RolloutState = {
    phase: state.phase, target, previous: state.previous, since: state.since, failed: failedList, batchOpen, nextBatchAt,
    ...(state.reason !== undefined ? { reason: state.reason } : {}),
  };
  if (todo.length === 0 && inflight === 0 && done === R && !actions.some((a) => a.kind === "stop")) {
    const rolledBack = state.phase === "rolling-back";
    const next: RolloutState = { ...base, phase: rolledBack ? "rolled-back" : "completed", batchOpen: false };
    return { state: next, actions: [{ kind: "complete", specHash: target, rolledBack }] };
  }
  return { state: base, actions };
}

function stop(o: ObservedInstance): RolloutAction {
  return { kind: "stop", index: o.index, specHash: o.specHash, ...(o.instanceId !== undefined ? { instanceId: o.instanceId } : {}) };
}

function short(hash: string): string {
  return hash.length > 12 ? hash.slice(0, 12) : hash;
}
