/**
 * HTTP through Fizz's ingress vs haproxy (Debian) in front of the same two
 * backends, at 1 and 32 connections, measured with wrk on loopback in the same
 * run: requests/s and p50/p99 latency, the median of several interleaved
 * rounds (this 2-core machine is shared and noisy, so one run says little).
 * The baseline is haproxy with one thread (Fizz's data path is one event
 * loop); haproxy with its default threads and the direct path (wrk straight
 * to a backend) are printed for context, and so is the floor under Fizz: a
 * bare relay on the same socket layer with no HTTP (bench/support/bare-relay.ts).
 * The backends are haproxy frontends answering a fixed 200, so the numbers are
 * the proxies' own cost. Fizz runs with the agent's metrics recorded. Besides
 * the medians it prints the spread (min-max over the rounds), each round's
 * Fizz/haproxy ratio (the two ran in the same round), and each proxy process's CPU
 * per request (from /proc/<pid>/stat), which the machine's load disturbs less
 * than requests/s. It also prints how busy the load generator (wrk, one
 * thread) and the backends were, as a share of one core: a load generator
 * near a full core would cap every subject alike and squeeze the ratios
 * toward 1. --compare=TREE adds Fizz's ingress from another checkout (e.g. a
 * worktree of main) as one more subject, so a change is measured against the
 * code before it in the same rounds.
 * Targets (issue 13): Fizz ≥ 0.8x haproxy's requests/s, p99 ≤ 1.5x.
 *
 *   bun bench/ingress.ts [--rounds=3] [--seconds=4] [--compare=/path/to/other/checkout]
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
const ROUNDS = arg("rounds", 3);
const SECONDS = arg("seconds", 4);
const COMPARE = process.argv.find((a) => a.startsWith("--compare="))?.slice("--compare=".length);
// Ports the OS says are free now (the machine is shared; a fixed range collides).
const free = await Promise.all(
  Array.from({ length: 7 }, () => new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  })),
);
const PORTS = { b1: free[0]!, b2: free[1]!, hap1: free[2]!, hapN: free[3]!, fizz: free[4]!, bare: free[5]!, compare: free[6]! };

for (const tool of ["wrk", "haproxy"]) {
  if (spawnSync("sh", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`]).status !== 0) {
    console.error(`bench/ingress: ${tool} is missing (apt-get install ${tool}, or bash test/setup-engines.sh)`);
    process.exit(1);
  }
}

const dir = mkdtempSync(join(tmpdir(), "fizz-bench-ingress-"));
const children: ChildProcess[] = [];
const cleanup = () => {
  for (const c of children) c.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
};
process.on("exit", cleanup);
process.on("SIGINT", () => process.exit(130));

const DEFAULTS = "defaults\n  mode http\n  timeout connect 5s\n  timeout client 30s\n  timeout server 30s\n";
function haproxy(name: string, cfg: string): ChildProcess {
  const f = join(dir, `${name}.cfg`);
  writeFileSync(f, cfg);
  const c = spawn("haproxy", ["-db", "-f", f], { stdio: ["ignore", "ignore", "inherit"] });
  children.push(c);
  return c;
}
const body = "hello from a backend, 32 bytes\n";
const backends = haproxy("backends", `global\n  nbthread 1\n${DEFAULTS}frontend b1\n  bind 127.0.0.1:${PORTS.b1}\n  http-request return status 200 content-type text/plain string "${body.trim()}"\nfrontend b2\n  bind 127.0.0.1:${PORTS.b2}\n  http-request return status 200 content-type text/plain string "${body.trim()}"\n`);
const front = (port: number) =>
  `${DEFAULTS}  option forwardfor\n  option http-keep-alive\nfrontend f\n  bind 127.0.0.1:${port}\n  default_backend be\nbackend be\n  balance leastconn\n  server s1 127.0.0.1:${PORTS.b1}\n  server s2 127.0.0.1:${PORTS.b2}\n`;
const hap1 = haproxy("haproxy1", `global\n  nbthread 1\n${front(PORTS.hap1)}`);
haproxy("haproxyN", `global\n${front(PORTS.hapN)}`);
async function bunProxy(script: string, port: number, tree = join(import.meta.dir, "..")): Promise<ChildProcess> {
  const c = spawn(process.execPath, [join(tree, "bench", "support", script), String(port), String(PORTS.b1), String(PORTS.b2)], { stdio: ["ignore", "pipe", "inherit"] });
  children.push(c);
  await new Promise<void>((resolve, reject) => {
    c.stdout!.on("data", (d) => String(d).includes("ready") && resolve());
    c.once("exit", (code) => reject(new Error(`${script} exited (${code})`)));
  });
  return c;
}
const fizz = await bunProxy("ingress-proxy.ts", PORTS.fizz);
const bare = await bunProxy("bare-relay.ts", PORTS.bare);
const compare = COMPARE ? await bunProxy("ingress-proxy.ts", PORTS.compare, COMPARE) : undefined;

async function ready(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const r = spawnSync("wrk", ["-t1", "-c1", "-d1s", "-H", "Host: bench.test", `http://127.0.0.1:${port}/`], { encoding: "utf8" });
    if (/Requests\/sec/.test(r.stdout) && !/Non-2xx|Socket errors/.test(r.stdout)) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`nothing answers on ${port}`);
}
for (const p of [PORTS.b1, PORTS.hap1, PORTS.hapN, PORTS.fizz, PORTS.bare, ...(compare ? [PORTS.compare] : [])]) await ready(p);

/** CPU seconds (user + system) of this process's waited-for children so far (wrk, run with spawnSync). */
function childrenCpuSeconds(): number {
  const f = readFileSync("/proc/self/stat", "utf8").split(") ")[1]!.split(" ");
  return (Number(f[13]) + Number(f[14])) / 100;
}

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

