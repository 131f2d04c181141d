/**
 * Fizz against Docker Swarm on the same three namespaced hosts (test/cluster
 * harness: one dockerd each), in one run:
 *   deploy    from the deploy command to all 6 replicas of a service running,
 *             both CLIs compiled executables (Fizz's built here unless FIZZ_BIN
 *             names one), in two shapes, each against its like:
 *             - no network of its own: `docker service create --replicas 6`
 *               (the issue's command: Swarm attaches such tasks to each
 *               host's default bridge) against a compose service with
 *               `network_mode: bridge`, which Fizz runs on that same bridge;
 *             - a network of its own: `docker network create -d overlay` and
 *               `docker service create --network` (the shape of `docker stack
 *               deploy`) against a plain compose file, whose project network
 *               Fizz creates on every host that runs a replica, routed over
 *               the mesh.
 *             Also shown: Fizz's plain compose file against Swarm's service
 *             without a network (the project network is work Swarm's command
 *             does not do), and the first deploy of an image new to the
 *             cluster (a local-only image is pushed into the cluster's
 *             registry first, so nodes without it can pull it; Swarm cannot
 *             run such an image on a node that lacks it);
 *   failover  from killing a host (dockerd, containers and agent, SIGKILL) to
 *             all 6 running again on the other two (the plain compose file
 *             against the service without a network).
 * The no-network deploy is timed `--deploys N` times per system per round
 * (default 3; each one removed and gone before the next), since one deploy
 * on two shared cores varies by ±30% from run to run: its row is the median
 * of every such deploy of every round.
 * Each system runs alone (Swarm first, then left and cleaned; then Fizz).
 * "6 running" is polled every 50 ms from each host's engine API (the same
 * question as `docker ps`, without a CLI process per host per poll; see
 * support/running-containers.ts). Also shown: the CPU all processes of the
 * three hosts used from the command to 6 running (the deploy is CPU-bound on
 * this machine's 2 cores), and the agents' share of it.
 * Targets (issue 16): deploy ≤ 1.0× Swarm, failover ≤ 0.5× Swarm.
 * Needs root; run under the heavy lock:
 *   flock /tmp/fizz-heavy.lock bun bench/cluster-vs-swarm.ts [--rounds N] [--deploys N] [--probe api|cli]
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
const deploys = Number(arg("--deploys") ?? 3);
if (!Number.isInteger(deploys) || deploys < 1) throw new Error(`--deploys N (N ≥ 1), not ${arg("--deploys")}`);
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
  /** Summed over the hosts, by process kind (dockerd, dockerd-children, containerd, …; support/host-cpu.ts). */
  readonly byKind: ReadonlyMap<string, number>;
}
const cpuUsed = (a: Map<string, number>, b: Map<string, number>): DeployCpu => {
  const byKind = new Map<string, number>();
  for (const [k, v] of b) {
    const kind = k.slice(k.indexOf(" ") + 1);
    byKind.set(kind, (byKind.get(kind) ?? 0) + v - (a.get(k) ?? 0));
  }
  return { all: cpuTotal(a, b), agent: cpuTotal(a, b, (k) => / (fizz|bun)$/.test(k)), byKind };
};

/** One deploy's time to 6 running and the CPU the hosts used meanwhile. */
interface Deploy {
  readonly ms: number;
  readonly cpu: DeployCpu;
}

/** Runs `start` (the deploy command or commands) and times it to `REPLICAS` containers matching `filter` running; returns once `start` ended too. */
async function timedDeploy(c: Cluster, what: string, filter: string[], start: () => Promise<void>): Promise<Deploy> {
  const cpu0 = hostCpu(c);
  const t0 = performance.now();
  let failed: unknown;
  const started = start();
  started.catch((e: unknown) => (failed = e));
  await until(what, 120_000, async () => {
    if (failed) throw failed;
    return (await running(c, [0, 1, 2], filter)) === REPLICAS;
  });
  const ms = performance.now() - t0;
  const cpu = cpuUsed(cpu0, hostCpu(c));
  await started;
  return { ms, cpu };
}

interface SwarmRound {
  /** `docker service create --replicas 6`: no network of its own (`deploys` of them, one after another). */
  readonly bare: readonly Deploy[];
  /** `docker network create -d overlay` + `docker service create --network`. */
  readonly networked: Deploy;
  readonly failover: number;
}

