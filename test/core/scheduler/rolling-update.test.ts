import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  batchSize,
  planRollout,
  resumeRollout,
  startRollout,
  type InstanceHealth,
  type ObservedInstance,
  type RolloutAction,
  type RolloutState,
  type UpdateConfig,
} from "../../../core/scheduler/rolling-update.ts";

const OLD = "spec-old";
const NEW = "spec-new";

/** A tiny engine: applies actions; a started instance becomes healthy or unhealthy after `delay` ms, as `fate` decides. */
class World {
  instances: { index: number; specHash: string; health: InstanceHealth; startedAt: number; instanceId: string; settlesAt: number; fate: InstanceHealth }[] = [];
  private seq = 0;
  constructor(replicas: number, private readonly fate: (spec: string, n: number) => { health: InstanceHealth; after: number }) {
    for (let i = 0; i < replicas; i++) this.instances.push({ index: i, specHash: OLD, health: "healthy", startedAt: -1e9, instanceId: `c${this.seq++}`, settlesAt: 0, fate: "healthy" });
  }
  starts = 0;
  apply(actions: readonly RolloutAction[], now: number): void {
    for (const a of actions) {
      if (a.kind === "stop") {
        const k = this.instances.findIndex((o) => o.index === a.index && o.specHash === a.specHash && (a.instanceId === undefined || o.instanceId === a.instanceId));
        if (k < 0) throw new Error(`stop of a missing instance ${JSON.stringify(a)}`);
        this.instances.splice(k, 1);
      } else if (a.kind === "start") {
        const f = this.fate(a.specHash, this.starts++);
        this.instances.push({ index: a.index, specHash: a.specHash, health: "starting", startedAt: now, instanceId: `c${this.seq++}`, settlesAt: now + f.after, fate: f.health });
      }
    }
  }
  tick(now: number): void {
    for (const o of this.instances) if (o.health === "starting" && now >= o.settlesAt) o.health = o.fate;
  }
  observed(): ObservedInstance[] {
    return this.instances.map(({ index, specHash, health, startedAt, instanceId }) => ({ index, specHash, health, startedAt, ...(instanceId ? { instanceId } : {}) }));
  }
  healthyReplicas(replicas: number): number {
    let n = 0;
    for (let i = 0; i < replicas; i++) if (this.instances.some((o) => o.index === i && o.health === "healthy")) n++;
    return n;
  }
}

const cfg = (c: Partial<UpdateConfig>): UpdateConfig => ({
  parallelism: 1, delayMs: 0, order: "stop-first", failureAction: "pause", monitorMs: 0, maxFailureRatio: 0, ...c,
});

interface Trace {
  t: number;
  actions: RolloutAction[];
  state: RolloutState;
  healthy: number;
}

/** Drives the planner every `stepMs` until it finishes or pauses; checks the healthy floor after every applied step. */
function drive(world: World, replicas: number, config: UpdateConfig, stepMs = 1000, until = 600_000): Trace[] {
  let state = startRollout(OLD, NEW, 0);
  const trace: Trace[] = [];
  const floor = replicas - batchSize(config, replicas);
  for (let t = 0; t <= until; t += stepMs) {
    world.tick(t);
    const step = planRollout({ state, replicas, config, observed: world.observed(), now: t });
    world.apply(step.actions, t);
    state = step.state;
    const healthy = world.healthyReplicas(replicas);
    trace.push({ t, actions: [...step.actions], state, healthy });
    if (healthy < floor) throw new Error(`healthy ${healthy} < ${floor} at t=${t}`);
    if (world.instances.length > replicas + batchSize(config, replicas)) throw new Error(`too many instances at t=${t}`);
    if (state.phase === "completed" || state.phase === "rolled-back" || state.phase === "paused") break;
  }
  return trace;
}

