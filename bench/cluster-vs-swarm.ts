/**
 * Fizz against Docker Swarm on the same three namespaced hosts (test/cluster
 * harness: one dockerd each), in one run:
 *   deploy    from the deploy command to all 6 replicas of a service running
 *             (`fizz up -d` vs `docker service create --replicas 6`), both CLIs
 *             compiled executables (Fizz's built here unless FIZZ_BIN names one).
 *             Fizz twice: with an image new to the cluster (a local-only image
 *             is pushed into the cluster's registry first, so nodes without it
 *             can pull it; Swarm cannot run such an image on a node that lacks
 *             it) and with an image the cluster's registry already holds;
 *             the target applies to the second, the first is shown as well;
 *   failover  from killing a host (dockerd, containers and agent, SIGKILL) to
 *             all 6 running again on the other two.
 * Each system runs alone (Swarm first, then left and cleaned; then Fizz).
 * "6 running" is polled every 50 ms from each host's engine API (the same
 * question as `docker ps`, without a CLI process per host per poll; see
 * support/running-containers.ts). Also shown: the CPU all processes of the
 * three hosts used from the command to 6 running (the deploy is CPU-bound on
 * this machine's 2 cores), and the agents' share of it.
 * Targets (issue 16): deploy ≤ 1.0× Swarm, failover ≤ 0.5× Swarm.
 * Needs root; run under the heavy lock:
 *   flock /tmp/fizz-heavy.lock bun bench/cluster-vs-swarm.ts [--rounds N] [--probe api|cli]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createCluster, type Cluster, type Host } from "../test/cluster/harness.ts";
import { agentClient, fizzOn, formFizzCluster } from "../test/cluster/fizz-cluster.ts";
import { compiledCli } from "./support/compiled-cli.ts";
import { runningContainers } from "./support/running-containers.ts";
import { cpuTotal, hostCpu } from "./support/host-cpu.ts";

const REPLICAS = 6;
const IMAGE = "fizz-test/busybox:1";
const arg = (name: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const rounds = Number(arg("--rounds") ?? 1);
const PROBE = arg("--probe") ?? "api";
if (PROBE !== "api" && PROBE !== "cli") throw new Error(`--probe api|cli, not ${PROBE}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Running containers of the service on each host (by label for Fizz, by name prefix for Swarm). */
const running = (c: Cluster, hosts: readonly number[], filter: string[]) => runningContainers(c, hosts, filter, { cli: PROBE === "cli" });

async function until(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<number> {
  const t0 = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - t0;
    if (performance.now() - t0 > timeoutMs) throw new Error(`${what}: not reached in ${timeoutMs} ms`);
    await sleep(50);
  }
}

/** CPU the hosts' processes used (ms): all of it, and the agents' own. */
interface DeployCpu {
  readonly all: number;
  readonly agent: number;
}
const cpuUsed = (a: Map<string, number>, b: Map<string, number>): DeployCpu => ({ all: cpuTotal(a, b), agent: cpuTotal(a, b, (k) => / (fizz|bun)$/.test(k)) });

async function swarmRound(c: Cluster): Promise<{ deploy: number; failover: number; cpu: DeployCpu }> {
  const [h0, h1, h2] = c.hosts as [Host, Host, Host];
  const init = await h0.docker(["swarm", "init", "--advertise-addr", "10.99.0.10", "--listen-addr", "10.99.0.10:2377"], { timeoutMs: 60_000 });
  if (init.code !== 0) throw new Error(`swarm init: ${init.stderr}`);
  const token = (await h0.docker(["swarm", "join-token", "-q", "worker"])).stdout.trim();
  for (const h of [h1, h2]) {
    const j = await h.docker(["swarm", "join", "--token", token, "10.99.0.10:2377"], { timeoutMs: 60_000 });
    if (j.code !== 0) throw new Error(`swarm join on ${h.name}: ${j.stderr}`);
  }
  await until("3 swarm nodes ready", 60_000, async () => (await h0.docker(["node", "ls", "--format", "{{.Status}}"])).stdout.split("\n").filter((s) => s === "Ready").length === 3);
  // Settled (formed and idle) before the clock starts, as the Fizz cluster is.
  await sleep(5000);
  const cpu0 = hostCpu(c);
  const t0 = performance.now();
  const create = await h0.docker(["service", "create", "--detach", "--name", "bench", "--replicas", String(REPLICAS), "--stop-grace-period", "1s", IMAGE, "sleep", "3600"], { timeoutMs: 120_000 });
  if (create.code !== 0) throw new Error(`service create: ${create.stderr}`);
  await until("swarm: 6 running", 120_000, async () => (await running(c, [0, 1, 2], ["name=bench."])) === REPLICAS);
  const deploy = performance.now() - t0;
  const cpu = cpuUsed(cpu0, hostCpu(c));
  // Kill a worker that runs replicas.
  await c.killHost(2);
  const t1 = performance.now();
  await until("swarm: 6 running after a host died", 180_000, async () => (await running(c, [0, 1], ["name=bench."])) === REPLICAS);
  const failover = performance.now() - t1;
  await h0.docker(["service", "rm", "bench"], { timeoutMs: 60_000 });
  await until("swarm: service gone", 60_000, async () => (await running(c, [0, 1], ["name=bench."])) === 0);
  for (const h of [h1, h0]) await h.docker(["swarm", "leave", "--force"], { timeoutMs: 60_000 });
  await c.restartHost(2, { agent: false });
  await h2.docker(["swarm", "leave", "--force"], { timeoutMs: 60_000 });
  return { deploy, failover, cpu };
}