interface Sample {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  /** The proxy process's CPU per request, microseconds (NaN where not measured). */
  cpuUs: number;
  /** Share of one core the load generator (wrk) and the backends used. */
  wrkBusy: number;
  backendsBusy: number;
}

function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(v);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "ms" ? n : n * 1000;
}

function wrk(port: number, conns: number, pid?: number): Sample {
  const cpu0 = cpuSeconds(pid);
  const wrk0 = childrenCpuSeconds();
  const be0 = cpuSeconds(backends.pid);
  const t0 = performance.now();
  const r = spawnSync("wrk", ["-t1", `-c${conns}`, `-d${SECONDS}s`, "--latency", "-H", "Host: bench.test", `http://127.0.0.1:${port}/`], { encoding: "utf8", timeout: (SECONDS + 20) * 1000 });
  const out = r.stdout ?? "";
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? NaN);
  const p50 = toMs(/\s50%\s+(\S+)/.exec(out)?.[1] ?? "");
  const p99 = toMs(/\s99%\s+(\S+)/.exec(out)?.[1] ?? "");
  const errors = Number(/Non-2xx or 3xx responses:\s+(\d+)/.exec(out)?.[1] ?? 0) + Number(/Socket errors:.*?(\d+)/.exec(out)?.[1] ?? 0);
  const cpuUs = ((cpuSeconds(pid) - cpu0) * 1e6) / (rps * SECONDS);
  const wall = (performance.now() - t0) / 1000;
  const wrkBusy = (childrenCpuSeconds() - wrk0) / wall;
  const backendsBusy = (cpuSeconds(backends.pid) - be0) / wall;
  return { rps, p50, p99, errors, cpuUs, wrkBusy, backendsBusy };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const SUBJECTS = [
  { name: "fizz ingress", port: PORTS.fizz, pid: fizz.pid },
  ...(compare ? [{ name: "fizz ingress (--compare tree)", port: PORTS.compare, pid: compare.pid }] : []),
  { name: "haproxy 1 thread (baseline)", port: PORTS.hap1, pid: hap1.pid },
  { name: "haproxy default threads", port: PORTS.hapN, pid: undefined },
  { name: "bare relay, Bun sockets (floor)", port: PORTS.bare, pid: bare.pid },
  { name: "direct to a backend", port: PORTS.b1, pid: undefined },
];

console.log(`bench/ingress: wrk -t1 -d${SECONDS}s, ${ROUNDS} interleaved rounds, median shown (min-max in brackets); backends: 2 haproxy static 200s; load average at start ${readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ")}`);
const results = new Map<string, Sample[]>();
for (const conns of [1, 32]) {
  for (let round = 0; round < ROUNDS; round++) {
    // Rotate the order so no subject always runs first (or right after the heaviest).
    const order = SUBJECTS.map((_, i) => SUBJECTS[(i + round) % SUBJECTS.length]!);
    for (const s of order) {
      const k = `${s.name}@${conns}`;
      results.set(k, [...(results.get(k) ?? []), wrk(s.port, conns, s.pid)]);
    }
  }
}

