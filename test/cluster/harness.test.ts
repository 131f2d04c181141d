// The multi-host harness itself: three namespaced hosts with their own engines,
// traffic between them, partitions, cut links, a killed host, and a teardown
// that leaves nothing behind. Needs root and the host docker engine (fixture
// images); skipped locally without them, required under CI=true.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { engineSocket } from "../support/engine.ts";
import { CLEANUP_SCRIPT, clusterNames, createCluster, type Cluster, type Host } from "./harness.ts";
import { run, waitFor } from "./shell.ts";

const socket = await engineSocket("docker");
const isRoot = process.getuid?.() === 0;
if (socket && !isRoot) {
  const msg = "cluster harness tests need root (ip netns, iptables, dockerd)";
  if (process.env.CI === "true") throw new Error(msg);
  process.stderr.write(`skipping: ${msg}\n`);
}

const PORT = 8080;

/** A stand-in agent: serves a page on the host's gossip address. */
function standInAgent(h: Host): string[] {
  const www = `${h.dir}/www`;
  mkdirSync(www, { recursive: true });
  writeFileSync(`${www}/index.html`, `agent on ${h.name}\n`);
  return ["busybox", "httpd", "-f", "-p", h.gossipAddr, "-h", www];
}

/** Where containerd puts the shim socket of a container of `h` (see cleanup.sh). */
function shimSocket(h: Host, id: string): string {
  const key = `${h.execRoot}/containerd/containerd.sock/moby/${id}`;
  return `/run/containerd/s/${createHash("sha256").update(key).digest("hex")}`;
}

/** Everything of cluster `c` still on the machine (empty when gone). */
async function leftovers(c: Cluster, pids: readonly number[]): Promise<string[]> {
  const left: string[] = [];
  const netns = (await run(["ip", "netns", "list"])).stdout;
  for (const h of c.hosts) {
    if (netns.includes(h.ns)) left.push(`netns ${h.ns}`);
    if ((await run(["ip", "link", "show", h.veth])).ok) left.push(`veth ${h.veth}`);
  }
  if ((await run(["ip", "link", "show", c.bridge])).ok) left.push(`bridge ${c.bridge}`);
  if ((await run(["iptables", "-S", "FORWARD"])).stdout.includes(c.bridge)) left.push("FORWARD rule");
  if (readFileSync("/proc/self/mountinfo", "utf8").includes(c.dir)) left.push("mounts");
  if (existsSync(c.dir)) left.push(c.dir);
  for (const pid of pids) if (existsSync(`/proc/${pid}/ns/net`)) left.push(`pid ${pid}`);
  for (const h of c.hosts) {
    const cg = readdirSync("/sys/fs/cgroup").some((s) => existsSync(`/sys/fs/cgroup/${s}/${h.cgroupParent}`));
    if (cg || existsSync(`/sys/fs/cgroup/${h.cgroupParent}`)) left.push(`cgroup ${h.cgroupParent}`);
  }
  return left;
}
const BODY = "hello from h1";

