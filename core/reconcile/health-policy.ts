/**
 * What Compose lacks: restarting a container whose healthcheck turned
 * unhealthy (the engine only reports health, it never acts on it).
 *
 * `decideRestart` is a pure function of the restart policy, the container's
 * restart history, its current state and `now`; the agent calls it on every
 * pass (and on health events) and acts on the decision. All times are epoch
 * milliseconds; the compose model holds durations in nanoseconds, so divide
 * `deploy.restart_policy.delay/window` by 1e6 before passing them here.
 *
 * Interplay with the engine: Fizz sets the engine's restart policy from
 * `restart:` (`always`, `unless-stopped`, `on-failure[:n]`), so the engine
 * restarts exited containers itself. Fizz handles (a) unhealthy containers,
 * always, and (b) exits only when the engine is not already doing it
 * (`engineRestarts: false`) and the policy condition asks for it.
 */

import { formatMs } from "../duration.ts";
import type { ContainerHealth, ContainerState } from "./types.ts";

/** `deploy.restart_policy`, durations in ms. */
export interface RestartPolicySpec {
  /** `none`: never restart; `on-failure`: unhealthy or non-zero exit; `any`: unhealthy or any exit. */
  readonly condition: "none" | "on-failure" | "any";
  /** Minimum time between two restarts (`delay`). */
  readonly delayMs?: number;
  /** Give up after this many restarts (`max_attempts`); 0 or absent = never give up. */
  readonly maxAttempts?: number;
  /** Restarts are counted within this sliding window (`window`); absent = the current failure streak. */
  readonly windowMs?: number;
}

/** Fizz's own knobs, one place, each trading something. */
export interface HealthPolicyDefaults {
  /** First backoff; doubles per restart in a streak. Lower = faster recovery, more churn on a crash loop. */
  readonly backoffBaseMs: number;
  /** Backoff cap. Higher = gentler on a broken dependency, slower to recover once it is fixed. */
  readonly backoffMaxMs: number;
  /**
   * A gap this long without a restart ends a failure streak: backoff starts
   * over at `backoffBaseMs` (and, without a `window`, the attempt count resets).
   */
  readonly stableResetMs: number;
}

export const HEALTH_POLICY_DEFAULTS: HealthPolicyDefaults = {
  backoffBaseMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  stableResetMs: 10 * 60_000,
};

export type RestartCause = "unhealthy" | "exited";

export interface RestartRecord {
  /** When Fizz restarted the container (epoch ms). */
  readonly at: number;
  readonly cause: RestartCause;
  readonly exitCode?: number;
}

export interface ContainerObservation {
  readonly state: ContainerState;
  readonly health: ContainerHealth;
  readonly exitCode?: number;
  /**
   * When the current failure (unhealthy or exit) was first seen; the first
   * restart of a streak waits the backoff from here. Absent = restart at once.
   */
  readonly failingSince?: number;
}

export interface DecideInput {
  readonly policy: RestartPolicySpec;
  readonly defaults?: HealthPolicyDefaults;
  /** Fizz's own restarts of this service replica, any order. */
  readonly history: readonly RestartRecord[];
  readonly container: ContainerObservation;
  readonly now: number;
  /** The engine restarts exits itself (an engine restart policy other than `no` is set). */
  readonly engineRestarts?: boolean;
}

export type HealthDecision =
  | { readonly action: "none" }
  | { readonly action: "restart"; readonly at: number; readonly cause: RestartCause; readonly attempt: number; readonly reason: string }
  | { readonly action: "wait"; readonly until: number; readonly reason: string }
  | {
      readonly action: "give-up";
      readonly reason: string;
      /** With a `window`, attempts age out; this is when the next one would be allowed. Absent: permanent. */
      readonly retryAt?: number;
    };

/** `1500` → `1.5s`, `120000` → `2m`, `5400000` → `1h30m` (core/duration.ts). */
export const formatDuration = formatMs;

/** Restarts in the current failure streak: the latest ones, each within `stableResetMs` of the next. */
export function currentStreak(history: readonly RestartRecord[], now: number, stableResetMs: number): RestartRecord[] {
  const sorted = history.filter((r) => r.at <= now).sort((a, b) => a.at - b.at);
  let start = sorted.length;
  let next = now;
  while (start > 0 && next - sorted[start - 1]!.at < stableResetMs) {
    start--;
    next = sorted[start]!.at;
  }
  return sorted.slice(start);
}

/** Backoff before restart number `k` (0-based) of a streak: base·2^k, capped, never below `delay`. */
export function backoffMs(k: number, policy: RestartPolicySpec, d: HealthPolicyDefaults): number {
  const exp = Math.min(d.backoffMaxMs, d.backoffBaseMs * 2 ** Math.min(k, 52));
  return Math.max(policy.delayMs ?? 0, exp);
}

