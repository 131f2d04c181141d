/**
 * Issue 16 acceptance: at least 1,000 seeded whole-cluster schedules (5 to 20
 * complete agents each: membership, replicated state, placement, the
 * reconciler, health; loss, partitions, clock skew, crashes and restarts),
 * with zero invariant violations, within a bounded time. Two worker
 * processes share the seeds (one per core). A violation prints its seed and
 * the command that replays it:
 *   FIZZ_SIM_SEED=<seed> bun test test/sim/cluster/replay.test.ts
 * FIZZ_SIM_SCHEDULES sets how many, FIZZ_SIM_SEED_BASE the first seed. The
 * whole suite runs 200 (about 1.5 min on two cores, within the CI budget);
 * the acceptance run of 1,000 within 10 minutes is `bash scripts/sim.sh`.
 */
import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { join } from "node:path";

const COUNT = Number(process.env.FIZZ_SIM_SCHEDULES ?? 200);
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

function worker(from: number, to: number, step: number): Promise<Line[]> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [join(import.meta.dir, "worker.ts"), String(from), String(to), String(step)], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => p.kill("SIGKILL"), BUDGET_MS);
    p.on("error", reject);
    p.on("exit", () => {
      clearTimeout(timer);
      resolve(out.split("\n").filter(Boolean).map((l) => JSON.parse(l) as Line));
    });
  });
}

test(`${COUNT} seeded whole-cluster schedules, 5 to 20 agents each, keep every invariant`, async () => {
  const t0 = Date.now();
  const runs = await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(BASE + w, BASE + COUNT, WORKERS)));
  const lines = runs.flat();
  const failed = lines.filter((l) => !l.ok);
  const ok = lines.filter((l) => l.ok);
  const faults = new Map<string, number>();
  for (const l of ok) for (const f of l.faults ?? []) faults.set(f.split(" ")[0]!, (faults.get(f.split(" ")[0]!) ?? 0) + 1);
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
  process.stderr.write(
    [
      `whole-cluster simulation: ${lines.length} schedules in ${((Date.now() - t0) / 1000).toFixed(0)} s (${WORKERS} workers), ${failed.length} violations`,
      `  nodes: ${Math.min(...ok.map((l) => l.nodes!))}-${Math.max(...ok.map((l) => l.nodes!))} (mean ${mean(ok.map((l) => l.nodes!)).toFixed(1)}); events: ${ok.reduce((a, l) => a + l.events!, 0)}; virtual time: ${(ok.reduce((a, l) => a + l.virtualMs!, 0) / 3_600_000).toFixed(1)} h`,
      `  converged after healing: mean ${(mean(ok.map((l) => l.convergedMs!)) / 1000).toFixed(1)} s, max ${(Math.max(...ok.map((l) => l.convergedMs!)) / 1000).toFixed(1)} s`,
      `  faults: ${[...faults].map(([k, v]) => `${k} ${v}`).join(", ")}`,
      ...(failed.length ? [`  failing seeds: ${failed.map((f) => f.seed).join(" ")}`] : []),
      "",
    ].join("\n"),
  );
  if (failed.length) throw new Error(failed.slice(0, 3).map((f) => f.message).join("\n\n"));
  expect(lines.length).toBe(COUNT);
}, 10 * 60_000);