describe.skipIf(!socket || !isRoot)("cluster harness: 3 hosts", () => {
  let cluster: Cluster | undefined;
  const hosts = (): readonly Host[] => cluster!.hosts;
  const host = (i: number): Host => cluster!.hosts[i]!;
  const url = (i: number): string => `http://${host(i).ip}:${PORT}/`;
  /** One probe, no retries: does h0 get h1's page right now? */
  const reach = (from: number, to: number): Promise<boolean> => host(from).httpOk(url(to), 1);

  beforeAll(async () => {
    const t0 = performance.now();
    cluster = await createCluster({ hosts: 3 });
    process.stderr.write(`cluster ${cluster.name}: 3 hosts up in ${Math.round(performance.now() - t0)} ms\n`);
  }, 90_000);

  afterAll(async () => {
    // destroy() is idempotent: the teardown test normally did it already.
    await cluster?.destroy();
  }, 120_000);

  test("each host runs a container on its own engine, from its own image store", async () => {
    const names = clusterNames(cluster!.name);
    const roots = await Promise.all(
      hosts().map(async (h) => {
        const info = await h.docker(["info", "--format", "{{.DockerRootDir}}"]);
        expect(info.stdout.trim()).toBe(h.dataDir);
        const out = await h.docker(["run", "--rm", "fizz-test/busybox:1", "sh", "-c", "echo ran on $(hostname); ip -4 -o addr show eth0"]);
        expect(out.ok).toBe(true);
        // Container addresses come from this host's --bip, not the host engine's.
        expect(out.stdout).toContain(`172.30.${h.index}.`);
        const img = await h.docker(["image", "inspect", "--format", "{{.Id}}", "fizz-test/busybox:2"]);
        expect(img.ok).toBe(true);
        return info.stdout.trim();
      }),
    );
    expect(new Set(roots).size).toBe(3);
    expect(names.ns(0)).toBe(host(0).ns);
  }, 60_000);

  test("hosts reach each other over the bridge; partition and heal; cut and restore a link", async () => {
    // A web server on h1, in the host's network namespace.
    const web = await host(1).docker([
      "run", "-d", "--name", "web", "--network", "host", "fizz-test/busybox:1",
      "sh", "-c", `mkdir -p /www && echo '${BODY}' > /www/index.html && exec httpd -f -p ${PORT} -h /www`,
    ]);
    expect(web.ok).toBe(true);
    expect(await waitFor(() => reach(0, 1), 10_000)).toBe(true);

    const ping = await host(0).exec(["busybox", "ping", "-c1", "-W1", host(1).ip]);
    expect(ping.ok).toBe(true);
    // From a container on h0's default bridge network (NAT out of h0's eth0).
    const fromContainer = await host(0).docker(
      ["run", "--rm", "-i", "fizz-test/busybox:1", "nc", "-w", "2", host(1).ip, String(PORT)],
      { input: "GET / HTTP/1.0\r\n\r\n" },
    );
    expect(fromContainer.stdout).toContain("200 OK");
    expect(fromContainer.stdout).toContain(BODY);
    expect((await host(0).httpGet(url(1)))?.body.trim()).toBe(BODY);

    await cluster!.partition([0], [1, 2]);
    expect(await reach(0, 1)).toBe(false);
    expect(await reach(2, 1)).toBe(true); // same side of the split
    expect((await host(0).exec(["busybox", "ping", "-c1", "-W1", host(2).ip])).ok).toBe(false);
    await cluster!.heal();
    expect(await waitFor(() => reach(0, 1), 10_000)).toBe(true);

    await cluster!.blockOneWay(0, 1);
    expect(await reach(0, 1)).toBe(false); // requests from h0 are dropped at h1
    await cluster!.heal();
    expect(await waitFor(() => reach(0, 1), 10_000)).toBe(true);

    await cluster!.cutLink(1);
    expect(await reach(0, 1)).toBe(false);
    expect(await reach(2, 1)).toBe(false);
    await cluster!.restoreLink(1);
    expect(await waitFor(() => reach(0, 1), 10_000)).toBe(true);
  }, 90_000);

  test("startAgent runs a long-lived process inside the host's namespace", async () => {
    // busybox httpd on the gossip address stands in for `fizz agent` (which comes later).
    const agent = host(2).startAgent(standInAgent(host(2)));
    expect(await waitFor(() => host(0).canConnect(host(2).gossipAddr, 1), 5_000)).toBe(true);
    expect(await host(0).httpOk(`http://${host(2).gossipAddr}/`, 1)).toBe(true);
    expect(await host(0).canConnect(`${host(2).ip}:1`, 1)).toBe(false);
    expect(host(2).agent()).toBe(agent);
    expect(existsSync(host(2).agentLog)).toBe(true);
    expect(host(2).processes()).toContain(agent.pid!);
    expect(host(0).processes()).not.toContain(agent.pid!);
  }, 30_000);

  test("killHost leaves no process of the host alive; restartHost brings engine and agent back", async () => {
    const h = host(2);
    const agentPid = h.agent()!.pid!;
    const run1 = await h.docker(["run", "-d", "--name", "sleeper", "--restart", "always", "fizz-test/busybox:1", "sleep", "600"]);
    expect(run1.ok).toBe(true);
    const pidFile = `${h.dir}/docker.pid`;
    const dockerdPid = Number(readFileSync(pidFile, "utf8"));
    expect(h.processes()).toContain(dockerdPid);

    await cluster!.killHost(2);
    expect(h.engineState()).toBe("down");
    expect(h.processes()).toEqual([]);
    expect(existsSync(`/proc/${dockerdPid}/ns/net`)).toBe(false);
    expect(existsSync(`/proc/${agentPid}/ns/net`)).toBe(false);
    expect(h.agent()).toBeUndefined();
    expect(await host(0).httpOk(`http://${h.gossipAddr}/`, 1)).toBe(false);
    expect((await h.docker(["version"], { timeoutMs: 5_000 })).ok).toBe(false);
    // The other hosts are untouched.
    expect(await reach(0, 1)).toBe(true);

    const t0 = performance.now();
    await cluster!.restartHost(2);
    process.stderr.write(`h2 engine back in ${Math.round(performance.now() - t0)} ms\n`);
    expect(h.engineState()).toBe("up");
    // Same data: the restart-policy container comes back on its own.
    expect(await waitFor(async () => (await h.docker(["inspect", "-f", "{{.State.Running}}", "sleeper"])).stdout.trim() === "true", 15_000)).toBe(true);
    // The agent was started again with the same command.
    expect(h.agent()?.pid).not.toBe(agentPid);
    expect(await waitFor(() => host(0).httpOk(`http://${h.gossipAddr}/`, 1), 5_000)).toBe(true);
  }, 60_000);

  test("destroy removes namespaces, bridge, FORWARD rule, engines, mounts and data", async () => {
    const c = cluster!;
    const allPids = c.hosts.flatMap((h) => h.processes());
    expect(allPids.length).toBeGreaterThan(0);
    const t0 = performance.now();
    await c.destroy();
    process.stderr.write(`cluster ${c.name}: destroyed in ${Math.round(performance.now() - t0)} ms\n`);

    expect(await leftovers(c, allPids)).toEqual([]);
    // Idempotent, and the standalone script agrees nothing is left.
    await c.destroy();
    expect((await run(["bash", CLEANUP_SCRIPT, c.name])).ok).toBe(true);
  }, 120_000);
});

