/**
 * Where a cluster deploy's time goes (a diagnostic for bench/cluster-vs-swarm.ts,
 * not part of scripts/bench.sh). On the 3-host harness, as the bench does: a
 * cluster formed and settled, then `fizz up -d` of 6 replicas (the compiled
 * CLI) timed until the hosts' engines show all 6 running; then, per
 * host, a timeline relative to the command's start from the agents' event
 * logs (accepted, step.* events, converged) and their engines' events
 * (container create/start, network connect), and the agents' debug log lines
 * (reconcile passes, the deployment's PUT). No Swarm: cheap enough to iterate
 * with; add log lines where a phase needs a closer look.
 * Also prints the CPU time each host's processes used until all 6 ran (agent,
 * dockerd, containerd; own, and reaped children's apart, from /proc).
 * Needs root; run under the heavy lock:
 *   flock -o /tmp/fizz-heavy.lock bun bench/support/profile-cluster-deploy.ts [--deploys N] [--bridge]
 * (`--bridge`: the service has `network_mode: bridge`, the bench's "no network
 * of its own" shape, instead of its project network.)
 * A CPU profile of each agent (written when it stops, one .md per agent):
 *   FIZZ_AGENT_RUNTIME_FLAGS="--cpu-prof-md --cpu-prof-dir=/tmp/prof" flock -o /tmp/fizz-heavy.lock \
 *     bun bench/support/profile-cluster-deploy.ts
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCluster, type Cluster } from "../../test/cluster/harness.ts";
import { agentClient, fizzOn, formFizzCluster } from "../../test/cluster/fizz-cluster.ts";
import { compiledCli } from "./compiled-cli.ts";
import { runningContainers } from "./running-containers.ts";
import { agentThreadCpu, hostCpu as cpu, cpuDelta } from "./host-cpu.ts";

const REPLICAS = 6;
const IMAGE = "fizz-test/busybox:1";
const deploys = Number(process.argv.includes("--deploys") ? process.argv[process.argv.indexOf("--deploys") + 1] : 3);
const BRIDGE = process.argv.includes("--bridge");
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const running = (c: Cluster, name: string) => runningContainers(c, [0, 1, 2], [`label=com.docker.compose.project=${name}`]);

/** Per host: engine API calls by operation, and reconcile passes, from the agent's /metrics (counters). */
async function agentCounts(c: Cluster): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const h of c.hosts) {
    const text = await (await fetch("http://agent/metrics", { unix: h.agentSocket } as RequestInit)).text();
    for (const m of text.matchAll(/^fizz_engine_request_duration_seconds_count\{op="([^"]+)"\} (\d+)/gm)) out.set(`${h.name} engine ${m[1]}`, Number(m[2]));
    for (const m of text.matchAll(/^fizz_reconcile_duration_seconds_count(?:\{[^}]*\})? (\d+)/gm)) out.set(`${h.name} reconcile passes`, (out.get(`${h.name} reconcile passes`) ?? 0) + Number(m[1]));
  }
  return out;
}

interface Mark {
  readonly at: number;
  readonly host: string;
  readonly what: string;
}

