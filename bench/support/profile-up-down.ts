/**
 * Where `fizz up -d` / `fizz down` spend their time: the same pipeline as
 * cmd/up.ts (detached, no image steps) and cmd/down.ts, run in process with a
 * clock around each phase (load, connect, readActual, plan, execute) and around
 * every executor step, at the executor's default parallelism (8) and at higher
 * ones, alternated with the floor (bench/support/engine-floor.ts) in the same
 * run. Not part of scripts/bench.sh; a diagnostic for bench/up-down.ts.
 * Run: bun bench/support/profile-up-down.ts [N] [parallelism ...]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProjectOrThrow } from "../../cmd/compose-load.ts";
import { planDown } from "../../core/reconcile/lifecycle.ts";
import { plan } from "../../core/reconcile/plan.ts";
import { EngineExecutor } from "../../platform/deploy/engine-adapter.ts";
import { executePlan, type StepEvent } from "../../platform/deploy/executor.ts";
import { prepareProject, readActual } from "../../platform/deploy/project.ts";
import { connectEngine } from "../../platform/engine/index.ts";
import { EngineApi, floorDown, floorUp, sweep, type FloorService } from "./engine-floor.ts";

const N = Number(process.argv[2] ?? 50);
const PARALLELISM = process.argv.slice(3).map(Number).filter((p) => p > 0);
const LEVELS = PARALLELISM.length ? PARALLELISM : [8, 64];
const ROUNDS = Math.max(1, Number(process.env.FIZZ_BENCH_ROUNDS ?? 2));
const SOCKET = "/var/run/docker.sock";
const RUN = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const PREFIX = `fzp${RUN}`;
const RUN_LABEL = { "io.fizz.bench.run": RUN };
const CMD = ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"];

const svcs: FloorService[] = Array.from({ length: N }, (_, i) => ({ name: `svc${i}`, image: "fizz-test/busybox:1", cmd: CMD, env: { SERVICE_INDEX: String(i) }, labels: {} }));
const yaml =
  "services:\n" +
  svcs
    .map((s) => `  ${s.name}:\n    image: ${s.image}\n    command: ${JSON.stringify(s.cmd)}\n    environment: {SERVICE_INDEX: "${s.env.SERVICE_INDEX}"}\n    labels: {io.fizz.bench.run: "${RUN}"}\n`)
    .join("");

interface Phases {
  [k: string]: number;
}

/** Executor steps: summed busy time per kind, the critical span per kind, and peak concurrency. */
function stepClock() {
  const started = new Map<string, number>();
  const busy = new Map<string, { n: number; total: number; first: number; last: number }>();
  let inflight = 0;
  let peak = 0;
  const onEvent = (e: StepEvent) => {
    if (e.type === "rollback") return;
    const t = performance.now();
    if (e.type === "start") {
      started.set(e.step.id, t);
      peak = Math.max(peak, ++inflight);
    } else if (e.type === "done" || e.type === "failed") {
      inflight--;
      const t0 = started.get(e.step.id)!;
      const b = busy.get(e.step.kind) ?? { n: 0, total: 0, first: t0, last: t };
      b.n++;
      b.total += t - t0;
      b.first = Math.min(b.first, t0);
      b.last = Math.max(b.last, t);
      busy.set(e.step.kind, b);
    }
  };
  const summary = () =>
    [...busy].map(([k, b]) => `${k} ×${b.n}: mean ${(b.total / b.n).toFixed(0)} ms/call, span ${(b.last - b.first).toFixed(0)} ms`).join("; ") + `; peak in flight ${peak}`;
  return { onEvent, summary };
}

async function fizzUpDown(file: string, project: string, parallelism: number): Promise<{ up: Phases; down: Phases; upSteps: string; downSteps: string }> {
  const up: Phases = {};
  const down: Phases = {};
  let t = performance.now();
  const lap = (p: Phases, k: string) => {
    const now = performance.now();
    p[k] = now - t;
    t = now;
  };
  const opts = { files: [file], projectName: project, projectDirectory: undefined, envFiles: [], profiles: [] };
  const { project: proj } = await loadProjectOrThrow(opts);
  lap(up, "load");
  const engine = await connectEngine({ engine: "docker" });
  lap(up, "connect");
  const prepared = prepareProject(proj, { hostEnv: process.env, fizzVersion: "bench" });
  lap(up, "prepare");
  const actual = await readActual(engine, proj.name);
  lap(up, "readActual");
  const p = plan(prepared.desired, actual, {});
  lap(up, "plan");
  const upClock = stepClock();
  const r = await executePlan(p, new EngineExecutor(engine, prepared.builds), { project: proj.name, instance: { fizzVersion: "bench" }, onEvent: upClock.onEvent, parallelism, rollbackOnFailure: true });
  if (!r.ok) throw r.error;
  lap(up, "execute");
  await engine.close();
  lap(up, "close");

  t = performance.now();
  const { project: proj2 } = await loadProjectOrThrow(opts);
  lap(down, "load");
  const engine2 = await connectEngine({ engine: "docker" });
  lap(down, "connect");
  const desired = prepareProject(proj2, { hostEnv: process.env }).desired;
  const actual2 = await readActual(engine2, proj2.name);
  lap(down, "readActual");
  const pd = planDown(desired, actual2, {});
  lap(down, "plan");
  const downClock = stepClock();
  const rd = await executePlan(pd, new EngineExecutor(engine2), { project: proj2.name, instance: {}, onEvent: downClock.onEvent, parallelism });
  if (!rd.ok) throw rd.error;
  lap(down, "execute");
  await engine2.close();
  return { up, down, upSteps: upClock.summary(), downSteps: downClock.summary() };
}

const total = (p: Phases) => Object.values(p).reduce((a, b) => a + b, 0);
const show = (p: Phases) => Object.entries(p).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(", ");

const api = new EngineApi(SOCKET);
const dir = mkdtempSync(join(tmpdir(), "fizz-profile-up-down-"));
try {
  const file = join(dir, "compose.yaml");
  writeFileSync(file, yaml);
  let seq = 0;
  console.log(`profile: N=${N}, parallelism ${LEVELS.join("/")}, ${ROUNDS} round(s), docker`);
  for (let r = 0; r < ROUNDS; r++) {
    for (const par of LEVELS) {
      const x = await fizzUpDown(file, `${PREFIX}-p${par}x${seq++}`, par);
      console.log(`  fizz in-process, parallelism ${par}: up ${total(x.up).toFixed(0)} ms (${show(x.up)})`);
      console.log(`      up steps: ${x.upSteps}`);
      console.log(`    down ${total(x.down).toFixed(0)} ms (${show(x.down)})`);
      console.log(`      down steps: ${x.downSteps}`);
    }
    const project = `${PREFIX}-floor${seq++}`;
    let t0 = performance.now();
    const ids = await floorUp(api, project, svcs, RUN_LABEL);
    const fu = performance.now() - t0;
    t0 = performance.now();
    await floorDown(api, project, ids);
    console.log(`  floor: up ${fu.toFixed(0)} ms, down ${(performance.now() - t0).toFixed(0)} ms`);
  }
} finally {
  await sweep(api, RUN_LABEL, PREFIX).catch(() => {});
  await api.close();
  rmSync(dir, { recursive: true, force: true });
}
