/**
 * Issue 18 acceptance: at least 10,000 generated compose projects end with
 * zero crashes, zero hangs over 10 s and a peak RSS under 200 MB. They run in
 * chunks of 1,000 per worker process (seeds SEED, SEED+1, …), two at a time:
 * a compose load happens once per CLI process, and the agent's long life is
 * what api.fuzz.test.ts measures; over many thousand loads one process's
 * allocator keeps memory JavaScript has long freed (heap 12 MB, resident
 * 110-140 MB after a full collection), which is not what a hostile file costs.
 * A failure prints its seed and fast-check path; replay with
 *   bun test/fuzz/compose-worker.ts 1000 <seed>
 */
import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { join } from "node:path";
import { HANG_MS, MAX_RSS_BYTES, mb, RUNS, SEED } from "./support.ts";

const BUN = join(import.meta.dir, "../../node_modules/.bin/bun");
const CHUNK = 1000;
const PARALLEL = 2;

interface Summary {
  target: string;
  seed: number;
  runs: number;
  diagnostics: number;
  ms: number;
  slowestMs: number;
  slowestCase: string;
  peakRssBytes: number;
  failure?: string;
}

function worker(runs: number, seed: number): Promise<Summary> {
  return new Promise((resolve, reject) => {
    const p = spawn(BUN, [join(import.meta.dir, "compose-worker.ts"), String(runs), String(seed)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.on("data", (c: Buffer) => (out += c.toString()));
    p.stderr.on("data", (c: Buffer) => (err += c.toString()));
    p.on("close", (code, signal) => {
      const line = out.split("\n").find((l) => l.startsWith("{"));
      if (!line) return reject(new Error(`compose fuzz worker (seed ${seed}) died (${code ?? signal}) without a summary: a crash.\n${err.slice(-3000)}`));
      resolve(JSON.parse(line) as Summary);
    });
  });
}

test(`${RUNS} generated compose projects: no crash, no hang, bounded memory (seed ${SEED})`, async () => {
  const chunks = Math.ceil(RUNS / CHUNK);
  const results: Summary[] = [];
  let next = 0;
  const lane = async () => {
    for (let i = next++; i < chunks; i = next++) results.push(await worker(Math.min(CHUNK, RUNS - i * CHUNK), SEED + i));
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
  results.sort((a, b) => a.seed - b.seed);
  for (const r of results) {
    console.log(`fuzz compose seed ${r.seed}: ${r.runs} projects, ${r.diagnostics} diagnostics, ${(r.ms / 1000).toFixed(1)} s, slowest ${r.slowestMs} ms, peak RSS ${mb(r.peakRssBytes)}`);
    if (r.failure) console.log(`FAILED (replay: bun test/fuzz/compose-worker.ts ${CHUNK} ${r.seed}): ${r.failure}`);
  }
  expect(results.map((r) => r.failure ?? "ok")).toEqual(results.map(() => "ok"));
  expect(results.reduce((a, r) => a + r.runs, 0)).toBeGreaterThanOrEqual(RUNS);
  for (const r of results) {
    expect(r.slowestMs).toBeLessThan(HANG_MS);
    expect(r.peakRssBytes).toBeLessThan(MAX_RSS_BYTES);
  }
}, 600_000);