async function timeline(c: Cluster, name: string, t0: number, t1: number): Promise<Mark[]> {
  const marks: Mark[] = [];
  for (const h of c.hosts) {
    for await (const e of agentClient(h).events({ deployment: name, follow: false })) {
      const step = (e.data as { step?: { kind?: string; subject?: string; phase?: string } } | undefined)?.step;
      marks.push({ at: e.at, host: h.name, what: `event ${e.type}${step ? ` ${JSON.stringify(step).slice(0, /stop|rename/.test(e.type) ? 600 : 90)}` : ""}` });
    }
    const ev = await h.docker(["events", "--since", String(t0 / 1000 - 1), "--until", String(t1 / 1000 + 1), "--format", "{{json .}}"], { timeoutMs: 20_000 });
    for (const line of ev.stdout.split("\n").filter(Boolean)) {
      const d = JSON.parse(line) as { timeNano: number; Action: string; Type: string; Actor?: { Attributes?: Record<string, string> } };
      if (d.Type !== "container" && d.Type !== "network") continue;
      marks.push({ at: d.timeNano / 1e6, host: h.name, what: `engine ${d.Type} ${d.Action} ${d.Actor?.Attributes?.name ?? ""} ${(d.Actor?.Attributes?.container ?? "").slice(0, 8)}` });
    }
    for (const line of readFileSync(h.agentLog, "utf8").split("\n")) {
      if (!line.startsWith("{")) continue;
      let r: Record<string, unknown>;
      try {
        r = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      const at = r.time as number;
      if (at < t0 - 100 || at > t1 + 2000) continue;
      if (r.msg === "api request" && r.route !== "/v1/deployments/:name") continue;
      if (r.level !== 20) continue;
      const { level: _l, time: _t, pid: _p, hostname: _h, node: _n, ...rest } = r;
      marks.push({ at, host: h.name, what: `log ${JSON.stringify(rest).slice(0, 140)}` });
    }
  }
  return marks.filter((m) => m.at >= t0 - 50 && m.at <= t1 + 2000).sort((a, b) => a.at - b.at);
}

process.env.FIZZ_BIN = compiledCli();
const results: number[] = [];
let c: Cluster | undefined;
try {
  c = await createCluster({ hosts: 3, images: [IMAGE] });
  await formFizzCluster(c, ["--log-level", "debug"]);
  await sleep(5000);
  for (let k = 0; k < deploys; k++) {
    const name = `d${k}`;
    const dir = join(c.dir, `bench-${name}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "compose.yaml"), `name: ${name}\nservices:\n  web:\n    image: ${IMAGE}\n    command: ["sleep", "3600"]\n${BRIDGE ? "    network_mode: bridge\n" : ""}    stop_grace_period: 1s\n    deploy:\n      replicas: ${REPLICAS}\n`);
    // The same processes idle for 2 s just before, for comparison (SWIM, timers).
    const idle0 = cpu(c);
    const idleThreads0 = agentThreadCpu(c);
    await sleep(2000);
    const cpu0 = cpu(c);
    const threads0 = agentThreadCpu(c);
    console.log(`\nCPU ms idle over the 2 s before deploy ${name}: ${cpuDelta(idle0, cpu0)}`);
    console.log(`  agents' threads: ${cpuDelta(idleThreads0, threads0)}`);
    const calls0 = await agentCounts(c);
    const t0 = Date.now();
    const p0 = performance.now();
    const up = fizzOn(c.hosts[0]!, dir, ["up", "-d"]);
    let ms = 0;
    for (;;) {
      if ((await running(c, name)) === REPLICAS) {
        ms = performance.now() - p0;
        break;
      }
      if (performance.now() - p0 > 60_000) throw new Error("not 6 running in 60 s");
      await sleep(50);
    }
    const cpu1 = cpu(c);
    const threads1 = agentThreadCpu(c);
    const r = await up;
    const cliMs = performance.now() - p0;
    if (r.code !== 0) throw new Error(`fizz up: ${r.stdout}${r.stderr}`);
    results.push(ms);
    await sleep(1500);
    const calls1 = await agentCounts(c);
    console.log(`\n=== deploy ${name}: 6 running after ${ms.toFixed(0)} ms (CLI returned after ${cliMs.toFixed(0)} ms)`);
    console.log(`CPU ms until 6 running (own, and reaped children's as <name>-children, by host and process): ${cpuDelta(cpu0, cpu1)}`);
    console.log(`  agents' threads: ${cpuDelta(threads0, threads1)}`);
    console.log(`agent counters from the command to 1.5 s after its end: ${cpuDelta(calls0, calls1)}`);
    for (const m of await timeline(c, name, t0, t0 + cliMs)) console.log(`${String(Math.round(m.at - t0)).padStart(6)} ms  ${m.host}  ${m.what}`);
    await sleep(2000);
  }
  console.log(`\ndeploys (ms to 6 running): ${results.map((x) => x.toFixed(0)).join(", ")}`);
  for (const h of c.hosts) await h.stopAgent("SIGTERM", 5000);
} finally {
  await c?.destroy();
}
process.exit(0);
