import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  HEALTH_POLICY_DEFAULTS,
  currentStreak,
  decideRestart,
  formatDuration,
  policyFromService,
  restartSummary,
  type ContainerObservation,
  type HealthDecision,
  type RestartPolicySpec,
  type RestartRecord,
} from "../../../core/reconcile/health-policy.ts";

const UNHEALTHY: ContainerObservation = { state: "running", health: "unhealthy" };
const HEALTHY: ContainerObservation = { state: "running", health: "healthy" };

/** Drives decideRestart along a timeline where the container is unhealthy whenever `sick(t)`. */
function run(policy: RestartPolicySpec, ticks: number[], sick: (t: number) => boolean) {
  const history: RestartRecord[] = [];
  const decisions: Array<[number, HealthDecision]> = [];
  let failingSince: number | undefined;
  for (const now of ticks) {
    const ill = sick(now);
    if (ill && failingSince === undefined) failingSince = now;
    if (!ill) failingSince = undefined;
    const container = ill ? { ...UNHEALTHY, ...(failingSince !== undefined ? { failingSince } : {}) } : HEALTHY;
    const d = decideRestart({ policy, history, container, now });
    decisions.push([now, d]);
    if (d.action === "restart") {
      history.push({ at: now, cause: d.cause });
      failingSince = undefined;
    }
  }
  return { history, decisions };
}

describe("decideRestart", () => {
  test("healthy, starting, or condition none → none", () => {
    const p: RestartPolicySpec = { condition: "any" };
    expect(decideRestart({ policy: p, history: [], container: HEALTHY, now: 0 })).toEqual({ action: "none" });
    expect(decideRestart({ policy: p, history: [], container: { state: "running", health: "starting" }, now: 0 }).action).toBe("none");
    expect(decideRestart({ policy: { condition: "none" }, history: [], container: UNHEALTHY, now: 0 }).action).toBe("none");
  });

  test("unhealthy → restart with exponential backoff 1s, 2s, 4s … capped", () => {
    // tick every 100ms for 2 minutes while permanently unhealthy
    const ticks = Array.from({ length: 1200 }, (_, i) => i * 100);
    const { history } = run({ condition: "any" }, ticks, () => true);
    const gaps = history.slice(1).map((r, i) => r.at - history[i]!.at);
    expect(history[0]!.at).toBe(1000); // first restart waits the base backoff from when it turned unhealthy
    expect(gaps.slice(0, 5)).toEqual([2000, 4000, 8000, 16000, 32000]);
    const capped = run(
      { condition: "any" },
      Array.from({ length: 2000 }, (_, i) => i * 1000),
      () => true,
    ).history;
    const bigGaps = capped.slice(1).map((r, i) => r.at - capped[i]!.at);
    expect(Math.max(...bigGaps)).toBe(HEALTH_POLICY_DEFAULTS.backoffMaxMs);
  });

  test("delay is a floor under the backoff", () => {
    const ticks = Array.from({ length: 300 }, (_, i) => i * 100);
    const { history } = run({ condition: "any", delayMs: 5000 }, ticks, () => true);
    const gaps = history.slice(1).map((r, i) => r.at - history[i]!.at);
    expect(history[0]!.at).toBe(5000);
    expect(gaps.slice(0, 3)).toEqual([5000, 5000, 8000]);
  });

  test("wait says until when and why", () => {
    const d = decideRestart({
      policy: { condition: "any", maxAttempts: 5 },
      history: [{ at: 10_000, cause: "unhealthy" }],
      container: UNHEALTHY,
      now: 10_500,
    });
    expect(d).toEqual({ action: "wait", until: 12_000, reason: "unhealthy; restart 2/5 in 1.5s" });
  });

  test("gives up after max_attempts within the window, with a clear reason and retry time", () => {
    const history: RestartRecord[] = [0, 1, 3, 7, 15].map((s) => ({ at: s * 1000, cause: "unhealthy" as const }));
    const d = decideRestart({
      policy: { condition: "any", maxAttempts: 5, windowMs: 120_000 },
      history,
      container: UNHEALTHY,
      now: 40_000,
    });
    expect(d).toEqual({
      action: "give-up",
      reason: "unhealthy 5 times in 2m; restart_policy.max_attempts=5 reached",
      retryAt: 120_000,
    });
    // once the oldest attempt ages out of the window, restarts resume
    const later = decideRestart({
      policy: { condition: "any", maxAttempts: 5, windowMs: 120_000 },
      history,
      container: UNHEALTHY,
      now: 120_001,
    });
    expect(later.action).toBe("restart");
  });

  test("without a window the give-up is permanent within a streak; a long stable gap resets it", () => {
    const policy: RestartPolicySpec = { condition: "any", maxAttempts: 2 };
    const history: RestartRecord[] = [
      { at: 0, cause: "unhealthy" },
      { at: 2000, cause: "unhealthy" },
    ];
    const d = decideRestart({ policy, history, container: UNHEALTHY, now: 5000 });
    expect(d).toEqual({ action: "give-up", reason: "unhealthy 2 times; restart_policy.max_attempts=2 reached" });
    const afterStable = decideRestart({
      policy,
      history,
      container: { ...UNHEALTHY, failingSince: 2000 + HEALTH_POLICY_DEFAULTS.stableResetMs + 10_000 },
      now: 2000 + HEALTH_POLICY_DEFAULTS.stableResetMs + 20_000,
    });
    expect(afterStable.action).toBe("restart");
    // and the backoff started over
    expect(afterStable.action === "restart" && afterStable.reason).toContain("backoff 1s");
  });

  test("exits: on-failure restarts non-zero exits only, and only when the engine does not", () => {
    const exited1: ContainerObservation = { state: "exited", health: "none", exitCode: 1, failingSince: 0 };
    const exited0: ContainerObservation = { state: "exited", health: "none", exitCode: 0, failingSince: 0 };
    const onFailure: RestartPolicySpec = { condition: "on-failure" };
    const r = decideRestart({ policy: onFailure, history: [], container: exited1, now: 5000 });
    expect(r).toMatchObject({ action: "restart", cause: "exited", attempt: 1 });
    expect(r.action === "restart" && r.reason).toStartWith("exited with code 1");
    expect(decideRestart({ policy: onFailure, history: [], container: exited0, now: 5000 }).action).toBe("none");
    expect(decideRestart({ policy: { condition: "any" }, history: [], container: exited0, now: 5000 }).action).toBe("restart");
    expect(
      decideRestart({ policy: onFailure, history: [], container: exited1, now: 5000, engineRestarts: true }).action,
    ).toBe("none");
    // unhealthy is Fizz's job even when the engine restarts exits
    expect(decideRestart({ policy: onFailure, history: [], container: UNHEALTHY, now: 5000, engineRestarts: true }).action).toBe(
      "restart",
    );
  });

  test("scripted timeline: flaps, recovers, flaps again", () => {
    // unhealthy 0–20s, healthy 20s–15min, unhealthy again after
    const ticks = Array.from({ length: 1000 }, (_, i) => i * 1000);
    const sick = (t: number) => t < 20_000 || t >= 900_000;
    const { history } = run({ condition: "any", maxAttempts: 3 }, ticks, sick);
    const first = history.filter((r) => r.at < 20_000).map((r) => r.at);
    expect(first).toEqual([1000, 3000, 7000]); // then gave up (3 attempts)
    const second = history.filter((r) => r.at >= 900_000).map((r) => r.at);
    expect(second[0]).toBe(901_000); // streak reset after the stable period: back to 1s backoff
  });
});