function trigger(input: DecideInput): { cause: RestartCause; what: string } | undefined {
  const c = input.container;
  const cond = input.policy.condition;
  if (cond === "none") return undefined;
  if (c.state === "running" && c.health === "unhealthy") return { cause: "unhealthy", what: "unhealthy" };
  if ((c.state === "exited" || c.state === "dead") && !input.engineRestarts) {
    const code = c.exitCode ?? 0;
    if (cond === "any" || code !== 0) return { cause: "exited", what: `exited with code ${code}` };
  }
  return undefined;
}

export function decideRestart(input: DecideInput): HealthDecision {
  const d = input.defaults ?? HEALTH_POLICY_DEFAULTS;
  const t = trigger(input);
  if (!t) return { action: "none" };
  const { policy, now } = input;
  const streak = currentStreak(input.history, now, d.stableResetMs);
  const counted =
    policy.windowMs !== undefined ? input.history.filter((r) => r.at <= now && r.at > now - policy.windowMs!) : streak;
  const max = policy.maxAttempts ?? 0;
  if (max > 0 && counted.length >= max) {
    const causes = new Set(counted.map((r) => r.cause));
    const word = causes.size === 1 ? (causes.has("unhealthy") ? "unhealthy" : "exited") : "failed";
    const span = policy.windowMs !== undefined ? ` in ${formatDuration(policy.windowMs)}` : "";
    const reason = `${word} ${counted.length} times${span}; restart_policy.max_attempts=${max} reached`;
    if (policy.windowMs === undefined) return { action: "give-up", reason };
    // The oldest counted attempt that must age out for the count to drop below max.
    const ats = counted.map((r) => r.at).sort((a, b) => a - b);
    const retryAt = ats[counted.length - max]! + policy.windowMs;
    return { action: "give-up", reason, retryAt };
  }
  const k = streak.length;
  const wait = backoffMs(k, policy, d);
  const last = streak.at(-1);
  // Unknown onset (e.g. the agent itself just started): the healthcheck's own
  // retries already debounced it, so do not wait again.
  const from = last !== undefined ? last.at : (input.container.failingSince ?? now - wait);
  const at = from + wait;
  const attempt = counted.length + 1;
  const limit = max > 0 ? `/${max}` : "";
  if (now < at) {
    return { action: "wait", until: at, reason: `${t.what}; restart ${attempt}${limit} in ${formatDuration(at - now)}` };
  }
  return {
    action: "restart",
    at: now,
    cause: t.cause,
    attempt,
    reason: `${t.what}; restart ${attempt}${limit} (backoff ${formatDuration(wait)})`,
  };
}

/** Compose inputs → policy: `deploy.restart_policy` wins; else derived from `restart:`. */
export function policyFromService(input: {
  /** `restart:` as written (`no`, `always`, `unless-stopped`, `on-failure`, `on-failure:3`); absent = not set. */
  readonly restart?: string;
  readonly restartPolicy?: {
    readonly condition?: "none" | "on-failure" | "any";
    readonly delayMs?: number;
    readonly maxAttempts?: number;
    readonly windowMs?: number;
  };
}): RestartPolicySpec {
  const rp = input.restartPolicy;
  if (rp) {
    return {
      // Swarm's default condition is `any`.
      condition: rp.condition ?? "any",
      ...(rp.delayMs !== undefined ? { delayMs: rp.delayMs } : {}),
      ...(rp.maxAttempts !== undefined ? { maxAttempts: rp.maxAttempts } : {}),
      ...(rp.windowMs !== undefined ? { windowMs: rp.windowMs } : {}),
    };
  }
  const r = input.restart;
  // Unset: Fizz's point is to keep the stack healthy, so unhealthy containers are restarted.
  if (r === undefined || r === "always" || r === "unless-stopped") return { condition: "any" };
  if (r === "no") return { condition: "none" };
  const m = /^on-failure(?::(\d+))?$/.exec(r);
  if (m) return { condition: "on-failure", ...(m[1] ? { maxAttempts: Number(m[1]) } : {}) };
  return { condition: "any" };
}

/** What `fizz ps` shows: how many restarts, and the last reason. */
export interface RestartSummary {
  readonly count: number;
  readonly lastAt?: number;
  readonly lastReason?: string;
}

export function restartSummary(history: readonly RestartRecord[]): RestartSummary {
  if (history.length === 0) return { count: 0 };
  const last = [...history].sort((a, b) => a.at - b.at).at(-1)!;
  const lastReason = last.cause === "unhealthy" ? "unhealthy" : `exited with code ${last.exitCode ?? 0}`;
  return { count: history.length, lastAt: last.at, lastReason };
}
