/**
 * What every fuzz test shares: a fixed seed (FIZZ_FUZZ_SEED to replay or
 * vary it), a run count (FIZZ_FUZZ_RUNS, default 10,000), the peak resident
 * memory of a process, and the rule that a failure prints its seed and the
 * case, so any failure is a reproducible bug report.
 */
import { readFileSync, writeFileSync } from "node:fs";

export const SEED = Number(process.env.FIZZ_FUZZ_SEED ?? 18_2026);
export const RUNS = Number(process.env.FIZZ_FUZZ_RUNS ?? 10_000);
/** A single case taking longer than this is a hang (issue 18's bar). */
export const HANG_MS = 10_000;
/** Peak resident memory a fuzzed process may reach (issue 18's bar). */
export const MAX_RSS_BYTES = 200 * 1024 * 1024;

/** Peak resident set size of a process so far (VmHWM), in bytes; Linux only. */
export function peakRss(pid: number | "self" = "self"): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const m = /^VmHWM:\s+(\d+) kB/m.exec(status);
  if (!m) throw new Error(`no VmHWM in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

/** Starts this process's peak RSS over from its current RSS (Linux clear_refs; no-op where refused). */
export function resetPeakRss(): void {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
  } catch {
    /* the peak then covers the whole process */
  }
}

export const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** A short, printable rendering of a failing case for the report. */
export function show(v: unknown, max = 300): string {
  let s: string;
  try {
    s = typeof v === "string" ? v : JSON.stringify(v);
  } catch {
    s = String(v);
  }
  if (s === undefined) s = String(v);
  return s.length > max ? `${s.slice(0, max)}… (${s.length} chars)` : s;
}

/** A full garbage collection, then the allocator's free pages back to the OS (Bun; on other runtimes, node's --expose-gc global if present). */
export function collect(): void {
  const g = globalThis as { Bun?: { gc(sync: boolean): void; shrink?(): void }; gc?: () => void };
  if (g.Bun) {
    g.Bun.gc(true);
    g.Bun.shrink?.();
  }
  else g.gc?.();
}