describe("property: never more than max_attempts restarts within any window", () => {
  test("holds for arbitrary health timelines and policies", () => {
    fc.assert(
      fc.property(
        fc.record({
          maxAttempts: fc.integer({ min: 1, max: 6 }),
          windowMs: fc.integer({ min: 1000, max: 600_000 }),
          delayMs: fc.option(fc.integer({ min: 0, max: 20_000 }), { nil: undefined }),
        }),
        fc.array(fc.tuple(fc.integer({ min: 1, max: 30_000 }), fc.boolean()), { minLength: 1, maxLength: 300 }),
        (p, steps) => {
          const policy: RestartPolicySpec = {
            condition: "any",
            maxAttempts: p.maxAttempts,
            windowMs: p.windowMs,
            ...(p.delayMs !== undefined ? { delayMs: p.delayMs } : {}),
          };
          let t = 0;
          const ticks: number[] = [];
          const sickAt = new Map<number, boolean>();
          for (const [dt, ill] of steps) {
            t += dt;
            ticks.push(t);
            sickAt.set(t, ill);
          }
          const { history } = run(policy, ticks, (x) => sickAt.get(x) ?? false);
          for (const r of history) {
            const inWindow = history.filter((o) => o.at > r.at - p.windowMs && o.at <= r.at).length;
            expect(inWindow).toBeLessThanOrEqual(p.maxAttempts);
          }
          // consecutive restarts are never closer than the delay (nor the base backoff)
          for (let i = 1; i < history.length; i++) {
            expect(history[i]!.at - history[i - 1]!.at).toBeGreaterThanOrEqual(
              Math.max(p.delayMs ?? 0, HEALTH_POLICY_DEFAULTS.backoffBaseMs),
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("helpers", () => {
  test("policyFromService", () => {
    expect(policyFromService({})).toEqual({ condition: "any" });
    expect(policyFromService({ restart: "no" })).toEqual({ condition: "none" });
    expect(policyFromService({ restart: "on-failure:3" })).toEqual({ condition: "on-failure", maxAttempts: 3 });
    expect(policyFromService({ restart: "always", restartPolicy: { maxAttempts: 2, windowMs: 1000 } })).toEqual({
      condition: "any",
      maxAttempts: 2,
      windowMs: 1000,
    });
  });

  test("restartSummary and currentStreak", () => {
    expect(restartSummary([])).toEqual({ count: 0 });
    expect(
      restartSummary([
        { at: 5, cause: "exited", exitCode: 2 },
        { at: 1, cause: "unhealthy" },
      ]),
    ).toEqual({ count: 2, lastAt: 5, lastReason: "exited with code 2" });
    const h: RestartRecord[] = [0, 10, 1000, 1010].map((at) => ({ at, cause: "unhealthy" }));
    expect(currentStreak(h, 1020, 500).map((r) => r.at)).toEqual([1000, 1010]);
    expect(currentStreak(h, 2000, 500)).toEqual([]);
  });

  test("formatDuration", () => {
    expect(formatDuration(500)).toBe("500ms");
    expect(formatDuration(1500)).toBe("1.5s");
    expect(formatDuration(120_000)).toBe("2m");
    expect(formatDuration(5_430_000)).toBe("1h30m30s");
  });
});
