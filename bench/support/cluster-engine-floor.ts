/**
 * The engines' own floor for bench/cluster-vs-swarm.ts's deploy (a diagnostic,
 * not part of scripts/bench.sh): on the 3-host harness, no agent and no Swarm,
 * from one clock start, every host at once does the engine work of one deploy
 * with direct API calls over its unix socket, and the time until the last
 * start call returns is printed:
 *   project   what a Fizz deploy asks of each engine: create the project's
 *             network, then create and start its 2 replicas on it at once;
 *   bridge    what a Swarm service without --network asks: create and start
 *             2 containers on the default bridge at once.
 * The two alternate, so load drifts hit both. The gap between `project` and
 * the bench's Fizz figure is Fizz's own (CLI, dissemination, planning, mesh);
 * `project` against `bridge` is the price of a user-defined network (Docker
 * 20.10: 29 iptables processes per network create, and a setup-resolver
 * re-exec of dockerd with 11 iptables calls per container for the embedded
 * DNS, which the default bridge does not have).
 * Needs root; run under the heavy lock:
 *   flock -o /tmp/fizz-heavy.lock bun bench/support/cluster-engine-floor.ts [--rounds N]
 */
import { createCluster, type Cluster } from "../../test/cluster/harness.ts";
import { EngineApi } from "./engine-floor.ts";

const IMAGE = "fizz-test/busybox:1";
const PER_HOST = 2;
const rounds = Number(process.argv.includes("--rounds") ? process.argv[process.argv.indexOf("--rounds") + 1] : 4);
const LABEL = { "io.fizz.bench": "cluster-engine-floor" };

async function hostDeploy(api: EngineApi, shape: "project" | "bridge", tag: string): Promise<void> {
  const network = `${tag}_default`;
  if (shape === "project") await api.call("POST", "/networks/create", { Name: network, Driver: "bridge", CheckDuplicate: true, Labels: LABEL });
  await Promise.all(
    Array.from({ length: PER_HOST }, async (_, i) => {
      const { Id } = await api.call<{ Id: string }>("POST", `/containers/create?name=${tag}-${i}`, {
        Image: IMAGE,
        Cmd: ["sleep", "3600"],
        Labels: LABEL,
        StopTimeout: 1,
        ...(shape === "project" ? { HostConfig: { NetworkMode: network }, NetworkingConfig: { EndpointsConfig: { [network]: { Aliases: ["web"] } } } } : {}),
      });
      await api.call("POST", `/containers/${Id}/start`, undefined, [304]);
    }),
  );
}

async function clean(api: EngineApi): Promise<void> {
  const filters = encodeURIComponent(JSON.stringify({ label: ["io.fizz.bench=cluster-engine-floor"] }));
  const cs = await api.call<{ Id: string }[]>("GET", `/containers/json?all=true&filters=${filters}`);
  await Promise.all(cs.map((c) => api.call("DELETE", `/containers/${c.Id}?force=true`, undefined, [404])));
  const ns = await api.call<{ Id: string }[]>("GET", `/networks?filters=${filters}`);
  for (const n of ns) await api.call("DELETE", `/networks/${n.Id}`, undefined, [404]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const times: Record<"project" | "bridge", number[]> = { project: [], bridge: [] };
let c: Cluster | undefined;
const apis: EngineApi[] = [];
try {
  c = await createCluster({ hosts: 3, images: [IMAGE] });
  for (const h of c.hosts) apis.push(new EngineApi(h.dockerSocket));
  await sleep(3000);
  for (let k = 0; k < rounds; k++) {
    const order: ("project" | "bridge")[] = k % 2 ? ["bridge", "project"] : ["project", "bridge"];
    for (const shape of order) {
      const t0 = performance.now();
      await Promise.all(apis.map((api, i) => hostDeploy(api, shape, `f${k}${shape[0]}${i}`)));
      times[shape].push(performance.now() - t0);
      await Promise.all(apis.map(clean));
      await sleep(1500);
    }
  }
} finally {
  await Promise.all(apis.map((a) => clean(a).catch(() => undefined)));
  await Promise.all(apis.map((a) => a.close()));
  await c?.destroy();
}
const fmt = (xs: number[]) => `${xs.map((x) => (x / 1000).toFixed(2)).join(", ")} s (median ${([...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]! / 1000).toFixed(2)} s)`;
console.log(`engine floor, 3 hosts x ${PER_HOST} containers, all hosts at once, until the last start returned:`);
console.log(`  project network + containers on it: ${fmt(times.project)}`);
console.log(`  default bridge (no network create):  ${fmt(times.bridge)}`);
process.exit(0);
