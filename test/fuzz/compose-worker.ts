/**
 * Compose loader fuzz, run as its own process by compose.fuzz.test.ts so its
 * peak memory is its own: RUNS generated projects (hostile documents, deep
 * and huge text, byte-level damage, hostile paths read through the real
 * bounded reader) each go through load, normalise, validate, serialise
 * (fizz config), hash and JSON (what the store keeps). A case passes when
 * nothing throws, every diagnostic is a bounded compose.* message, and it
 * took under HANG_MS. Prints one JSON summary line; on failure, the seed,
 * the fast-check path and the case.
 * Run: bun test/fuzz/compose-worker.ts [runs] [seed]
 */
import fc from "fast-check";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { loadProject } from "../../core/compose/load.ts";
import { serviceConfigHash } from "../../core/compose/hash.ts";
import { projectYaml } from "../../core/compose/serialize.ts";
import { tooDeepAt } from "../../core/nesting.ts";
import { createFsReader } from "../../platform/fs-reader.ts";
import { deepText, hostileDocument, hugeText, mutation, unicode } from "./hostile.ts";
import { collect, HANG_MS, peakRss, RUNS, SEED, show } from "./support.ts";

const runs = Number(process.argv[2] ?? RUNS);
const seed = Number(process.argv[3] ?? SEED);

// Special files the hostile paths name: a fifo with no writer, a listening socket, a directory.
const dir = mkdtempSync(join(tmpdir(), "fizz-fuzz-compose-"));
const fifo = join(dir, "fifo");
execFileSync("mkfifo", [fifo]);
const sockPath = join(dir, "sock");
const sock = createServer();
await new Promise<void>((r) => sock.listen(sockPath, r));
mkdirSync(join(dir, "adir"));
const special = [fifo, sockPath, join(dir, "adir")];

/** Files of the virtual project directory /p; anything absolute outside it is read from the real disk, bounded. */
const fsReader = createFsReader();
function readerFor(files: Record<string, string>) {
  return {
    read(path: string, what?: string): string | undefined {
      if (Object.hasOwn(files, path)) return files[path];
      if (path.startsWith("/p/")) return undefined;
      return fsReader.read(path, what);
    },
  };
}

const project = fc.record({
  doc: hostileDocument(special),
  /** Appended as text: deep nesting and huge values the object generator does not build. */
  extra: fc.oneof(
    { arbitrary: fc.constant(null), weight: 12 },
    { arbitrary: deepText.map((t) => `x-deep: ${t}\n`), weight: 1 },
    { arbitrary: hugeText.map((h) => `x-big: "${h}"\n`), weight: 1 },
    { arbitrary: hugeText.map((h) => `services:\n  ${h.slice(0, 20_000)}:\n    image: "${h}"\n`), weight: 1 },
  ),
  // fc.option's freq: one case in `freq` is null.
  damage: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: mutation, weight: 1 }),
  other: fc.oneof({ arbitrary: fc.constant(null), weight: 3 }, { arbitrary: hostileDocument(special), weight: 1 }),
  dotenv: fc.option(fc.oneof(fc.constantFrom("X=1\nY=${X}\n", "A=${A}\n", "\u0000=1\n", "B='unterminated\n", `BIG=${"e".repeat(200_000)}\n`), unicode({ maxLength: 200 })), { freq: 2 }),
  multi: fc.boolean(),
});

let done = 0;
/**
 * Garbage allowed to pile up between collections (JSC collects lazily: many
 * large cases would add up past what any one needs). A 1 MB hostile scalar
 * costs 25-30 MB of resident memory while it loads; with 48 MB of slack a run
 * peaked at 180-212 MB (the CI of 025ad49 failed at 211.7 MB), with 24 MB and
 * the allocator's free pages returned at each collection (collect() calls
 * Bun.shrink) at 154-160 MB for the same seeds.
 */