describe.skipIf(!socket || !isRoot)("cluster harness: leftovers of a crashed run", () => {
  let cluster: Cluster | undefined;

  afterAll(async () => {
    await cluster?.destroy();
  }, 120_000);

  test("cleanup.sh removes a cluster whose hosts were SIGKILLed mid-run", async () => {
    cluster = await createCluster({ hosts: 1 });
    const h = cluster.hosts[0]!;
    // A bridge-network container (overlay mount, container netns, shim) and an agent.
    const ctr = await h.docker(["run", "-d", "fizz-test/busybox:1", "sleep", "600"]);
    expect(ctr.ok).toBe(true);
    const id = ctr.stdout.trim();
    const agent = h.startAgent(standInAgent(h));
    // Until nsenter has entered the namespace the agent's pid is not in it yet.
    expect(await waitFor(async () => h.processes().includes(agent.pid!), 5_000)).toBe(true);
    const pids = h.processes();
    expect(pids.length).toBeGreaterThanOrEqual(5); // dockerd, containerd, shim, sleep, agent
    // What a crashed test run leaves: everything killed, nothing cleaned.
    await cluster.killHost(0);
    expect(readFileSync("/proc/self/mountinfo", "utf8")).toContain(`${h.dataDir}/overlay2/`);
    expect(existsSync(shimSocket(h, id))).toBe(true);

    const res = await run(["bash", CLEANUP_SCRIPT, cluster.name], { timeoutMs: 120_000 });
    expect(res.stderr).toBe("");
    expect(res.ok).toBe(true);
    expect(await leftovers(cluster, pids)).toEqual([]);
    expect(existsSync(shimSocket(h, id))).toBe(false);
    // destroy() after the script finds nothing to do and still succeeds.
    await cluster.destroy();
  }, 90_000);
});

describe.skipIf(!socket || !isRoot)("cluster harness: a failed bring-up", () => {
  test("createCluster that fails half-way removes what it made and says why", async () => {
    const name = `f${Date.now().toString(36).slice(-6)}`;
    const c = createCluster({ hosts: 2, name, images: ["fizz-test/no-such-image:0"] });
    await expect(c).rejects.toThrow(/no-such-image/);
    const names = clusterNames(name);
    expect(existsSync(names.dir)).toBe(false);
    expect((await run(["ip", "link", "show", names.bridge])).ok).toBe(false);
    expect((await run(["ip", "netns", "list"])).stdout).not.toContain(names.ns(0));
    expect((await run(["iptables", "-S", "FORWARD"])).stdout).not.toContain(names.bridge);
    expect((await run(["pgrep", "-f", names.dir])).ok).toBe(false);
  }, 60_000);

  test("bad names and host counts are refused", async () => {
    await expect(createCluster({ hosts: 1, name: "Bad-Name" })).rejects.toThrow(/must match/);
    await expect(createCluster({ hosts: 0 })).rejects.toThrow(/hosts must be/);
  });
});
