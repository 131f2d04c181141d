/**
 * Runs whole-cluster schedules `from`, `from + step`, … below `to` and prints
 * one JSON line per schedule, in seed order: its summary, or the violation
 * (with the command that replays it). whole-cluster.test.ts runs two of
 * these at once (one per core, seeds interleaved so both get the same mix).
 *   bun test/sim/cluster/worker.ts <from> <to> [step]
 */
import { REPLAY, runSchedule, ScheduleViolation } from "./schedule.ts";

const [from, to, step = 1] = process.argv.slice(2).map(Number) as [number, number, number?];
for (let seed = from; seed < to; seed += step) {
  const t0 = performance.now();
  try {
    const r = await runSchedule(seed);
    process.stdout.write(`${JSON.stringify({ ok: true, ...r, wallMs: Math.round(performance.now() - t0) })}\n`);
  } catch (e) {
    const message = e instanceof ScheduleViolation ? e.message : `seed ${seed} threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\nreplay: ${REPLAY.replace("{seed}", String(seed))}`;
    process.stdout.write(`${JSON.stringify({ ok: false, seed, message })}\n`);
  }
}
process.exit(0);
