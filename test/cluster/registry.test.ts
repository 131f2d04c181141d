// Issue 15 acceptance on real hosts: three network-namespaced hosts, each with
// its own dockerd and `fizz agent` (registry on 0.0.0.0:5050), and Debian's
// docker-registry as the upstream inside host 0's namespace. A 3-replica
// service (one per host, a fixed host port) whose image exists only upstream:
// all hosts pull at once, the upstream serves each blob exactly once, the
// other hosts get what they lack from peers. With the upstream stopped, a new
// deployment of the same image still starts on every host. A `build:` service
// deployed from host 0 runs on hosts 1 and 2 from host 0's build. A client on
// another host without the cluster's credentials gets UNAUTHORIZED.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFile, execFileSync, type ChildProcess } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ApiClient } from "../../platform/api/client.ts";
import { engineSocket } from "../support/engine.ts";
import { dockerRegistryBinary } from "../support/docker-registry.ts";
import { agentCommand, createCluster, type Cluster, type Host } from "./harness.ts";

const socket = await engineSocket("docker");
const bin = dockerRegistryBinary();
const isRoot = process.getuid?.() === 0;
if (socket && !isRoot && process.env.CI === "true") throw new Error("cluster registry tests need root (ip netns, iptables, dockerd)");

const ROOT = join(import.meta.dir, "..", "..");
const BIG = "fizz-test/regbig:1";
/** Listens on the published port (a fixed host port makes one replica per node). */
const SERVE = `["httpd", "-f", "-p", "8080"]`;

interface BlobAccess {
  method: string;
  path: string;
  status: number;
  bytes: number;
}