const GC_SLACK = Number(process.env.FUZZ_GC_SLACK_MB ?? 24) * 1024 * 1024;
let rssAfterGc = process.memoryUsage().rss;
let slowest = { ms: 0, case: "" };
let diagnostics = 0;
const started = performance.now();
let failure: string | undefined;
/** The failing case's error and text: fast-check's report of a huge counterexample would bury them. */
let lastError: { error: string; text: string } | undefined;

type Case = typeof project extends fc.Arbitrary<infer T> ? T : never;

function textOf({ doc, extra, damage, other, multi }: Case): string {
  let text: string;
  try {
    text = stringify(doc, { aliasDuplicateObjects: false });
  } catch {
    text = JSON.stringify(doc) ?? "{}";
  }
  if (extra) text += extra;
  if (multi && other) text += `---\n${stringify(other, { aliasDuplicateObjects: false })}`;
  return damage ? damage(text) : text;
}

/** One project through every stage; throws on anything a user must never see. */
function check(c: Case, text: string): void {
  const files: Record<string, string> = { "/p/compose.yaml": text };
  if (c.other) files["/p/other.yaml"] = stringify(c.other, { aliasDuplicateObjects: false });
  if (c.dotenv !== null) files["/p/.env"] = c.dotenv;
  const t0 = performance.now();
  const r = loadProject({ cwd: "/p", env: { HOME: "/p", X: "x" }, reader: readerFor(files) });
  for (const d of r.diagnostics) {
    if (typeof d.message !== "string" || !d.code.startsWith("compose.")) throw new Error(`bad diagnostic ${show(d)}`);
    if (d.message.length > 1200 || (d.path?.length ?? 0) > 1200) throw new Error(`unbounded diagnostic (${d.message.length} chars): ${show(d.message)}`);
  }
  diagnostics += r.diagnostics.length;
  const p = r.project;
  if (p && !r.diagnostics.some((d) => d.severity === "error")) {
    if (tooDeepAt(p)) throw new Error("a project deeper than the nesting limit was accepted");
    projectYaml(p);
    for (const s of Object.keys(p.services)) serviceConfigHash(p, s);
    JSON.parse(JSON.stringify(p));
  }
  const ms = performance.now() - t0;
  if (ms > slowest.ms) slowest = { ms, case: show(text, 200) };
  if (ms > HANG_MS) throw new Error(`took ${Math.round(ms)} ms (hang bar ${HANG_MS} ms)`);
}

try {
  fc.assert(
    fc.property(project, (c) => {
      const text = textOf(c);
      try {
        check(c, text);
      } catch (e) {
        lastError = { error: e instanceof Error ? `${e.message}\n${e.stack ?? ""}`.slice(0, 2000) : String(e), text: show(text, 400) };
        throw e;
      }
      done++;
      if (process.memoryUsage().rss > rssAfterGc + GC_SLACK) {
        collect();
        rssAfterGc = process.memoryUsage().rss;
      }
    }),
    { seed, numRuns: runs, endOnFailure: true },
  );
} catch (e) {
  const m = e instanceof Error ? e.message : String(e);
  // "{ seed: N, path: "P", … }": replay with FIZZ_FUZZ_SEED=N (fast-check's path pins the exact case).
  const where = /\{ seed: -?\d+, path: "[^"]*"/.exec(m)?.[0] ?? `seed ${seed}`;
  failure = `${where} }: ${lastError?.error ?? m.slice(0, 2000)}\ncase: ${lastError?.text ?? "(see above)"}`;
} finally {
  sock.close();
  rmSync(dir, { recursive: true, force: true });
}
console.log(
  JSON.stringify({
    target: "compose",
    seed,
    runs: done,
    diagnostics,
    ms: Math.round(performance.now() - started),
    slowestMs: Math.round(slowest.ms),
    slowestCase: slowest.case,
    peakRssBytes: peakRss(),
    ...(failure ? { failure: failure.slice(0, 4000) } : {}),
  }),
);
process.exit(failure ? 1 : 0);
