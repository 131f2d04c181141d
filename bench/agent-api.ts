/**
 * Agent API latency and idle footprint.
 *
 * 1. p50/p99 of GET /v1/containers answering 200 containers (the in-memory
 *    fake backend; swap in the real one once wired) under concurrent load from
 *    wrk (Debian `wrk`) or, without it, a bounded node:http load generator.
 *    Baseline in the same run: a bare node:http server serialising the same
 *    200 containers from the same backend per request (no routing,
 *    validation, auth or metrics), so the ratio is the API layer's overhead.
 * 2. Idle RSS and CPU of a real `fizz agent` process over ~10 s, against a
 *    bare runtime process (`setInterval`) measured the same way. The agent
 *    measured against the target is the executable users install
 *    (dist/fizz-linux-<arch>, brought up to date by scripts/build.sh), against
 *    a bare compiled executable; `bun cmd/fizz.ts agent` (source, transpiled
 *    at load) and `bun` running a bare script are shown for context. RSS is
 *    split into file-backed pages (mostly the executable's own code and
 *    bytecode, clean: the kernel can drop them) and anonymous memory (heap).
 *    File-backed RSS depends on the page cache (the kernel maps cached pages
 *    around each fault): a just-built executable, wholly cached, reads a few MB
 *    higher than one whose pages were partly evicted; compare runs of binaries
 *    of the same age.
 *
 * Targets (printed, not asserted): p99 < 20 ms, idle RSS ≤ 60 MB, idle CPU ≤ 1%.
 * Servers run in child processes so the load generator does not share their
 * event loop. 127.0.0.1 only; bounded in time (~45 s total).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, createServer, request } from "node:http";
import { createServer as netServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");
const BUN = process.execPath;
const TOKEN = "bench-token-0123456789abcdef";
const CONTAINERS = 200;
const DURATION_S = Number(process.env.FIZZ_BENCH_SECONDS ?? 8);
const LEVELS = [8, 32];

// --- child modes -----------------------------------------------------------------
if (process.argv[2] === "--serve-fizz" || process.argv[2] === "--serve-bare") {
  const { FakeBackend } = await import("../test/platform/api/fake-backend.ts");
  const backend = new FakeBackend();
  for (let i = 0; i < CONTAINERS; i++) {
    backend.addContainer({ deployment: `app${i % 10}`, service: `svc${i % 7}`, number: i + 1, ports: ["0.0.0.0:8080->80/tcp"], status: "Up 3 hours (healthy)", health: "healthy" });
  }
  const port = Number(process.argv[3]);
  if (process.argv[2] === "--serve-fizz") {
    const { AgentStore } = await import("../platform/store/index.ts");
    const { createApiServer, createRoutes, EventFeed } = await import("../platform/api/index.ts");
    const { createMetrics } = await import("../platform/metrics.ts");
    const store = AgentStore.open(":memory:");
    const metrics = createMetrics();
    const server = createApiServer({ router: createRoutes({ backend, events: new EventFeed(store), metrics }), token: TOKEN, metrics });
    await server.listen({ kind: "tcp", host: "127.0.0.1", port, tls: false });
  } else {
    await new Promise<void>((r) =>
      createServer(async (_req, res) => {
        const body = JSON.stringify({ containers: await backend.listContainers({}) }) + "\n";
        res.writeHead(200, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body) });
        res.end(body);
      }).listen(port, "127.0.0.1", r),
    );
  }
  console.log("ready");
  await new Promise(() => undefined);
}

if (process.argv[2] === "--idle-bare") {
  setInterval(() => undefined, 1000);
  console.log("ready");
  await new Promise(() => undefined);
}

// --- helpers ---------------------------------------------------------------------
function freePort(): Promise<number> {
  return new Promise((res) => {
    const s = netServer();
    s.listen(0, "127.0.0.1", () => {
      const a = s.address();
      s.close(() => res(a && typeof a === "object" ? a.port : 0));
    });
  });
}

async function startChild(args: string[], readyText = "ready", cmd = BUN): Promise<ChildProcess> {
  const p = spawn(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, FIZZ_LOG_FORMAT: "json", FIZZ_LOG_LEVEL: "warn" } });
  await new Promise<void>((ready, fail) => {
    let out = "";
    const timer = setTimeout(() => fail(new Error(`child ${args.join(" ")} not ready:\n${out}`)), 30_000);
    const on = (c: Buffer) => {
      out += c.toString();
      if (out.includes(readyText)) {
        clearTimeout(timer);
        ready();
      }
    };
    p.stdout!.on("data", on);
    p.stderr!.on("data", on);
    p.once("exit", (code) => fail(new Error(`child exited ${code}:\n${out}`)));
  });
  return p;
}

async function stopChild(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  p.kill("SIGTERM");
  await new Promise((r) => {
    const t = setTimeout(() => p.kill("SIGKILL"), 5000);
    p.once("exit", () => {
      clearTimeout(t);
      r(undefined);
    });
  });
}

interface Latency {
  p50: number;
  p99: number;
  rps: number;
  errors: number;
  tool: string;
}

const haveWrk = spawnSync("wrk", ["--version"], { stdio: "ignore" }).error === undefined;

function parseWrkMs(s: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(s.trim());
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

function loadWrk(port: number, headers: Record<string, string>, CONNECTIONS: number): Latency {
  const h = Object.entries(headers).flatMap(([k, v]) => ["-H", `${k}: ${v}`]);
  const r = spawnSync("wrk", ["-t2", `-c${CONNECTIONS}`, `-d${DURATION_S}s`, "--latency", ...h, `http://127.0.0.1:${port}/v1/containers`], { encoding: "utf8", timeout: (DURATION_S + 20) * 1000 });
  const out = r.stdout;
  const p50 = /^\s+50%\s+(\S+)/m.exec(out)?.[1];
  const p99 = /^\s+99%\s+(\S+)/m.exec(out)?.[1];
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)?.[1];
  const non2xx = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0);
  const sockErr = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = non2xx + (sockErr ? sockErr.slice(1).reduce((n, x) => n + Number(x), 0) : 0);
  return { p50: parseWrkMs(p50 ?? ""), p99: parseWrkMs(p99 ?? ""), rps: Number(rps), errors, tool: `wrk -t2 -c${CONNECTIONS} -d${DURATION_S}s` };
}

/** Fallback: keep-alive node:http clients, bounded by time. */
async function loadNode(port: number, headers: Record<string, string>, CONNECTIONS: number): Promise<Latency> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONNECTIONS });
  const samples: number[] = [];
  let errors = 0;
  const end = performance.now() + DURATION_S * 1000;
  const one = () =>
    new Promise<void>((done) => {
      const t0 = performance.now();
      const req = request({ host: "127.0.0.1", port, path: "/v1/containers", agent, headers }, (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode !== 200) errors++;
          samples.push(performance.now() - t0);
          done();
        });
      });
      req.on("error", () => {
        errors++;
        done();
      });
      req.end();
    });
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < end) await one();
    }),
  );
  agent.destroy();
  samples.sort((a, b) => a - b);
  const q = (p: number) => samples[Math.min(samples.length - 1, Math.floor(p * samples.length))] ?? NaN;
  return { p50: q(0.5), p99: q(0.99), rps: samples.length / DURATION_S, errors, tool: `node:http ${CONNECTIONS} keep-alive connections, ${DURATION_S}s` };
}