const pad = (s: string, n: number) => s.padEnd(n);
const fmt = (n: number, d = 0) => (Number.isFinite(n) ? n.toFixed(d) : "n/a");
const range = (xs: number[], d = 0) => `${fmt(median(xs), d)} [${fmt(Math.min(...xs), d)}-${fmt(Math.max(...xs), d)}]`;
console.log(`\n${pad("subject", 33)}${pad("conns", 7)}${pad("req/s", 24)}${pad("p50 ms", 10)}${pad("p99 ms", 24)}${pad("CPU us/req", 20)}${pad("wrk core", 10)}${pad("backends", 10)}errors`);
const agg = (k: string) => {
  const xs = results.get(k)!;
  return { rps: median(xs.map((x) => x.rps)), p50: median(xs.map((x) => x.p50)), p99: median(xs.map((x) => x.p99)), errors: xs.reduce((a, x) => a + x.errors, 0), xs };
};
for (const conns of [1, 32]) {
  for (const s of SUBJECTS) {
    const a = agg(`${s.name}@${conns}`);
    const cpu = a.xs.map((x) => x.cpuUs);
    const busy = (xs: number[]) => `${fmt(median(xs) * 100)}%`;
    console.log(`${pad(s.name, 33)}${pad(String(conns), 7)}${pad(range(a.xs.map((x) => x.rps)), 24)}${pad(fmt(a.p50, 3), 10)}${pad(range(a.xs.map((x) => x.p99), 2), 24)}${pad(cpu.every(Number.isFinite) ? range(cpu, 1) : "", 20)}${pad(busy(a.xs.map((x) => x.wrkBusy)), 10)}${pad(busy(a.xs.map((x) => x.backendsBusy)), 10)}${a.errors}`);
  }
}
console.log("");
for (const conns of [1, 32]) {
  if (compare) {
    const f = agg(`fizz ingress@${conns}`);
    const c = agg(`fizz ingress (--compare tree)@${conns}`);
    const h = agg(`haproxy 1 thread (baseline)@${conns}`);
    const perRound = f.xs.map((x, i) => x.rps / c.xs[i]!.rps);
    console.log(`${conns} conn(s): --compare tree/haproxy req/s ${(c.rps / h.rps).toFixed(2)}x; fizz/--compare tree req/s ${(f.rps / c.rps).toFixed(2)}x (rounds ${perRound.map((x) => x.toFixed(2)).join(", ")}), CPU per request ${(median(f.xs.map((x) => x.cpuUs)) / median(c.xs.map((x) => x.cpuUs))).toFixed(2)}x`);
  }
  const f = agg(`fizz ingress@${conns}`);
  const h = agg(`haproxy 1 thread (baseline)@${conns}`);
  const hn = agg(`haproxy default threads@${conns}`);
  const b = agg(`bare relay, Bun sockets (floor)@${conns}`);
  const rr = f.rps / h.rps;
  const pr = f.p99 / h.p99;
  const perRound = (m: "rps" | "p99") => f.xs.map((x, i) => x[m] / h.xs[i]![m]);
  const span = (xs: number[]) => `${fmt(Math.min(...xs), 2)}-${fmt(Math.max(...xs), 2)}`;
  const cpu = median(f.xs.map((x) => x.cpuUs)) / median(h.xs.map((x) => x.cpuUs));
  console.log(
    `${conns} conn(s): fizz/haproxy req/s ${rr.toFixed(2)}x (rounds ${span(perRound("rps"))}; target >= 0.80x: ${rr >= 0.8 ? "met" : "NOT met"}), p99 ${pr.toFixed(2)}x (rounds ${span(perRound("p99"))}; target <= 1.50x: ${pr <= 1.5 ? "met" : "NOT met"}); vs haproxy default threads: req/s ${(f.rps / hn.rps).toFixed(2)}x, p99 ${(f.p99 / hn.p99).toFixed(2)}x; bare relay/haproxy: req/s ${(b.rps / h.rps).toFixed(2)}x, p99 ${(b.p99 / h.p99).toFixed(2)}x; CPU per request fizz/haproxy ${cpu.toFixed(2)}x`,
  );
}
process.exit(0);