async function swarmRound(c: Cluster): Promise<SwarmRound> {
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
  const must = async (args: string[]) => {
    const r = await h0.docker(args, { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`docker ${args.slice(0, 2).join(" ")}: ${r.stderr}`);
  };
  const service = (name: string, extra: string[] = []) =>
    must(["service", "create", "--detach", "--name", name, "--replicas", String(REPLICAS), "--stop-grace-period", "1s", ...extra, IMAGE, "sleep", "3600"]);
  const bare: Deploy[] = [];
  // The last one stays for the failover below; the others are removed (and gone) before the next.
  for (let j = 0; j < deploys; j++) {
    const name = j === deploys - 1 ? "bench" : `bench${j}`;
    bare.push(await timedDeploy(c, "swarm: 6 running", [`name=${name}.`], () => service(name)));
    if (name !== "bench") {
      await must(["service", "rm", name]);
      await until(`swarm: ${name} gone`, 60_000, async () => (await running(c, [0, 1, 2], [`name=${name}.`])) === 0);
    }
    await sleep(2000);
  }
  const networked = await timedDeploy(c, "swarm: 6 running on an overlay network", ["name=benchnet."], async () => {
    await must(["network", "create", "--driver", "overlay", "benchnet"]);
    await service("benchnet", ["--network", "benchnet"]);
  });
  await must(["service", "rm", "benchnet"]);
  await until("swarm: benchnet gone", 60_000, async () => (await running(c, [0, 1, 2], ["name=benchnet."])) === 0);
  await until("swarm: overlay network removed", 60_000, async () => (await h0.docker(["network", "rm", "benchnet"])).code === 0);
  await sleep(2000);
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
  return { bare, networked, failover };
}

/** `fizz up -d` of a 6-replica service in project `name` (on the host's default bridge with `bridge`); ms until all 6 run, and the CPU the hosts used meanwhile. */
async function fizzDeploy(c: Cluster, name: string, o: { bridge?: boolean } = {}): Promise<Deploy> {
  const dir = join(c.dir, `bench-${name}`);
  mkdirSync(dir, { recursive: true });
  const mode = o.bridge ? "    network_mode: bridge\n" : "";
  writeFileSync(join(dir, "compose.yaml"), `name: ${name}\nservices:\n  web:\n    image: ${IMAGE}\n    command: ["sleep", "3600"]\n${mode}    stop_grace_period: 1s\n    deploy:\n      replicas: ${REPLICAS}\n`);
  return timedDeploy(c, `fizz: 6 running (${name})`, [`label=com.docker.compose.project=${name}`], async () => {
    const r = await fizzOn(c.hosts[0]!, dir, ["up", "-d"]);
    if (r.code !== 0) throw new Error(`fizz up: ${r.stdout}${r.stderr}`);
  });
}

interface FizzRound {
  /** A plain compose file with an image new to the cluster's registry. */
  readonly first: Deploy;
  /** `network_mode: bridge`: no network of its own (`deploys` of them, one after another). */
  readonly bare: readonly Deploy[];
  /** A plain compose file: its project network on every host with a replica. */
  readonly networked: Deploy;
  readonly failover: number;
}

async function fizzRound(c: Cluster): Promise<FizzRound> {
  await formFizzCluster(c);
  // Settled like the Swarm (formed and idle) before the clock starts.
  await sleep(5000);
  const first = await fizzDeploy(c, "first");
  await sleep(2000);
  const bare: Deploy[] = [];
  for (let j = 0; j < deploys; j++) {
    const name = `bare${j}`;
    bare.push(await fizzDeploy(c, name, { bridge: true }));
    await agentClient(c.hosts[0]!).down(name);
    await until(`fizz: ${name} gone`, 60_000, async () => (await running(c, [0, 1, 2], [`label=com.docker.compose.project=${name}`])) === 0);
    await sleep(2000);
  }
  const networked = await fizzDeploy(c, "bench");
  await sleep(2000);
  const onH2 = await running(c, [2], ["label=com.docker.compose.project=bench"]);
  if (onH2 === 0) throw new Error("no replica on h2 to fail over");
  await c.killHost(2);
  const t1 = performance.now();
  await until("fizz: 6 running after a host died", 120_000, async () => (await running(c, [0, 1], ["label=com.docker.compose.project=bench"])) === REPLICAS);
  const failover = performance.now() - t1;
  for (const n of ["bench", "first"]) await agentClient(c.hosts[0]!).down(n).catch(() => undefined);
  for (const h of c.hosts.slice(0, 2)) await h.stopAgent("SIGTERM", 5000);
  return { first, bare, networked, failover };
}

process.env.FIZZ_BIN = compiledCli();

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const swarm: SwarmRound[] = [];
const fizz: FizzRound[] = [];
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
const med = <R>(rs: R[], pick: (r: R) => number) => median(rs.map(pick));
/** The median over every no-network deploy of every round. */
const medBare = (rs: (SwarmRound | FizzRound)[], pick: (d: Deploy) => number) => median(rs.flatMap((r) => r.bare.map(pick)));
const row = (what: string, sw: number, fz: number, target?: number) =>
  `| ${what.padEnd(58)} | ${(sw / 1000).toFixed(2).padStart(7)} s | ${(fz / 1000).toFixed(2).padStart(7)} s | ${(fz / sw).toFixed(2).padStart(5)}x | ${target === undefined ? "(shown)".padEnd(13) : `≤ ${target.toFixed(1)}x ${fz / sw <= target ? "met" : "NOT met"}`} |`;
const secs = (ms: number) => (ms / 1000).toFixed(2);
console.log(`\ncluster vs Docker Swarm, 3 namespaced hosts, ${REPLICAS} replicas, median of ${rounds} round(s) (no-network deploy: of ${rounds * deploys}, ${deploys} per round)`);
console.log(
  `rounds (deploy no network / own network / failover): ${fizz
    .map((r, i) => `#${i + 1} swarm ${swarm[i]!.bare.map((d) => secs(d.ms)).join(",")}/${secs(swarm[i]!.networked.ms)}/${secs(swarm[i]!.failover)} s, fizz ${r.bare.map((d) => secs(d.ms)).join(",")}/${secs(r.networked.ms)}/${secs(r.failover)} s (first ${secs(r.first.ms)} s)`)
    .join("; ")}`,
);
console.log("| measure                                                    | Swarm     | Fizz      | ratio | target        |");
console.log("|------------------------------------------------------------|-----------|-----------|-------|---------------|");
const sb = medBare(swarm, (d) => d.ms), sn = med(swarm, (r) => r.networked.ms);
console.log(row("deploy, no network of its own: command to 6 running", sb, medBare(fizz, (d) => d.ms), 1.0));
console.log(row("deploy, a network of its own: command to 6 running", sn, med(fizz, (r) => r.networked.ms), 1.0));
console.log(row("deploy: Fizz's plain compose file vs Swarm's no network", sb, med(fizz, (r) => r.networked.ms)));
console.log(row("deploy, image new to the cluster's registry (own network)", sn, med(fizz, (r) => r.first.ms)));
console.log(row("failover: host killed to 6 running", med(swarm, (r) => r.failover), med(fizz, (r) => r.failover), 0.5));
// Where the deploy's time goes on 2 shared cores: the CPU every process of the three hosts used until 6 ran.
console.log(row("deploy, no network: CPU of all hosts' processes", medBare(swarm, (d) => d.cpu.all), medBare(fizz, (d) => d.cpu.all)));
console.log(row("deploy, own network: CPU of all hosts' processes", med(swarm, (r) => r.networked.cpu.all), med(fizz, (r) => r.networked.cpu.all)));
// Which processes the no-network deploy's CPU went to, per system (median per kind over its deploys): the engines' share shows whether Fizz's containers cost the engines more than Swarm's.
const kinds = (rs: (SwarmRound | FizzRound)[]) => {
  const all = rs.flatMap((r) => r.bare);
  const names = [...new Set(all.flatMap((d) => [...d.cpu.byKind.keys()]))].sort();
  return names.map((k) => [k, median(all.map((d) => d.cpu.byKind.get(k) ?? 0))] as const).filter(([, ms]) => ms > 0).map(([k, ms]) => `${k} ${secs(ms)}`).join(", ");
};
console.log(`deploy, no network, CPU-s by process kind (median): Swarm ${kinds(swarm)}; Fizz ${kinds(fizz)}`);
console.log(`Fizz's agents' share of that CPU: ${secs(medBare(fizz, (d) => d.cpu.agent))} s (no network), ${secs(med(fizz, (r) => r.networked.cpu.agent))} s (own network)`);
process.exit(0);
