/**
 * Named simulation scenarios shared by the tests and the replay test. Each
 * takes a seed, runs to completion, and throws a SimViolation (with seed and
 * replay command) if an invariant breaks or the cluster fails to converge.
 */
import { Simulation } from "./sim.ts";

export const REPLAY = "FIZZ_SIM_SEED={seed} bun test test/sim/";

/** Loss, duplication, reordering, a starved node, a crash and a partition; then quiet, and everything must converge. */
export function chaosScenario(seed: number, nodes = 50): Simulation {
  const sim = new Simulation({ seed, nodes, codec: true, replay: REPLAY + "replay.test.ts" });
  sim.run(5_000);
  sim.setNetwork({ loss: 0.05, duplicate: 0.02, reorder: 0.1, jitterMs: 5 });
  sim.starve(1);
  sim.crash(2);
  sim.run(25_000);
  const half = Array.from({ length: nodes }, (_, i) => i);
  sim.partition([half.filter((i) => i % 2 === 0), half.filter((i) => i % 2 === 1)]);
  sim.run(40_000);
  sim.heal();
  sim.unstarve(1);
  sim.setNetwork({ loss: 0, duplicate: 0, reorder: 0, jitterMs: 2 });
  sim.run(sim.now + 100_000);
  sim.invariants.assertConverged();
  return sim;
}