describe.skipIf(!socket || !isRoot || !bin)("registry across 3 hosts", () => {
  let cluster: Cluster | undefined;
  let upstream: ChildProcess | undefined;
  const host = (i: number): Host => cluster!.hosts[i]!;
  const client = (i: number) => new ApiClient({ address: { kind: "unix", path: host(i).agentSocket }, timeoutMs: 120_000 });
  let up = "";
  let upLog = "";
  let image: { ref: string; digest: string; blobs: { digest: string; size: number }[] } | undefined;

  function fizz(i: number, cwd: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, [join(ROOT, "cmd", "fizz.ts"), "-H", `unix:${host(i).agentSocket}`, ...args], { cwd, env: { ...process.env, NO_COLOR: "1" }, timeout: 90_000 }, (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === "number" ? (err as { code: number }).code : 1) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  }

  function project(name: string, compose: string): string {
    const d = join(cluster!.dir, name);
    mkdirSync(d, { recursive: true });
    writeFileSync(join(d, "compose.yaml"), compose);
    return d;
  }

  function access(): BlobAccess[] {
    const text = readFileSync(upLog, "utf8");
    const out: BlobAccess[] = [];
    for (const m of text.matchAll(/"(GET|HEAD) (\S+) HTTP\/[0-9.]+" (\d{3}) (\d+)/g)) out.push({ method: m[1]!, path: m[2]!, status: Number(m[3]), bytes: Number(m[4]) });
    return out;
  }

  async function metric(i: number, name: string, label: string): Promise<number> {
    const r = await fetch("http://localhost/metrics", { unix: host(i).agentSocket } as RequestInit);
    const text = await r.text();
    const line = text.split("\n").find((l) => l.startsWith(`${name}{`) && l.includes(label));
    return line ? Number(line.split(" ").pop()) : 0;
  }

  async function runningOn(projectName: string): Promise<number[]> {
    const hosts: number[] = [];
    for (const h of cluster!.hosts) {
      const r = await h.docker(["ps", "--filter", `label=com.docker.compose.project=${projectName}`, "--format", "{{.State}}"], { timeoutMs: 10_000 });
      if (r.stdout.split("\n").some((l) => l === "running")) hosts.push(h.index);
    }
    return hosts;
  }

  async function waitRunningEverywhere(projectName: string, ms = 90_000): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      const on = await runningOn(projectName);
      if (on.length === 3) return;
      if (Date.now() > until) throw new Error(`${projectName} runs on hosts [${on.join(",")}] only after ${ms} ms`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  beforeAll(async () => {
    // The test image: the busybox fixture plus three layers of random bytes, only ever upstream.
    const ctx = join("/tmp", `fizz-regbig-${process.pid}`);
    mkdirSync(ctx, { recursive: true });
    writeFileSync(join(ctx, "Dockerfile"), "FROM fizz-test/busybox:1\nRUN head -c 6000000 /dev/urandom > /a\nRUN head -c 6000000 /dev/urandom > /b\nRUN head -c 6000000 /dev/urandom > /c\n");
    execFileSync("docker", ["build", "-q", "-t", BIG, ctx], { stdio: "ignore", timeout: 120_000 });

    cluster = await createCluster({ hosts: 3 });
    const h0 = host(0);
    up = `${h0.ip}:5000`;
    const cfg = join(cluster.dir, "upstream.yml");
    upLog = join(cluster.dir, "upstream.log");
    writeFileSync(cfg, `version: 0.1\nlog:\n  level: info\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${join(cluster.dir, "upstream")}\nhttp:\n  addr: ${up}\n`);
    upstream = h0.spawn([bin!, "serve", cfg], { logFile: upLog, label: "upstream" });
    for (const stop = Date.now() + 15_000; !(await h0.exec(["curl", "-sf", `http://${up}/v2/`])).ok; await new Promise((r) => setTimeout(r, 100))) {
      if (Date.now() > stop) throw new Error(`docker-registry did not start: ${readFileSync(upLog, "utf8").slice(-1000)}`);
    }
    const cp = await h0.exec(["skopeo", "copy", "--dest-tls-verify=false", `docker-daemon:${BIG}`, `docker://${up}/test/app:1`], { timeoutMs: 120_000 });
    if (!cp.ok) throw new Error(`seeding the upstream failed: ${cp.stderr}`);
    const raw = JSON.parse((await h0.exec(["skopeo", "inspect", "--raw", "--tls-verify=false", `docker://${up}/test/app:1`])).stdout) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
    const ins = JSON.parse((await h0.exec(["skopeo", "inspect", "--tls-verify=false", `docker://${up}/test/app:1`])).stdout) as { Digest: string };
    image = { ref: `${up}/test/app:1`, digest: ins.Digest, blobs: [raw.config, ...raw.layers] };
    execFileSync("docker", ["rmi", BIG], { stdio: "ignore" });

    for (const h of cluster.hosts) h.startAgent(agentCommand(h, ["--engine", h.dockerHost, "--registry", "0.0.0.0:5050"]), { env: { FIZZ_REGISTRY_INSECURE: up } });
    for (const h of cluster.hosts) {
      const deadline = Date.now() + 30_000;
      while (!(await client(h.index).info().then(() => true, () => false))) {
        if (Date.now() > deadline) throw new Error(`agent on ${h.name} did not start:\n${readFileSync(h.agentLog, "utf8").slice(-3000)}`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const init = await client(0).clusterInit();
    for (const i of [1, 2]) await client(i).clusterJoin(host(0).gossipAddr, init.token);
    // Every node, not only h0, must see all three alive: a node that has not heard of a member yet
    // picks a different rendezvous fetcher for a digest and rightly fetches it itself (CI run at
    // f7a235a: two blobs GET twice, no peer error logged, right after h2 joined).
    const deadline = Date.now() + 20_000;
    const aliveEverywhere = async () => (await Promise.all([0, 1, 2].map(async (i) => (await client(i).clusterNodes()).filter((n) => n.state === "alive").length))).every((n) => n === 3);
    while (!(await aliveEverywhere())) {
      if (Date.now() > deadline) throw new Error("the three agents did not all see each other alive");
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 240_000);

  afterAll(async () => {
    if (!cluster) return;
    for (const h of cluster.hosts) process.stderr.write(`--- agent log ${h.name} (registry lines) ---\n${(() => { try { return readFileSync(h.agentLog, "utf8").split("\n").filter((l) => l.includes("regist") || /"level":(40|50|60)/.test(l)).slice(-30).join("\n"); } catch { return ""; } })()}\n`);
    upstream?.kill("SIGKILL");
    await cluster.destroy();
    try {
      execFileSync("docker", ["rmi", "-f", BIG], { stdio: "ignore" });
    } catch {
      // removed in beforeAll
    }
  }, 180_000);

  test("3 replicas, one per host, image only upstream: each blob leaves the upstream once; the others come from peers", async () => {
    const dir = project("regapp", `name: regapp\nservices:\n  web:\n    image: ${image!.ref}\n    command: ${SERVE}\n    ports: ["18080:8080"]\n    deploy:\n      replicas: 3\n`);
    // Seeding and `skopeo inspect` read from the upstream too: count from here.
    const before = access().length;
    const started = Date.now();
    const r = await fizz(0, dir, "up", "-d", "--wait", "--wait-timeout", "60");
    process.stderr.write(`fizz up exited ${r.code} after ${Date.now() - started} ms\n`);
    if (r.code !== 0 || (r.stderr + r.stdout).includes("Error")) process.stderr.write(`fizz up said:\n${r.stdout}\n${r.stderr}\n`);
    expect(r.stderr + r.stdout).not.toContain("Error");
    expect(r.code).toBe(0);
    await waitRunningEverywhere("regapp");
    const gets = new Map<string, number>();
    for (const a of access().slice(before)) {
      const d = /\/blobs\/(sha256:[a-f0-9]{64})$/.exec(a.path)?.[1];
      if (d && a.method === "GET" && a.status === 200) gets.set(d, (gets.get(d) ?? 0) + 1);
    }
    const total = image!.blobs.reduce((n, b) => n + b.size, 0);
    process.stderr.write(`upstream blob GETs: ${JSON.stringify(Object.fromEntries(gets))}\n`);
    for (const b of image!.blobs) expect(`${b.digest} ${gets.get(b.digest) ?? 0}`).toBe(`${b.digest} 1`);
    const byHost = await Promise.all([0, 1, 2].map(async (i) => ({ upstream: await metric(i, "fizz_registry_fetched_bytes_total", 'source="upstream"'), peer: await metric(i, "fizz_registry_fetched_bytes_total", 'source="peer"') })));
    process.stderr.write(`bytes fetched per host (image ${total} bytes of blobs): ${JSON.stringify(byHost)}\n`);
    const upstreamBlobBytes = byHost.reduce((n, h) => n + h.upstream, 0);
    // Blobs once (plus manifests, a few hundred bytes).
    expect(upstreamBlobBytes).toBeGreaterThanOrEqual(total);
    expect(upstreamBlobBytes).toBeLessThan(total + 10_000);
    // Every host has the whole image: what it did not fetch from upstream came from a peer.
    for (const i of [0, 1, 2]) expect(byHost[i]!.peer + byHost[i]!.upstream).toBeGreaterThanOrEqual(total);
    // Each blob left the upstream once, so the two hosts that did not fetch it got it from a peer:
    // at least twice the image's bytes came from peers, however the blobs' fetchers fell. (Not "every
    // host > 0 from peers": a digest's fetcher is the rendezvous of the node ids, random per run, and
    // one host is the fetcher of all 5 blobs in 3 runs of 243, then rightly takes nothing from a peer.)
    expect(byHost.reduce((n, h) => n + h.peer, 0)).toBeGreaterThanOrEqual(2 * total);
    // The pin: every host runs the same image (the config digest is the image id).
    const ids = await Promise.all([0, 1, 2].map(async (i) => (await host(i).docker(["image", "inspect", "-f", "{{.Id}}", image!.ref])).stdout.trim()));
    expect(new Set(ids).size).toBe(1);
  }, 240_000);

  test("upstream stopped: a new deployment of the same image still starts on every host", async () => {
    const down = await fizz(0, join(cluster!.dir, "regapp"), "down");
    expect(down.code).toBe(0);
    // Nothing cached in the engines: the image must come from the registries' caches.
    for (const h of cluster!.hosts) await h.docker(["rmi", "-f", image!.ref]);
    upstream!.kill("SIGKILL");
    // Gone once nothing answers on its address (the kill is delivered asynchronously): waited for, not slept on.
    let answer = "";
    for (const stop = Date.now() + 10_000; Date.now() < stop; await new Promise((r) => setTimeout(r, 100))) {
      answer = (await host(1).exec(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", `http://${up}/v2/`])).stdout;
      if (answer === "000") break;
    }
    expect(answer).toBe("000");
    const dir = project("regapp2", `name: regapp2\nservices:\n  web:\n    image: ${image!.ref}\n    command: ${SERVE}\n    ports: ["18081:8080"]\n    deploy:\n      replicas: 3\n`);
    const r = await fizz(0, dir, "up", "-d", "--wait", "--wait-timeout", "60");
    expect(r.stderr + r.stdout).not.toContain("Error");
    if (r.code !== 0) process.stderr.write(`fizz up failed (${r.code}):\n${r.stdout}\n${r.stderr}\n`);
    expect(r.code).toBe(0);
    await waitRunningEverywhere("regapp2");
    await fizz(0, dir, "down");
  }, 240_000);

  test("a build: service deployed from host 0 runs on hosts 1 and 2 from host 0's build", async () => {
    const dir = project("regbuild", `name: regbuild\nservices:\n  api:\n    build: ./ctx\n    command: ${SERVE}\n    ports: ["18082:8080"]\n    deploy:\n      replicas: 3\n`);
    mkdirSync(join(dir, "ctx"), { recursive: true });
    writeFileSync(join(dir, "ctx", "Dockerfile"), "FROM fizz-test/busybox:1\nRUN echo built-on-host-0 > /built\n");
    const r = await fizz(0, dir, "up", "-d", "--wait", "--wait-timeout", "60");
    expect(r.stderr + r.stdout).not.toContain("Error");
    if (r.code !== 0) process.stderr.write(`fizz up failed (${r.code}):\n${r.stdout}\n${r.stderr}\n`);
    expect(r.code).toBe(0);
    await waitRunningEverywhere("regbuild");
    // One build: the same image id everywhere (separate builds would differ by their timestamps).
    const ids = await Promise.all([0, 1, 2].map(async (i) => (await host(i).docker(["image", "inspect", "-f", "{{.Id}}", "regbuild-api"])).stdout.trim()));
    expect(ids[0]).toMatch(/^sha256:/);
    expect(new Set(ids).size).toBe(1);
    for (const i of [1, 2]) {
      const built: string[] = [];
      for await (const e of client(i).events({ follow: false, deployment: "regbuild" })) if (e.type === "step.build_image") built.push(e.message);
      expect(built).toEqual([]);
      const out = await host(i).docker(["exec", "regbuild-api-" + (await replicaNumberOn(i, "regbuild")), "cat", "/built"]);
      expect(out.stdout.trim()).toBe("built-on-host-0");
    }
    await fizz(0, dir, "down");
  }, 240_000);

  async function replicaNumberOn(i: number, projectName: string): Promise<string> {
    const r = await host(i).docker(["ps", "--filter", `label=com.docker.compose.project=${projectName}`, "--format", '{{.Label "com.docker.compose.container-number"}}']);
    return r.stdout.split("\n")[0]!.trim();
  }

  test("an image pushed to one node's registry is pulled by tag on another", async () => {
    const push = await host(0).exec(["skopeo", "copy", "--dest-tls-verify=false", "--src-daemon-host", host(0).dockerHost, "docker-daemon:fizz-test/busybox:2", "docker://127.0.0.1:5050/team/app:1"], { timeoutMs: 60_000 });
    expect(push.ok).toBe(true);
    let ok = false;
    for (const stop = Date.now() + 15_000; !ok && Date.now() < stop; await new Promise((r) => setTimeout(r, 250))) {
      const r = await host(2).exec(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "accept: application/vnd.docker.distribution.manifest.v2+json", "http://127.0.0.1:5050/v2/team/app/manifests/1"]);
      ok = r.stdout === "200";
    }
    expect(ok).toBe(true);
    const pulled = await host(2).docker(["pull", "127.0.0.1:5050/team/app:1"], { timeoutMs: 60_000 });
    expect(pulled.ok).toBe(true);
    await host(2).docker(["rmi", "127.0.0.1:5050/team/app:1"]);
  }, 90_000);

  test("the registry on a cluster address: no credentials → UNAUTHORIZED; the cluster's password → served", async () => {
    const url = `http://${host(0).ip}:5050/v2/_catalog`;
    const anon = await host(1).exec(["curl", "-s", "-D", "-", url]);
    expect(anon.stdout).toMatch(/^HTTP\/1\.1 401/);
    expect(anon.stdout.toLowerCase()).toContain('www-authenticate: basic realm="fizz"');
    expect(anon.stdout).toContain('"code":"UNAUTHORIZED"');
    const wrong = await host(1).exec(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-u", "fizz:not-the-password", url]);
    expect(wrong.stdout).toBe("401");
    const creds = await client(2).json<{ username: string; password: string }>("GET", "/v1/registry/credentials");
    const ok = await host(1).exec(["curl", "-s", "-u", `${creds.username}:${creds.password}`, url]);
    expect(JSON.parse(ok.stdout)).toHaveProperty("repositories");
    // the peer listener refuses a client without the cluster certificate
    const peer = await host(1).exec(["curl", "-sk", "-o", "/dev/null", "-w", "%{http_code}", `https://${host(0).ip}:7947/v2/`]);
    expect(peer.stdout).toBe("000");
  }, 60_000);
});