describe("rolling update: scripted timelines", () => {
  test("stop-first, failing new image → automatic rollback to the previous spec", () => {
    const config = cfg({ parallelism: 1, delayMs: 10_000, monitorMs: 5_000, failureAction: "rollback" });
    // The new image starts, then fails its healthcheck 2s later; the old one comes back healthy after 1s.
    const world = new World(3, (spec) => (spec === NEW ? { health: "unhealthy", after: 2000 } : { health: "healthy", after: 1000 }));
    const trace = drive(world, 3, config);

    const first = trace[0]!;
    expect(first.actions).toEqual([
      { kind: "stop", index: 0, specHash: OLD, instanceId: "c0" },
      { kind: "start", index: 0, specHash: NEW },
    ]);
    const rb = trace.find((s) => s.actions.some((a) => a.kind === "rollback"))!;
    expect(rb.t).toBe(2000);
    expect(rb.actions[0]).toMatchObject({ kind: "rollback", from: NEW, to: OLD });
    expect(rb.actions.slice(1)).toEqual([
      { kind: "stop", index: 0, specHash: NEW, instanceId: "c3" },
      { kind: "start", index: 0, specHash: OLD },
    ]);
    expect(rb.state.phase).toBe("rolling-back");
    const last = trace[trace.length - 1]!;
    expect(last.actions).toEqual([{ kind: "complete", specHash: OLD, rolledBack: true }]);
    expect(last.state.phase).toBe("rolled-back");
    // old restarted at t=2000, healthy at 3000, monitored 5s from its start → done at 7000
    expect(last.t).toBe(7000);
    // only replica 1 was ever touched; the others never stopped
    expect(world.instances.map((o) => [o.index, o.specHash, o.health]).sort()).toEqual([
      [0, OLD, "healthy"], [1, OLD, "healthy"], [2, OLD, "healthy"],
    ]);
    expect(Math.min(...trace.map((s) => s.healthy))).toBe(2);
  });

  test("start-first: the new replica runs beside the old until healthy, then the old stops; delay between batches", () => {
    const config = cfg({ parallelism: 1, order: "start-first", delayMs: 3000, monitorMs: 2000 });
    const world = new World(2, () => ({ health: "healthy", after: 1000 }));
    const trace = drive(world, 2, config);
    expect(trace[0]!.actions).toEqual([{ kind: "start", index: 0, specHash: NEW }]);
    // t=1000: new replica 1 healthy → old one stopped; monitor until 2000
    expect(trace[1]!.actions).toEqual([
      { kind: "stop", index: 0, specHash: OLD, instanceId: "c0" },
      { kind: "wait", until: 2000, reason: "update_config.monitor: watching the new replicas" },
    ]);
    // batch done at 2000, delay 3000 → next batch at 5000
    expect(trace[2]!.actions).toEqual([{ kind: "wait", until: 5000, reason: "update_config.delay before the next batch" }]);
    const second = trace.find((s) => s.actions.some((a) => a.kind === "start" && a.index === 1))!;
    expect(second.t).toBe(5000);
    expect(Math.min(...trace.map((s) => s.healthy))).toBe(2); // start-first never loses a replica
    expect(Math.max(...trace.map((s) => s.healthy))).toBe(2);
    expect(trace[trace.length - 1]!.state.phase).toBe("completed");
    expect(world.instances.every((o) => o.specHash === NEW && o.health === "healthy")).toBe(true);
  });

  test("start-first, failing new image → rollback only removes the new instances; capacity never drops", () => {
    const world = new World(3, (spec) => ({ health: spec === NEW ? "unhealthy" : "healthy", after: 1000 }));
    const trace = drive(world, 3, cfg({ order: "start-first", failureAction: "rollback", monitorMs: 2000 }));
    const rb = trace.find((s) => s.actions.some((a) => a.kind === "rollback"))!;
    expect(rb.actions.slice(1)).toEqual([{ kind: "stop", index: 0, specHash: NEW, instanceId: "c3" }]);
    expect(trace.every((s) => s.healthy === 3)).toBe(true);
    const last = trace[trace.length - 1]!;
    expect(last.state.phase).toBe("rolled-back");
    expect(world.instances.map((o) => o.instanceId).sort()).toEqual(["c0", "c1", "c2"]); // the original containers, untouched
  });

  test("parallelism 2 of 4 updates two at a time, never below 2 healthy", () => {
    const world = new World(4, () => ({ health: "healthy", after: 2000 }));
    const trace = drive(world, 4, cfg({ parallelism: 2 }));
    expect(trace[0]!.actions.filter((a) => a.kind === "start").map((a) => (a.kind === "start" ? a.index : -1))).toEqual([0, 1]);
    expect(Math.min(...trace.map((s) => s.healthy))).toBe(2);
    expect(trace[trace.length - 1]!.state.phase).toBe("completed");
  });

  test("failure_action pause stops the rollout and resume picks it up", () => {
    let bad = true;
    const world = new World(3, (spec) => ({ health: spec === NEW && bad ? "exited" : "healthy", after: 1000 }));
    const config = cfg({ failureAction: "pause" });
    const trace = drive(world, 3, config);
    const last = trace[trace.length - 1]!;
    expect(last.state.phase).toBe("paused");
    expect(last.actions[0]!.kind).toBe("pause");
    expect(last.state.reason).toContain("1 of 3 replicas failed");
    // paused: nothing more happens
    expect(planRollout({ state: last.state, replicas: 3, config, observed: world.observed(), now: 99_000 }).actions).toEqual([]);
    bad = false; // a fixed image under the same hash (e.g. a flaky dependency came back)
    let state = resumeRollout(last.state, 100_000);
    for (let t = 100_000; t < 200_000 && state.phase !== "completed"; t += 1000) {
      world.tick(t);
      const s = planRollout({ state, replicas: 3, config, observed: world.observed(), now: t });
      world.apply(s.actions, t);
      state = s.state;
    }
    expect(state.phase).toBe("completed");
    expect(world.instances.filter((o) => o.specHash === NEW && o.health === "healthy").length).toBe(3);
  });

  test("tolerated failures (max_failure_ratio) do not stop the rollout; the failed replica returns to the old spec", () => {
    const world = new World(4, (spec, n) => ({ health: spec === NEW && n === 1 ? "unhealthy" : "healthy", after: 1000 }));
    const trace = drive(world, 4, cfg({ maxFailureRatio: 0.25, failureAction: "rollback" }));
    const last = trace[trace.length - 1]!;
    expect(last.state.phase).toBe("completed");
    expect(last.state.failed).toEqual([1]);
    expect(trace.some((s) => s.actions.some((a) => a.kind === "rollback"))).toBe(false);
    expect(trace.some((s) => s.actions.some((a) => a.kind === "start" && a.index === 1 && a.specHash === OLD))).toBe(true);
    const final = world.instances.map((o) => [o.index, o.specHash, o.health]).sort();
    expect(final).toEqual([[0, NEW, "healthy"], [1, OLD, "healthy"], [2, NEW, "healthy"], [3, NEW, "healthy"]]);
  });

  test("a failing rollback pauses instead of rolling back again", () => {
    const world = new World(2, () => ({ health: "unhealthy", after: 1000 }));
    const trace = drive(world, 2, cfg({ failureAction: "rollback" }));
    const last = trace[trace.length - 1]!;
    expect(last.state.phase).toBe("paused");
    expect(last.state.reason).toContain("rollback failed");
    expect(trace.filter((s) => s.actions.some((a) => a.kind === "rollback")).length).toBe(1);
  });
});

