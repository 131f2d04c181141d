import { expect, test } from "bun:test";
import { chaosScenario } from "./scenarios.ts";
import { SimViolation } from "./invariants.ts";
import { Simulation, simSeed } from "./sim.ts";

// Replays one seed of the chaos scenario. To reproduce a failure printed by any sim test:
//   FIZZ_SIM_SEED=<seed> bun test test/sim/replay.test.ts
const seed = simSeed(6);

test(`chaos scenario converges (seed ${seed})`, () => {
  const sim = chaosScenario(seed);
  expect(sim.invariants.falseDeathsUnderFault).toBeGreaterThanOrEqual(0);
}, 60_000);

test("same seed, same run; another seed, another run", () => {
  const run = (s: number) => {
    const sim = new Simulation({ seed: s, nodes: 40, network: { loss: 0.02, duplicate: 0.02, reorder: 0.1 }, checkInvariants: false });
    sim.run(20_000);
    return [sim.events, sim.trace, sim.nodes.map((n) => n.swim.incarnation).join(",")];
  };
  expect(run(11)).toEqual(run(11));
  expect(run(11)).not.toEqual(run(12));
}, 60_000);

test("an invariant violation names the seed and the replay command", () => {
  // A network slower than the probe interval makes healthy nodes look dead with no fault injected.
  const sim = new Simulation({ seed: 99, nodes: 20, config: { lifeguard: false }, network: { latencyMs: 700 }, replay: "FIZZ_SIM_SEED={seed} bun test test/sim/replay.test.ts" });
  let err: unknown;
  try {
    sim.run(60_000);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(SimViolation);
  expect(String((err as Error).message)).toContain("seed: 99");
  expect(String((err as Error).message)).toContain("FIZZ_SIM_SEED=99 bun test test/sim/replay.test.ts");
}, 60_000);
