// Issue 16 acceptance on real hosts: three network-namespaced hosts, each with
// its own dockerd and `fizz agent`, joined into one cluster. `fizz up --build
// --force-recreate --remove-orphans` from one node behaves on every node as it
// does on one node (the image is rebuilt once, by the node that took the
// change, and reaches every node through the cluster registry; every node
// recreates its replicas once and removes the service the file dropped), and a
// failed `up` leaves nothing
// half-created on any node: the previous containers run on, or, for a new
// deployment, nothing of it stays anywhere.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { engineSocket } from "../support/engine.ts";
import { createCluster, type Cluster, type Host } from "./harness.ts";
import { agentClient, agentLogTails, fizzOn, formFizzCluster } from "./fizz-cluster.ts";

const socket = await engineSocket("docker");
const isRoot = process.getuid?.() === 0;
if (socket && !isRoot && process.env.CI === "true") throw new Error("cluster converge tests need root (ip netns, iptables, dockerd)");


interface Row {
  host: number;
  id: string;
  name: string;
  image: string;
  state: string;
  service: string;
}

describe.skipIf(!socket || !isRoot)("one converge path across 3 hosts", () => {
  let cluster: Cluster | undefined;
  const host = (i: number): Host => cluster!.hosts[i]!;
  const client = (i: number) => agentClient(host(i));
  const project = () => join(cluster!.dir, "project");

  const fizz = (i: number, ...args: string[]) => fizzOn(host(i), project(), args);

  async function rows(name: string): Promise<Row[]> {
    const out: Row[] = [];
    for (const h of cluster!.hosts) {
      const r = await h.docker(["ps", "-a", "--filter", `label=com.docker.compose.project=${name}`, "--format", '{{.ID}}\t{{.Names}}\t{{.Image}}\t{{.State}}\t{{.Label "com.docker.compose.service"}}'], { timeoutMs: 10_000 });
      for (const line of r.stdout.split("\n").filter(Boolean)) {
        const [id, n, image, state, service] = line.split("\t") as [string, string, string, string, string];
        out.push({ host: h.index, id, name: n, image, state, service });
      }
    }
    return out;
  }

  async function networks(name: string): Promise<string[]> {
    const out: string[] = [];
    for (const h of cluster!.hosts) {
      const r = await h.docker(["network", "ls", "--filter", `label=com.docker.compose.project=${name}`, "--format", "{{.Name}}"], { timeoutMs: 10_000 });
      out.push(...r.stdout.split("\n").filter(Boolean).map((n) => `h${h.index}:${n}`));
    }
    return out;
  }

  const compose = (o: { side: boolean; broken?: boolean }) => `name: conv
services:
  web:
    build: ./web
    image: conv-web:dev
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    stop_grace_period: 1s
${o.broken ? '    entrypoint: ["/no/such/binary"]\n' : ""}    deploy:
      replicas: 6
      update_config: { parallelism: 6, monitor: 1s }
${o.side ? '  side:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    stop_grace_period: 1s\n    deploy: { mode: global }\n' : ""}`;

  beforeAll(async () => {
    cluster = await createCluster({ hosts: 3 });
    mkdirSync(join(project(), "web"), { recursive: true });
    writeFileSync(join(project(), "web", "Dockerfile"), "FROM fizz-test/busybox:1\nCOPY version /version\n");
    writeFileSync(join(project(), "web", "version"), "v1\n");
    writeFileSync(join(project(), "compose.yaml"), compose({ side: true }));
    await formFizzCluster(cluster);
  }, 180_000);

  afterAll(async () => {
    if (!cluster) return;
    process.stderr.write(agentLogTails(cluster, 20));
    await cluster.destroy();
  }, 180_000);

  test("fizz up --build from one node: the image built for the change runs on every node, each its share", async () => {
    const up = await fizz(0, "up", "-d", "--build");
    expect(up.code).toBe(0);
    const rs = await rows("conv");
    const web = rs.filter((r) => r.service === "web" && r.state === "running");
    expect(web.length, `web after up: ${rs.map((r) => `${r.name}@h${r.host}:${r.state}`).join(" ")}`).toBe(6);
    expect(new Set(web.map((r) => r.host))).toEqual(new Set([0, 1, 2]));
    expect(rs.filter((r) => r.service === "side" && r.state === "running").map((r) => r.host).sort()).toEqual([0, 1, 2]);
    for (const h of cluster!.hosts) {
      const v = await h.docker(["run", "--rm", "conv-web:dev", "cat", "/version"], { timeoutMs: 30_000 });
      expect(v.stdout.trim()).toBe("v1");
    }
  }, 150_000);

  test("--build --force-recreate --remove-orphans from one node mean the same on every node", async () => {
    const before = new Set((await rows("conv")).map((r) => r.id));
    writeFileSync(join(project(), "web", "version"), "v2\n");
    writeFileSync(join(project(), "compose.yaml"), compose({ side: false }));
    const up = await fizz(1, "up", "-d", "--build", "--force-recreate", "--remove-orphans");
    expect(up.code).toBe(0);
    const rs = await rows("conv");
    expect(rs.filter((r) => r.service === "side")).toEqual([]);
    const web = rs.filter((r) => r.service === "web");
    expect(web.filter((r) => r.state === "running")).toHaveLength(6);
    expect(web.some((r) => before.has(r.id))).toBe(false);
    for (const h of cluster!.hosts) {
      const v = await h.docker(["run", "--rm", "conv-web:dev", "cat", "/version"], { timeoutMs: 30_000 });
      expect(v.stdout.trim()).toBe("v2");
    }
  }, 150_000);

  /** What runs of a project on every host, as "host:name:state", sorted. */
  const snapshot = async (name: string) => (await rows(name)).map((r) => `${r.host}:${r.name}:${r.state}`).sort();

  /** Every agent's log lines about `deployment` since `since` (ms), oldest first: what each node did, for a failure's message. */
  function agentSteps(deployment: string, since: number, max = 80): string {
    const out: { time: number; line: string }[] = [];
    for (const h of cluster!.hosts) {
      let text = "";
      try {
        text = readFileSync(h.agentLog, "utf8");
      } catch {
        continue;
      }
      for (const l of text.split("\n")) {
        if (!l.includes(`"deployment":"${deployment}"`) || l.includes('"component":"events"')) continue;
        try {
          const j = JSON.parse(l) as { time: number; msg: string; component?: string };
          if (j.time >= since) out.push({ time: j.time, line: `h${h.index} +${j.time - since}ms ${j.component ?? ""}: ${String(j.msg).slice(0, 200)}` });
        } catch {
          // not a JSON line
        }
      }
    }
    return out.sort((a, b) => a.time - b.time).slice(-max).map((o) => o.line).join("\n");
  }

  test("a failed up changes nothing on any node", async () => {
    // What ran before is the previous up settled: its six web replicas running and nothing else of the project.
    // (Test 2 checks six running right after its up; a snapshot that caught anything else of the project could
    // never be met again.)
    let before: string[] = [];
    const settleBy = Date.now() + 60_000;
    for (;;) {
      before = await snapshot("conv");
      const names = new Set(before.map((r) => r.split(":")[1]));
      if (before.length === 6 && names.size === 6 && before.every((r) => /^\d:conv-web-[1-6]:running$/.test(r))) break;
      if (Date.now() > settleBy) throw new Error(`the previous up did not settle within 60 s:\n${before.join("\n")}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    // Each node's view of the members while the failed up is undone (a node seen suspect gets no new replicas).
    const t0 = Date.now();
    const views: string[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const v = await Promise.all([0, 1, 2].map((i) => client(i).clusterNodes().then((ns) => `h${i}:${ns.map((n) => n.state).sort().join(",")}`, (e: unknown) => `h${i}:${String(e).slice(0, 80)}`)));
        const line = v.join(" ");
        if (views.at(-1)?.endsWith(line) !== true) views.push(`+${Date.now() - t0}ms ${line}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    })();
    try {
      writeFileSync(join(project(), "compose.yaml"), compose({ side: true, broken: true }));
      const up = await fizz(2, "up", "-d");
      expect(up.code).not.toBe(0);
      expect(up.stderr).toMatch(/no such binary|no such file|executable file not found|failed on the new spec/);
      // Settled: the same containers, by name and state, on the same hosts; nothing of the failed spec.
      const deadline = Date.now() + 60_000;
      let now: string[] = [];
      for (;;) {
        now = await snapshot("conv");
        if (now.join() === before.join()) break;
        if (Date.now() > deadline) {
          throw new Error(`not back to what ran before:\n${now.join("\n")}\nbefore:\n${before.join("\n")}\nmember states each node saw:\n${views.join("\n")}\nwhat the nodes did:\n${agentSteps("conv", t0)}`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      expect((await rows("conv")).filter((r) => r.service === "side")).toEqual([]);
    } finally {
      watching = false;
      await watcher;
    }
    writeFileSync(join(project(), "compose.yaml"), compose({ side: false }));
  }, 150_000);

  test("a new deployment whose up fails leaves nothing on any node", async () => {
    writeFileSync(join(project(), "broken.yaml"), 'name: convnew\nservices:\n  app:\n    image: fizz-test/busybox:1\n    entrypoint: ["/no/such/binary"]\n    deploy: { replicas: 3 }\n');
    const up = await fizz(0, "up", "-d", "-f", "broken.yaml");
    expect(up.code).not.toBe(0);
    const deadline = Date.now() + 60_000;
    while ((await rows("convnew")).length || (await networks("convnew")).length || (await client(1).listDeployments()).some((d) => d.name === "convnew")) {
      if (Date.now() > deadline) throw new Error(`left behind: ${JSON.stringify(await rows("convnew"))} ${await networks("convnew")}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }, 150_000);
});
