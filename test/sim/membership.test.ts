import { describe, expect, test } from "bun:test";
import { Simulation, simSeed } from "./sim.ts";

const seed = simSeed(20_261_122);
const replay = (file: string) => `FIZZ_SIM_SEED={seed} bun test test/sim/${file}`;
const R = replay("membership.test.ts");

describe("simulated cluster", () => {
  test("clean network with jitter, duplication and reordering: no false deaths, stays converged", () => {
    const sim = new Simulation({ seed, nodes: 100, codec: true, replay: R, network: { duplicate: 0.05, reorder: 0.2, jitterMs: 5 } });
    sim.run(60_000);
    sim.invariants.assertConverged();
    expect(sim.events).toBeGreaterThan(10_000);
  }, 60_000);

  test("crashed nodes are declared dead by every survivor", () => {
    const deadAt: number[] = [];
    const sim = new Simulation({
      seed,
      nodes: 100,
      replay: R,
      onEvent: (_n, ev, now) => {
        if (ev.type === "dead" && ev.local) deadAt.push(now);
      },
    });
    sim.run(5_000);
    for (const i of [10, 20, 30]) sim.crash(i);
    sim.run(40_000);
    sim.invariants.assertConverged();
    expect(Math.min(...deadAt)).toBeGreaterThan(5_000);
  }, 60_000);

  test("5% loss and a starved node: invariants hold throughout, membership converges after faults stop", () => {
    const sim = new Simulation({ seed, nodes: 100, codec: true, replay: R });
    sim.run(2_000);
    sim.setNetwork({ loss: 0.05 });
    sim.starve(7);
    sim.run(60_000);
    sim.setNetwork({ loss: 0 });
    sim.unstarve(7);
    sim.run(90_000);
    sim.invariants.assertConverged();
  }, 60_000);

  test("a partition heals by itself: dead members are retried and refute", () => {
    const sim = new Simulation({ seed, nodes: 60, replay: R });
    sim.run(3_000);
    const a = Array.from({ length: 20 }, (_, i) => i);
    const b = Array.from({ length: 40 }, (_, i) => i + 20);
    sim.partition([a, b]);
    sim.run(60_000);
    expect(sim.nodes[0]?.swim.member("n30")?.state).toBe("dead");
    expect(sim.nodes[30]?.swim.member("n0")?.state).toBe("dead");
    sim.heal();
    sim.run(120_000);
    sim.invariants.assertConverged();
  }, 60_000);

  test("nodes join one at a time through a seed and converge", () => {
    const sim = new Simulation({ seed, nodes: 50, bootstrap: "none", codec: true, replay: R });
    for (let i = 1; i < 50; i++) {
      sim.join(i, [i % 3 === 0 ? 0 : i - 1]);
      sim.run(sim.now + 200);
    }
    sim.run(sim.now + 30_000);
    sim.invariants.assertConverged();
  }, 60_000);

  test("graceful leave is seen as left by everyone, never as a failure", () => {
    const dead: string[] = [];
    const sim = new Simulation({ seed, nodes: 60, replay: R, onEvent: (_n, ev) => ev.type === "dead" && dead.push(ev.member.id) });
    sim.run(3_000);
    sim.leave(5);
    sim.leave(6);
    sim.run(5_000);
    sim.crash(5);
    sim.crash(6);
    sim.nodes[5]!.crashed = false; // bookkeeping: left, not crashed
    sim.nodes[6]!.crashed = false;
    sim.run(30_000);
    sim.invariants.assertConverged();
    expect(dead).toEqual([]);
  }, 60_000);

  test("a user broadcast reaches 100% of 200 nodes within seconds", () => {
    const got = new Map<number, number>();
    const sim = new Simulation({ seed, nodes: 200, replay: R, onDeliver: (n, _o, _p, now) => got.set(n, now) });
    sim.run(2_000);
    sim.broadcast(0, new Uint8Array([42]));
    sim.run(10_000);
    expect(got.size).toBe(199);
    expect(Math.max(...got.values()) - 2_000).toBeLessThan(3_000);
  }, 60_000);
});
