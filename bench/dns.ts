/**
 * DNS: Fizz's cluster resolver vs dnsmasq serving the same names (100
 * services × 3 replicas, asked as `svcN.bench A`, three A records per answer),
 * both in their own process on loopback, measured with dnsperf in the same
 * run: throughput with 4 concurrent clients for 5 s each, then latency
 * percentiles at a fixed 2,000 queries/s from dnsperf's per-query times.
 * Targets (issue 12): throughput ≥ 1× dnsmasq, p99 < 1 ms.
 *
 *   bun bench/dns.ts        (needs dnsperf and dnsmasq: test/setup-engines.sh)
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SERVICES, hostsFile } from "./support/dns-names.ts";

for (const bin of ["dnsperf", "dnsmasq"]) {
  if (spawnSync("sh", ["-c", `command -v ${bin}`]).status !== 0) {
    console.error(`bench/dns: ${bin} is missing (apt-get install dnsperf dnsmasq)`);
    process.exit(1);
  }
}
const dir = mkdtempSync(join(tmpdir(), "fizz-dns-bench-"));
const FIZZ_PORT = 15380;
const DNSMASQ_PORT = 15381;
const procs: ChildProcess[] = [];

function waitLine(p: ChildProcess, line: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no '${line}' within ${ms} ms`)), ms);
    p.stdout?.on("data", (d: Buffer) => {
      if (d.toString().includes(line)) {
        clearTimeout(t);
        resolve();
      }
    });
  });
}

function dnsperf(port: number, args: string[]): string {
  const r = spawnSync("dnsperf", ["-s", "127.0.0.1", "-p", String(port), "-d", join(dir, "queries"), ...args], { encoding: "utf8", maxBuffer: 256 << 20, timeout: 60_000 });
  if (r.status !== 0) throw new Error(`dnsperf failed: ${r.stderr}`);
  return r.stdout;
}

function throughput(port: number): { qps: number; lost: number } {
  const out = dnsperf(port, ["-c", "4", "-l", "5"]);
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1]);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(out)?.[1]);
  return { qps, lost };
}

function latency(port: number): { p50: number; p99: number; max: number; n: number } {
  const out = dnsperf(port, ["-c", "1", "-l", "3", "-Q", "2000", "-v"]);
  const ms = out
    .split("\n")
    .filter((l) => l.startsWith("> NOERROR"))
    .map((l) => Number(l.split(" ").pop()) * 1000)
    .sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!;
  return { p50: q(0.5), p99: q(0.99), max: ms[ms.length - 1]!, n: ms.length };
}

try {
  writeFileSync(join(dir, "hosts"), hostsFile());
  writeFileSync(join(dir, "queries"), Array.from({ length: SERVICES }, (_, i) => `svc${i}.bench A`).join("\n") + "\n");
  const fizz = spawn(process.execPath, [join(import.meta.dir, "support", "dns-server.ts"), String(FIZZ_PORT)], { stdio: ["ignore", "pipe", "inherit"] });
  procs.push(fizz);
  const dm = spawn("dnsmasq", ["--no-daemon", "--no-resolv", "--no-hosts", `--addn-hosts=${join(dir, "hosts")}`, `--port=${DNSMASQ_PORT}`, "--listen-address=127.0.0.1", "--bind-interfaces", "--local-ttl=5", "--log-facility=/dev/null"], { stdio: ["ignore", "pipe", "pipe"] });
  procs.push(dm);
  await waitLine(fizz, "ready", 10_000);
  await new Promise((r) => setTimeout(r, 500));
  // Both answer the same three records for a name before anything is timed.
  for (const port of [FIZZ_PORT, DNSMASQ_PORT]) {
    const r = spawnSync("dig", ["@127.0.0.1", "-p", String(port), "+short", "svc7.bench"], { encoding: "utf8" });
    const n = r.stdout.trim().split("\n").filter(Boolean).length;
    if (n !== 3) throw new Error(`port ${port} answered ${n} records for svc7.bench, want 3`);
  }
  dnsperf(FIZZ_PORT, ["-c", "2", "-l", "1"]); // warm up the JIT
  const tf = throughput(FIZZ_PORT);
  const td = throughput(DNSMASQ_PORT);
  const lf = latency(FIZZ_PORT);
  const ld = latency(DNSMASQ_PORT);
  const f = (x: number) => x.toFixed(3);
  console.log("DNS resolver, 300 A records (100 names × 3), loopback, dnsperf");
  console.log(`${"".padEnd(10)} ${"queries/s".padStart(10)} ${"lost".padStart(6)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)} ${"max ms".padStart(8)}   (latency at 2,000 q/s, ${lf.n} / ${ld.n} queries)`);
  console.log(`${"fizz".padEnd(10)} ${Math.round(tf.qps).toString().padStart(10)} ${String(tf.lost).padStart(6)} ${f(lf.p50).padStart(8)} ${f(lf.p99).padStart(8)} ${f(lf.max).padStart(8)}`);
  console.log(`${"dnsmasq".padEnd(10)} ${Math.round(td.qps).toString().padStart(10)} ${String(td.lost).padStart(6)} ${f(ld.p50).padStart(8)} ${f(ld.p99).padStart(8)} ${f(ld.max).padStart(8)}`);
  console.log(`fizz / dnsmasq throughput: ${(tf.qps / td.qps).toFixed(2)}x (target >= 1x); fizz p99 ${f(lf.p99)} ms (target < 1 ms)`);
} finally {
  for (const p of procs) p.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
}
