/**
 * Issue 16 acceptance: at least 1,000 seeded whole-cluster schedules (5 to 20
 * complete agents each: membership, replicated state, placement, the
 * reconciler, health; loss, partitions, clock skew, crashes and restarts),
 * with zero invariant violations, within 10 minutes: `bun test test/sim`
 * runs all 1,000 (the whole suite, scripts/test.sh, the first 200). Two worker processes share the
 * seeds (one per core, interleaved so both get the same mix). A violation,
 * an exception or a worker that dies prints the seed and the command that
 * replays it:
 *   FIZZ_SIM_SEED=<seed> bun test test/sim/cluster/replay.test.ts
 * FIZZ_SIM_SCHEDULES sets how many, FIZZ_SIM_SEED_BASE the first seed,
 * FIZZ_SIM_BUDGET_MS the wall-clock bound.
 */
import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { REPLAY } from "./schedule.ts";

const COUNT = Number(process.env.FIZZ_SIM_SCHEDULES ?? 1000);
const BASE = Number(process.env.FIZZ_SIM_SEED_BASE ?? 1);
const WORKERS = 2;
/** Wall-clock bound on the whole run: a slower machine fails the test rather than the CI's budget. */
const BUDGET_MS = Number(process.env.FIZZ_SIM_BUDGET_MS ?? 9.5 * 60_000);

interface Line {
  ok: boolean;
  seed: number;
  message?: string;
  nodes?: number;
  events?: number;
  virtualMs?: number;
  convergedMs?: number;
  faults?: string[];
  wallMs?: number;
}

interface WorkerRun {
  readonly lines: Line[];
  /** The seed it was running when it stopped early (killed at the budget, or crashed), if any. */
  readonly cut?: { seed: number; why: string };
}

const replay = (seed: number) => REPLAY.replace("{seed}", String(seed));

function worker(from: number, to: number, step: number, deadline: number): Promise<WorkerRun> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(import.meta.dir, "worker.ts"), String(from), String(to), String(step)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    let killed = false;
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => {
      killed = true;
      p.kill("SIGKILL");
    }, Math.max(0, deadline - Date.now()));
    p.on("error", reject);
    p.on("exit", (code, signal) => {
      clearTimeout(timer);
      // The worker's result lines (anything else the agents might print is not one).
      const lines = out.split("\n").flatMap((l) => {
        if (!l.startsWith('{"ok":')) return [];
        try {
          return [JSON.parse(l) as Line];
        } catch {
          return [];
        }
      });
      const next = from + lines.length * step;
      if (next >= to) return resolve({ lines });
      resolve({ lines, cut: { seed: next, why: killed ? `still running at the ${(BUDGET_MS / 60_000).toFixed(1)}-minute bound` : `the worker died (${signal ?? `exit ${code}`})` } });
    });
  });
}

test(`${COUNT} seeded whole-cluster schedules, 5 to 20 agents each, keep every invariant`, async () => {
  const t0 = Date.now();
  const runs = await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(BASE + w, BASE + COUNT, WORKERS, t0 + BUDGET_MS)));
  const lines = runs.flatMap((r) => r.lines);
  const failed = lines.filter((l) => !l.ok);
  const ok = lines.filter((l) => l.ok);
  const cuts = runs.flatMap((r) => (r.cut ? [r.cut] : []));
  const faults = new Map<string, number>();
  for (const l of ok) for (const f of l.faults ?? []) faults.set(f.split(" ")[0]!, (faults.get(f.split(" ")[0]!) ?? 0) + 1);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  const wall = ok.map((l) => l.wallMs ?? 0);
  process.stderr.write(
    [
      `whole-cluster simulation: ${lines.length} of ${COUNT} schedules in ${((Date.now() - t0) / 1000).toFixed(0)} s (${WORKERS} workers), ${failed.length} violations`,
      ...(ok.length
        ? [
            `  nodes: ${Math.min(...ok.map((l) => l.nodes!))}-${Math.max(...ok.map((l) => l.nodes!))} (mean ${mean(ok.map((l) => l.nodes!)).toFixed(1)}); events: ${ok.reduce((a, l) => a + l.events!, 0)}; virtual time: ${(ok.reduce((a, l) => a + l.virtualMs!, 0) / 3_600_000).toFixed(1)} h`,
            `  converged after healing: mean ${(mean(ok.map((l) => l.convergedMs!)) / 1000).toFixed(1)} s, max ${(Math.max(...ok.map((l) => l.convergedMs!)) / 1000).toFixed(1)} s`,
            `  wall per schedule: mean ${mean(wall).toFixed(0)} ms, max ${Math.max(...wall)} ms`,
            `  faults: ${[...faults].map(([k, v]) => `${k} ${v}`).join(", ")}`,
          ]
        : []),
      ...failed.map((f) => `  FAILED seed ${f.seed}: ${replay(f.seed)}`),
      ...cuts.map((c) => `  CUT at seed ${c.seed} (${c.why}): ${replay(c.seed)}`),
      "",
    ].join("\n"),
  );
  if (failed.length) throw new Error(failed.slice(0, 3).map((f) => f.message).join("\n\n"));
  if (cuts.length) throw new Error(`${COUNT - lines.length} schedules did not run: ${cuts.map((c) => `seed ${c.seed} ${c.why}; replay: ${replay(c.seed)}`).join("; ")}`);
  expect(lines.length).toBe(COUNT);
}, 10 * 60_000);