async function measureLatency(mode: "--serve-fizz" | "--serve-bare", connections: number): Promise<Latency> {
  const port = await freePort();
  const child = await startChild([join(ROOT, "bench/agent-api.ts"), mode, String(port)]);
  try {
    const headers = { authorization: `Bearer ${TOKEN}` };
    // Warm up (JIT, first allocations).
    await new Promise<void>((r) => {
      let n = 0;
      const go = () => {
        if (n++ >= 200) return r();
        const req = request({ host: "127.0.0.1", port, path: "/v1/containers", headers }, (res) => {
          res.resume();
          res.on("end", go);
        });
        req.on("error", go);
        req.end();
      };
      go();
    });
    return haveWrk ? loadWrk(port, headers, connections) : await loadNode(port, headers, connections);
  } finally {
    await stopChild(child);
  }
}

const clk = Number(spawnSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).stdout.trim()) || 100;

interface ProcSample {
  rssMb: number;
  /** File-backed resident pages (the executable, shared libraries). */
  fileMb: number;
  /** Anonymous resident memory (heaps, stacks). */
  anonMb: number;
  cpuS: number;
}

function procSample(pid: number): ProcSample {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? NaN);
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  return { rssMb: kb("VmRSS") / 1024, fileMb: kb("RssFile") / 1024, anonMb: kb("RssAnon") / 1024, cpuS: ticks / clk };
}

interface Idle {
  rssMb: number;
  fileMb: number;
  anonMb: number;
  cpuPct: number;
}

async function measureIdle(args: string[], readyText: string, seconds: number, cmd = BUN): Promise<Idle> {
  const child = await startChild(args, readyText, cmd);
  try {
    await new Promise((r) => setTimeout(r, 2000)); // let startup settle
    const a = procSample(child.pid!);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const b = procSample(child.pid!);
    const wall = (performance.now() - t0) / 1000;
    return { rssMb: b.rssMb, fileMb: b.fileMb, anonMb: b.anonMb, cpuPct: ((b.cpuS - a.cpuS) / wall) * 100 };
  } finally {
    await stopChild(child);
  }
}