describe("rolling update: properties", () => {
  test("healthy replicas never drop below replicas − parallelism, whatever the health outcomes; the rollout ends", () => {
    const arb = fc.record({
      replicas: fc.integer({ min: 1, max: 7 }),
      parallelism: fc.integer({ min: 0, max: 8 }),
      order: fc.constantFrom("stop-first", "start-first") as fc.Arbitrary<UpdateConfig["order"]>,
      failureAction: fc.constantFrom("pause", "continue", "rollback") as fc.Arbitrary<UpdateConfig["failureAction"]>,
      maxFailureRatio: fc.constantFrom(0, 0.2, 0.5, 1),
      delayMs: fc.constantFrom(0, 1000, 5000),
      monitorMs: fc.constantFrom(0, 2000, 5000),
      outcomes: fc.array(fc.record({ ok: fc.boolean(), after: fc.integer({ min: 0, max: 4000 }) }), { minLength: 64, maxLength: 64 }),
      newAlwaysFails: fc.boolean(),
    });
    fc.assert(
      fc.property(arb, (a) => {
        const config = cfg(a);
        const world = new World(a.replicas, (spec, n) => {
          const o = a.outcomes[n % a.outcomes.length]!;
          // the old spec is known good; the new one fails at random (or always)
          const ok = spec === OLD || (!a.newAlwaysFails && o.ok);
          return { health: ok ? "healthy" : "unhealthy", after: o.after };
        });
        const trace = drive(world, a.replicas, config, 500, 400_000); // throws if the floor or the extra bound is broken
        const end = trace[trace.length - 1]!.state;
        const stalled = end.phase === "updating" || end.phase === "rolling-back";
        if (stalled) {
          // only "continue" may stall, and only with failed replicas holding the budget
          expect(config.failureAction === "continue" || end.failed.length > 0).toBe(true);
          expect(end.failed.length).toBeGreaterThan(0);
        }
        if (end.phase === "completed") {
          const good = world.instances.filter((o) => o.specHash === NEW && o.health === "healthy").length;
          expect(good + end.failed.length).toBeGreaterThanOrEqual(a.replicas);
        }
        if (end.phase === "rolled-back") {
          expect(world.instances.filter((o) => o.specHash === OLD && o.health === "healthy").length).toBe(a.replicas);
        }
      }),
      { numRuns: 300 },
    );
  });
});
