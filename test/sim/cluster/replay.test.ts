/**
 * One whole-cluster schedule, replayed: FIZZ_SIM_SEED=<seed> bun test
 * test/sim/cluster/replay.test.ts reproduces a seed the big run printed.
 * Without a seed it runs one, and checks that a seed always replays the
 * same run (same events, same trace) and another seed makes another.
 */
import { expect, test } from "bun:test";
import { runSchedule, scheduleSeed } from "./schedule.ts";

const seed = scheduleSeed(3);

test(`whole-cluster schedule (seed ${seed})`, async () => {
  const r = await runSchedule(seed);
  expect(r.nodes).toBeGreaterThanOrEqual(5);
  expect(r.nodes).toBeLessThanOrEqual(20);
}, 120_000);

test("same seed, same run; another seed, another run", async () => {
  const a = await runSchedule(8);
  const b = await runSchedule(8);
  const c = await runSchedule(9);
  expect([b.events, b.trace]).toEqual([a.events, a.trace]);
  expect([c.events, c.trace]).not.toEqual([a.events, a.trace]);
}, 120_000);