// --- run -----------------------------------------------------------------------
const fmt = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");
console.log(`agent API bench: GET /v1/containers with ${CONTAINERS} containers over TCP with bearer token (${haveWrk ? "wrk" : "node:http load generator; apt-get install wrk for wrk"})`);
console.log(`  (every request serialises the 200 containers; the baseline does the same without the API layer)`);
console.log(`  ${"server".padEnd(28)} ${"conns".padStart(5)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"req/s".padStart(9)} ${"errors".padStart(7)}`);
for (const c of LEVELS) {
  const base = await measureLatency("--serve-bare", c);
  const fizz = await measureLatency("--serve-fizz", c);
  for (const [name, l] of [["bare node:http (baseline)", base], ["fizz API", fizz]] as const) {
    console.log(`  ${name.padEnd(28)} ${String(c).padStart(5)} ${fmt(l.p50).padStart(8)} ${fmt(l.p99).padStart(8)} ${fmt(l.rps, 0).padStart(9)} ${String(l.errors).padStart(7)}`);
  }
  console.log(`  ratio fizz/baseline at ${c}: p50 ${fmt(fizz.p50 / base.p50)}x, p99 ${fmt(fizz.p99 / base.p99)}x, throughput ${fmt(fizz.rps / base.rps)}x; target p99 < 20 ms: ${fizz.p99 < 20 ? "met" : "MISSED"} (${fizz.tool})`);
}
const load = readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
console.log(`  machine load average during the run: ${load} (absolute times are noisy; compare ratios)`);

const IDLE_S = Number(process.env.FIZZ_BENCH_IDLE_SECONDS ?? 10);
const BINARY = join(ROOT, "dist", `fizz-linux-${process.arch === "arm64" ? "arm64" : "x64"}`);
const dir = mkdtempSync(join(tmpdir(), "fizz-bench-agent-"));
try {
  // The installed agent is the compiled executable: bring dist/ up to date (a no-op
  // when it already is) and compile a bare executable to compare it with.
  const build = spawnSync("bash", [join(ROOT, "scripts/build.sh")], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`scripts/build.sh failed:\n${build.stdout}\n${build.stderr}`);
  writeFileSync(join(dir, "idle.ts"), `setInterval(() => undefined, 1000);\nconsole.log("ready");\n`);
  const bareBin = join(dir, "idle");
  const compile = spawnSync(BUN, ["build", "--compile", "--minify", "--bytecode", "--format=esm", join(dir, "idle.ts"), "--outfile", bareBin], { cwd: dir, encoding: "utf8" });
  if (compile.status !== 0) throw new Error(`bun build --compile of the bare baseline failed:\n${compile.stdout}\n${compile.stderr}`);

  const agentArgs = (name: string) => ["agent", "--data-dir", join(dir, `data-${name}`), "--api", `unix:${join(dir, `${name}.sock`)}`, "--log-level", "info"];
  const rows: [string, Idle][] = [
    ["bare runtime, bun script", await measureIdle([join(ROOT, "bench/agent-api.ts"), "--idle-bare"], "ready", IDLE_S)],
    ["bare compiled executable", await measureIdle([], "ready", IDLE_S, bareBin)],
    ["fizz agent, bun cmd/fizz.ts", await measureIdle([join(ROOT, "cmd/fizz.ts"), ...agentArgs("source")], "API listening", IDLE_S)],
    [`fizz agent, dist/${BINARY.split("/").pop()}`, await measureIdle(agentArgs("dist"), "API listening", IDLE_S, BINARY)],
  ];
  const [, bareBinIdle] = rows[1]!;
  const [, agent] = rows[3]!;
  console.log(`idle footprint over ${IDLE_S}s (after 2s settle); RSS = file-backed pages + anonymous memory:`);
  console.log(`  ${"process".padEnd(34)} ${"RSS MB".padStart(8)} ${"file MB".padStart(8)} ${"anon MB".padStart(8)} ${"CPU %".padStart(8)}`);
  for (const [name, r] of rows) {
    console.log(`  ${name.padEnd(34)} ${fmt(r.rssMb, 1).padStart(8)} ${fmt(r.fileMb, 1).padStart(8)} ${fmt(r.anonMb, 1).padStart(8)} ${fmt(r.cpuPct).padStart(8)}`);
  }
  console.log(`  ratio compiled agent/bare compiled executable: RSS ${fmt(agent.rssMb / bareBinIdle.rssMb)}x`);
  console.log(`  target idle RSS ≤ 60 MB (compiled agent): ${agent.rssMb <= 60 ? "met" : "MISSED"}; idle CPU ≤ 1%: ${agent.cpuPct <= 1 ? "met" : "MISSED"}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
process.exit(0);