/** `fizz up -d` of a 6-replica service named `name`; ms until all 6 run, and the CPU the hosts used meanwhile. */
async function fizzDeploy(c: Cluster, name: string): Promise<{ ms: number; cpu: DeployCpu }> {
  const dir = join(c.dir, `bench-${name}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "compose.yaml"), `name: ${name}\nservices:\n  web:\n    image: ${IMAGE}\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n    deploy:\n      replicas: ${REPLICAS}\n`);
  const cpu0 = hostCpu(c);
  const t0 = performance.now();
  const up = fizzOn(c.hosts[0]!, dir, ["up", "-d"]);
  await until(`fizz: 6 running (${name})`, 120_000, async () => (await running(c, [0, 1, 2], [`label=com.docker.compose.project=${name}`])) === REPLICAS);
  const ms = performance.now() - t0;
  const cpu = cpuUsed(cpu0, hostCpu(c));
  const r = await up;
  if (r.code !== 0) throw new Error(`fizz up: ${r.stdout}${r.stderr}`);
  return { ms, cpu };
}

async function fizzRound(c: Cluster): Promise<{ firstDeploy: number; deploy: number; failover: number; cpu: DeployCpu }> {
  await formFizzCluster(c);
  // Settled like the Swarm (formed and idle) before the clock starts.
  await sleep(5000);
  const firstDeploy = (await fizzDeploy(c, "first")).ms;
  await sleep(2000);
  const { ms: deploy, cpu } = await fizzDeploy(c, "bench");
  const onH2 = await running(c, [2], ["label=com.docker.compose.project=bench"]);
  if (onH2 === 0) throw new Error("no replica on h2 to fail over");
  await c.killHost(2);
  const t1 = performance.now();
  await until("fizz: 6 running after a host died", 120_000, async () => (await running(c, [0, 1], ["label=com.docker.compose.project=bench"])) === REPLICAS);
  const failover = performance.now() - t1;
  for (const n of ["bench", "first"]) await agentClient(c.hosts[0]!).down(n).catch(() => undefined);
  for (const h of c.hosts.slice(0, 2)) await h.stopAgent("SIGTERM", 5000);
  return { firstDeploy, deploy, failover, cpu };
}

process.env.FIZZ_BIN = compiledCli();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const swarm: { deploy: number; failover: number; cpu: DeployCpu }[] = [];
const fizz: { firstDeploy: number; deploy: number; failover: number; cpu: DeployCpu }[] = [];
for (let k = 0; k < rounds; k++) {
  let c: Cluster | undefined;
  try {
    c = await createCluster({ hosts: 3, images: [IMAGE] });
    swarm.push(await swarmRound(c));
    fizz.push(await fizzRound(c));
  } finally {
    await c?.destroy();
  }
}
const s = { deploy: median(swarm.map((r) => r.deploy)), failover: median(swarm.map((r) => r.failover)) };
const f = { firstDeploy: median(fizz.map((r) => r.firstDeploy)), deploy: median(fizz.map((r) => r.deploy)), failover: median(fizz.map((r) => r.failover)) };
const row = (what: string, sw: number, fz: number, target?: number) =>
  `| ${what.padEnd(44)} | ${(sw / 1000).toFixed(2).padStart(8)} s | ${(fz / 1000).toFixed(2).padStart(8)} s | ${(fz / sw).toFixed(2).padStart(5)}x | ${target === undefined ? "(shown)".padEnd(13) : `≤ ${target.toFixed(1)}x ${fz / sw <= target ? "met" : "NOT met"}`} |`;
console.log(`\ncluster vs Docker Swarm, 3 namespaced hosts, ${REPLICAS} replicas, median of ${rounds} round(s)`);
console.log(`rounds: ${fizz.map((r, i) => `#${i + 1} swarm ${(swarm[i]!.deploy / 1000).toFixed(2)}/${(swarm[i]!.failover / 1000).toFixed(2)} s, fizz ${(r.firstDeploy / 1000).toFixed(2)}/${(r.deploy / 1000).toFixed(2)}/${(r.failover / 1000).toFixed(2)} s`).join("; ")}`);
console.log("| measure                                      | Swarm      | Fizz       | ratio | target        |");
console.log("|----------------------------------------------|------------|------------|-------|---------------|");
console.log(row("deploy: command to 6 running", s.deploy, f.deploy, 1.0));
console.log(row("deploy, image new to the cluster's registry", s.deploy, f.firstDeploy));
console.log(row("failover: host killed to 6 running", s.failover, f.failover, 0.5));
// Where the deploy's time goes on 2 shared cores: the CPU every process of the three hosts used until 6 ran.
const cpuRow = (what: string, pick: (c: DeployCpu) => number, sw: number) => {
  const fz = median(fizz.map((r) => pick(r.cpu)));
  return `| ${what.padEnd(44)} | ${(sw / 1000).toFixed(2).padStart(8)} s | ${(fz / 1000).toFixed(2).padStart(8)} s | ${sw ? `${(fz / sw).toFixed(2).padStart(5)}x` : "    -"} | (shown)       |`;
};
console.log(cpuRow("deploy: CPU of all hosts' processes", (c) => c.all, median(swarm.map((r) => r.cpu.all))));
console.log(cpuRow("  of which Fizz's agents", (c) => c.agent, 0));
process.exit(0);
