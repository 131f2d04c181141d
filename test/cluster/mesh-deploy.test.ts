// Issue 12's acceptance on real hosts: three namespaced hosts, each with its
// own dockerd and `fizz agent`, one cluster, the WireGuard mesh between them.
// A compose project whose services are pinned to different hosts reaches its
// services by name across hosts through the cluster resolver; another
// project on the same hosts cannot reach them at all; depends_on
// service_healthy holds across hosts; `dig` against a node's resolver
// answers exactly the healthy replicas, drops an unhealthy one within 5 s and
// never answers another project's names; bad input is refused with nothing
// half-applied; a cross-host transfer crosses the underlay only as
// WireGuard UDP; WordPress and MariaDB on different hosts serve the
// installer; a killed host's service is reached again by name within 15 s
// with no stale address after; a node that leaves frees its addresses.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { MeshStatus } from "../../platform/api/routes-mesh.ts";
import { engineSocket } from "../support/engine.ts";
import { agentCommand, createCluster, type Cluster, type Host } from "./harness.ts";
import { agentClient, agentLogTails, fizzOn } from "./fizz-cluster.ts";
import { run, waitFor } from "./shell.ts";
import { ensureWgetImage, WGET_IMAGE } from "./wget-image.ts";

const socket = await engineSocket("docker");
const isRoot = process.getuid?.() === 0;
if (socket && !isRoot && process.env.CI === "true") throw new Error("mesh deploy tests need root (ip netns, iptables, dockerd, wireguard-go)");

const ROOT = join(import.meta.dir, "..", "..");
const WP_IMAGES = ["wordpress:6", "mariadb:10.11"];
const pin = (role: string) => `    deploy: { placement: { constraints: ["node.labels.role == ${role}"] } }\n`;
const PAYLOAD_WORD = "FIZZ-APP-PAYLOAD";
// Each server also serves /payload.txt: 4,000 bytes of a known word, for the capture.
const serve = (text: string, delay = 0) =>
  `["sh", "-c", "${delay ? `sleep ${delay}; ` : ""}mkdir -p /www && echo ${text} > /www/index.html && yes ${PAYLOAD_WORD} | head -c 4000 > /www/payload.txt && exec httpd -f -p 8080 -h /www"]`;
// Every test container stops at once: sleep and httpd as PID 1 ignore SIGTERM, so each stop would
// wait out Compose's default 10 s (fizz leave tears down the leaver's containers before it returns:
// 42 s of the last test's 60 s in CI, four of those waits in a row).
const QUICK = "    stop_grace_period: 1s\n";
const httpCheck = `    healthcheck: { test: ["CMD", "wget", "-qO-", "http://127.0.0.1:8080/"], interval: 1s, timeout: 2s, retries: 2 }\n`;

function shop(apiPlacement: string, apiDependsOnDb = true): string {
  return (
    "name: shop\nservices:\n" +
    `  db:\n    image: ${WGET_IMAGE}\n    command: ${serve("db-ok", 4)}\n${QUICK}${httpCheck}${pin("h2")}` +
    `  api:\n    image: ${WGET_IMAGE}\n    command: ${serve("api-ok")}\n${QUICK}${httpCheck}` +
    (apiDependsOnDb ? "    depends_on: { db: { condition: service_healthy } }\n" : "") +
    `    deploy: { placement: { constraints: ["${apiPlacement}"] } }\n` +
    `  web:\n    image: ${WGET_IMAGE}\n    command: ["sleep", "3600"]\n${QUICK}    depends_on: { api: { condition: service_healthy } }\n${pin("h0")}`
  );
}

describe.skipIf(!socket || !isRoot)("compose networks across 3 hosts", () => {
  let cluster: Cluster | undefined;
  let failed = false;
  const host = (i: number): Host => cluster!.hosts[i]!;
  const dir = (name: string) => join(cluster!.dir, "projects", name);
  const fizz = (i: number, project: string, ...args: string[]) => fizzOn(host(i), dir(project), args);
  const mesh = (i: number): Promise<MeshStatus> => agentClient(host(i)).mesh();

  function write(project: string, text: string): void {
    mkdirSync(dir(project), { recursive: true });
    writeFileSync(join(dir(project), "compose.yaml"), text);
  }

  async function up(i: number, project: string, ...extra: string[]): Promise<void> {
    const r = await fizz(i, project, "up", "-d", "--wait", ...extra);
    if (r.code !== 0) throw new Error(`fizz up ${project} on h${i} failed (${r.code}):\n${r.stdout}\n${r.stderr}\n${agentLogTails(cluster!, 30)}`);
  }

  /** Which host runs a container, and its id there. */
  async function where(name: string): Promise<{ host: number; id: string } | undefined> {
    for (const h of cluster!.hosts) {
      if (h.engineState() !== "up") continue;
      const r = await h.docker(["ps", "-q", "--filter", `name=^${name}$`], { timeoutMs: 10_000 });
      if (r.stdout.trim()) return { host: h.index, id: r.stdout.trim() };
    }
    return undefined;
  }

  async function inspect(name: string, format: string): Promise<string> {
    const w = await where(name);
    if (!w) throw new Error(`no running container ${name}`);
    return (await host(w.host).docker(["inspect", "-f", format, name], { timeoutMs: 10_000 })).stdout.trim();
  }

  /** `dig` run in a container's network namespace (so the resolver sees that container ask), against its node's resolver. */
  async function dig(container: string, name: string, type = "A"): Promise<{ status: string; answers: string[]; ttls: number[] }> {
    const pid = await inspect(container, "{{.State.Pid}}");
    const dns = (await inspect(container, "{{json .HostConfig.Dns}}")).replace(/[[\]"]/g, "").split(",")[0]!;
    const r = await run(["nsenter", `--net=/proc/${pid}/ns/net`, "dig", `@${dns}`, "+time=2", "+tries=1", name, type], { timeoutMs: 10_000 });
    const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? `no answer: ${r.stdout}${r.stderr}`;
    const lines = r.stdout.split("\n").filter((l) => !l.startsWith(";") && l.includes(`\tIN\t${type}\t`));
    return { status, answers: lines.map((l) => l.split(/\s+/).pop()!).sort(), ttls: lines.map((l) => Number(l.split(/\s+/)[1])) };
  }

  /**
   * wget from a container (on its host's engine, docker exec), bounded. GNU wget retries a timed-out
   * connect (20 tries by default), so an address nobody answers held the exec until its 10 s timeout;
   * `once` makes it one try of at most 3 s per step, for probes that expect no answer or measure when
   * one comes.
   */
  async function wget(container: string, url: string, o: { once?: boolean } = {}): Promise<{ code: number; body: string }> {
    const w = await where(container);
    if (!w) return { code: -1, body: `no container ${container}` };
    const r = await host(w.host).docker(["exec", container, "wget", "-qO-", "-T", "3", ...(o.once ? ["-t", "1"] : []), url], { timeoutMs: 10_000 });
    return { code: r.code ?? -1, body: r.stdout.trim() };
  }

  beforeAll(async () => {
    await ensureWgetImage();
    cluster = await createCluster({ hosts: 3, images: ["fizz-test/busybox:1", WGET_IMAGE] });
    // The resolvers' upstream: a dnsmasq inside host 2 (names that are not the cluster's go there, nowhere else).
    host(2).spawn(["dnsmasq", "--no-daemon", "--no-resolv", "--no-hosts", "--port=5353", `--listen-address=${host(2).ip}`, "--bind-interfaces", "--address=/outside.test/10.99.0.99"], { label: "dnsmasq" });
    for (const h of cluster.hosts) {
      h.startAgent(agentCommand(h, ["--engine", h.dockerHost]), { env: { FIZZ_CLUSTER_LABELS: `role=h${h.index}`, FIZZ_DNS_UPSTREAMS: `${host(2).ip}:5353` } });
    }
    for (const h of cluster.hosts) {
      const ok = await waitFor(() => agentClient(h).info().then(() => true, () => false), 30_000, 200);
      if (!ok) throw new Error(`agent on ${h.name} did not start:\n${readFileSync(h.agentLog, "utf8").slice(-3000)}`);
    }
    const init = await agentClient(host(0)).clusterInit();
    for (const i of [1, 2]) await agentClient(host(i)).clusterJoin(host(0).gossipAddr, init.token);
    const meshed = await waitFor(async () => {
      for (const i of [0, 1, 2]) {
        const m = await mesh(i).catch(() => undefined);
        if (!m || !m.address || m.peers.length !== 2 || m.peers.some((p) => p.lastHandshakeSeconds === null)) return false;
      }
      return true;
    }, 45_000, 250);
    if (!meshed) throw new Error(`mesh not up:\n${agentLogTails(cluster, 30)}`);
    // WordPress's images only where they run (the registry would carry them too; this is quicker).
    const tar = join(cluster.dir, "wp-images");
    mkdirSync(tar, { recursive: true });
    await Promise.all(
      WP_IMAGES.map(async (img, i) => {
        const file = join(tar, `${i}.tar`);
        const s = await run(["docker", "save", "-o", file, img], { timeoutMs: 180_000 });
        if (s.code !== 0) throw new Error(`docker save ${img}: ${s.stderr} (build them with test/images/build-wordpress.sh)`);
        const l = await host(i).docker(["load", "-i", file], { timeoutMs: 180_000 });
        if (l.code !== 0) throw new Error(`load ${img} into h${i}: ${l.stderr}`);
      }),
    );
  }, 420_000);

  afterAll(async () => {
    if (!cluster) return;
    if (failed) process.stderr.write(agentLogTails(cluster, 40));
    await cluster.destroy();
  }, 180_000);

  const step = (name: string, fn: () => Promise<void>, timeout: number) =>
    test(name, async () => {
      try {
        await fn();
      } catch (e) {
        failed = true;
        throw e;
      }
    }, timeout);

  step("web, api and db on three hosts reach each other by name; fizz why and inspect show addresses; another project reaches nothing of them", async () => {
    write("shop", shop("node.labels.role == h1"));
    await up(0, "shop");
    expect((await where("shop-web-1"))?.host).toBe(0);
    expect((await where("shop-api-1"))?.host).toBe(1);
    expect((await where("shop-db-1"))?.host).toBe(2);

    const viaFizz = await fizz(0, "shop", "exec", "-T", "web", "wget", "-qO-", "-T", "5", "http://api:8080/");
    expect(`${viaFizz.stdout.trim()} ${viaFizz.stderr}`).toStartWith("api-ok");
    expect(await wget("shop-api-1", "http://db:8080/")).toEqual({ code: 0, body: "db-ok" });
    expect((await wget("shop-web-1", "http://db.shop:8080/")).body).toBe("db-ok");

    // depends_on service_healthy across hosts: db is healthy 4 s after its start at the earliest.
    const started = async (n: string) => Date.parse(await inspect(n, "{{.State.StartedAt}}"));
    const gap = (await started("shop-api-1")) - (await started("shop-db-1"));
    process.stderr.write(`api (h1) started ${gap} ms after db (h2), which cannot be healthy before 4,000 ms\n`);
    expect(gap).toBeGreaterThanOrEqual(4000);

    const why = await fizz(0, "shop", "why", "api", "--format", "json");
    const w = JSON.parse(why.stdout) as { replicas: { number: number; node: string; addresses: Record<string, string> }[]; text: string };
    const apiIp = w.replicas[0]!.addresses["default"]!;
    expect(apiIp).toMatch(/^10\.2(0[89]|1\d|2[0-3])\./);
    expect(await inspect("shop-api-1", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}")).toBe(apiIp);
    expect((await fizz(0, "shop", "why", "api")).stdout).toContain(`${apiIp} on network default`);
    const ins = JSON.parse((await fizz(1, "shop", "inspect", "shop/api")).stdout) as { containers: { addresses?: Record<string, string> }[] };
    expect(ins.containers[0]!.addresses).toEqual({ default: apiIp });

    // Another project on the same hosts: its own network, no name, no route.
    write("other", `name: other\nservices:\n  spy:\n    image: ${WGET_IMAGE}\n    command: ["sleep", "3600"]\n${QUICK}${pin("h0")}`);
    await up(0, "other");
    for (const url of ["http://api:8080/", "http://api.shop:8080/", "http://shop-api-1:8080/", `http://${apiIp}:8080/`]) {
      const r = await wget("other-spy-1", url, { once: true });
      expect({ url, reached: r.code === 0 }).toEqual({ url, reached: false });
    }
    // …while the same address answers shop's own web.
    expect((await wget("shop-web-1", `http://${apiIp}:8080/`)).body).toBe("api-ok");
  }, 240_000);

  step("a cross-host transfer of a known payload (web on h0 -> api on h1) crosses the underlay only as WireGuard UDP", async () => {
    const c = cluster!;
    const cap = join(c.dir, "app-underlay.pcap");
    // Everything between the two hosts, from before the transfer until after it.
    const dump = run(["timeout", "10", "tcpdump", "-i", c.bridge, "-nn", "-U", "-s", "0", "-w", cap, `host ${host(0).ip} and host ${host(1).ip}`], { timeoutMs: 20_000 });
    await new Promise((r) => setTimeout(r, 1500));
    const got = await wget("shop-web-1", "http://api:8080/payload.txt");
    expect(got.code).toBe(0);
    expect(got.body.length).toBeGreaterThanOrEqual(3990);
    expect(got.body).toContain(PAYLOAD_WORD);
    await dump;
    const lines = (await run(["tcpdump", "-nn", "-r", cap, "ip"])).stdout.trim().split("\n").filter(Boolean);
    const wg = lines.filter((l) => /IP 10\.99\.0\.\d+\.51820 > 10\.99\.0\.\d+\.51820: UDP/.test(l));
    const other = lines.filter((l) => !wg.includes(l));
    // The rest is the agents' own control traffic (gossip 7946, relay 7948, registry peers): never the app's port.
    const otherPorts = [...new Set(other.map((l) => /IP [\d.]+\.(\d+) > [\d.]+\.(\d+)/.exec(l)?.slice(1, 3).map(Number).sort((a, b) => a - b)[0]))].sort();
    process.stderr.write(`underlay during the transfer: ${wg.length} WireGuard UDP packets, ${other.length} others on ports ${otherPorts.join(",")}\n`);
    expect(wg.length).toBeGreaterThanOrEqual(4);
    expect(other.filter((l) => /\.8080[ :]/.test(l))).toEqual([]);
    expect((await run(["tcpdump", "-nn", "-A", "-r", cap])).stdout).not.toContain(PAYLOAD_WORD);
  }, 60_000);

  step("down, then up again: the project's containers reach each other across hosts again", async () => {
    // The network comes back with a bridge of the same name on every host: each agent must route it again.
    const down = await fizz(0, "shop", "down");
    expect(down.code).toBe(0);
    await up(0, "shop");
    expect((await wget("shop-web-1", "http://api:8080/")).body).toBe("api-ok");
    expect(await wget("shop-api-1", "http://db:8080/")).toEqual({ code: 0, body: "db-ok" });
  }, 120_000);

  step("dig against a node's resolver: exactly the healthy replicas, TTL <= 5, an unhealthy one gone within 5 s, no other project's names, the rest forwarded", async () => {
    write(
      "echo",
      "name: echo\nservices:\n" +
        `  echo:\n    image: fizz-test/busybox:1\n    command: ["sh", "-c", "touch /tmp/healthy; exec sleep 3600"]\n${QUICK}` +
        `    healthcheck: { test: ["CMD", "test", "-f", "/tmp/healthy"], interval: 1s, timeout: 1s, retries: 1 }\n    deploy: { replicas: 3 }\n` +
        `  probe:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n${QUICK}${pin("h0")}`,
    );
    await up(0, "echo");
    const w = JSON.parse((await fizz(0, "echo", "why", "echo", "--format", "json")).stdout) as { replicas: { number: number; node: string; addresses: Record<string, string> }[] };
    const all = w.replicas.map((r) => r.addresses["default"]!).sort();
    expect(all.length).toBe(3);
    process.stderr.write(`echo's replicas: ${w.replicas.map((r) => `#${r.number} ${r.node} ${r.addresses["default"]}`).join(", ")}\n`);
    const a = await dig("echo-probe-1", "echo");
    expect(a.status).toBe("NOERROR");
    expect(a.answers).toEqual(all);
    expect(Math.max(...a.ttls)).toBeLessThanOrEqual(5);
    expect((await dig("echo-probe-1", "echo.echo")).answers).toEqual(all);
    expect((await dig("echo-probe-1", "echo-echo-2")).answers.length).toBe(1);
    expect((await dig("echo-probe-1", "echo", "SRV")).answers.length).toBe(3);

    // Replica 2 turns unhealthy: measured from when its engine says so to when no answer has it.
    const victim = w.replicas.find((r) => r.number === 2)!.addresses["default"]!;
    const at = await where("echo-echo-2");
    await host(at!.host).docker(["exec", "echo-echo-2", "rm", "-f", "/tmp/healthy"]);
    let unhealthyAt = 0;
    await waitFor(async () => {
      if ((await inspect("echo-echo-2", "{{.State.Health.Status}}")) !== "unhealthy") return false;
      unhealthyAt = Date.now();
      return true;
    }, 20_000, 100);
    expect(unhealthyAt).toBeGreaterThan(0);
    let goneAt = 0;
    await waitFor(async () => {
      if ((await dig("echo-probe-1", "echo")).answers.includes(victim)) return false;
      goneAt = Date.now();
      return true;
    }, 20_000, 100);
    process.stderr.write(`unhealthy replica left the answers ${goneAt - unhealthyAt} ms after its engine marked it unhealthy\n`);
    expect(goneAt).toBeGreaterThan(0);
    expect(goneAt - unhealthyAt).toBeLessThanOrEqual(5000);
    expect((await dig("echo-probe-1", "echo")).answers).toEqual(all.filter((x) => x !== victim));

    // Another project's names are not answered to this project's containers, either way.
    for (const n of ["api", "api.shop", "shop-api-1", "db"]) expect({ n, answers: (await dig("echo-probe-1", n)).answers }).toEqual({ n, answers: [] });
    for (const n of ["echo", "echo.echo", "echo-echo-1", "probe"]) expect({ n, answers: (await dig("shop-web-1", n)).answers }).toEqual({ n, answers: [] });
    // Everything else goes to the node's upstream (a dnsmasq inside host 2).
    expect((await dig("echo-probe-1", "www.outside.test")).answers).toEqual(["10.99.0.99"]);

    // Measured, not asserted: the agents' resident memory with the mesh and the resolver on (source mode under Bun).
    await new Promise((r) => setTimeout(r, 3000));
    const rss = [0, 1, 2].map((i) => {
      const pid = host(i).agent()?.pid;
      const kb = pid ? Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1]) : NaN;
      return `${host(i).name} ${(kb / 1024).toFixed(1)} MB`;
    });
    process.stderr.write(`agent RSS with the mesh and the resolver on (2 projects running), idle: ${rss.join(", ")}\n`);
  }, 180_000);

  step("bad input: a taken subnet is refused before anything is stored; an ipv4_address in another node's slice fails the change, which is undone everywhere", async () => {
    const shopSubnet = (await mesh(0)).networks.find((n) => n.deployment === "shop" && n.network === "default")!.subnet;
    write("bad1", `name: bad1\nservices:\n  a:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n${QUICK}networks:\n  default:\n    ipam: { config: [{ subnet: ${shopSubnet} }] }\n`);
    const r1 = await fizz(0, "bad1", "up", "-d");
    expect(r1.code).not.toBe(0);
    // net.subnet_taken (the CLI prints the message and the hint, not the code)
    expect(r1.stderr).toContain(`subnet ${shopSubnet} of network default overlaps network default of deployment shop`);
    expect(r1.stderr).toContain("hint: choose another subnet");

    // b on h0 holds the slice with .20 and .21 (deployed first: two nodes claiming one slice in the
    // same instant both succeed, and the loser finds out only on its next pass); then a change adds
    // a on h1 asking for .21: h1 cannot have it, and the change is undone everywhere (b stays as it was).
    const bad2 = (withA: boolean) =>
      write(
        "bad2",
        "name: bad2\nservices:\n" +
          (withA ? `  a:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n${QUICK}    networks: { default: { ipv4_address: 10.219.7.21 } }\n${pin("h1")}` : "") +
          `  b:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n${QUICK}    networks: { default: { ipv4_address: 10.219.7.20 } }\n${pin("h0")}` +
          "networks:\n  default:\n    ipam: { config: [{ subnet: 10.219.7.0/24 }] }\n",
      );
    bad2(false);
    await up(0, "bad2");
    const bId = (await where("bad2-b-1"))?.id;
    expect(bId).toBeTruthy();
    bad2(true);
    const r2 = await fizz(0, "bad2", "up", "-d", "--wait");
    process.stderr.write(`bad2: ${r2.stderr.trim().split("\n").slice(-3).join(" | ")}\n`);
    expect(r2.code).not.toBe(0);
    // net.address_unavailable: the replica, the address and the fix
    expect(r2.stderr).toMatch(/ipv4_address 10\.219\.7\.21 on network default is in 10\.219\.7\.\d+\/\d+, which node \S+ holds/);
    expect(r2.stderr).toContain("pin the service to that node");
    // Nothing half-applied: no a anywhere, b untouched (same container).
    const reverted = await waitFor(async () => (await where("bad2-a-1")) === undefined && (await host(1).docker(["ps", "-aq", "--filter", "name=bad2-a-1"])).stdout.trim() === "", 20_000, 500);
    expect(reverted).toBe(true);
    expect((await where("bad2-b-1"))?.id).toBe(bId);
    expect((await fizz(0, "bad2", "down")).code).toBe(0);
    for (const name of ["bad1", "bad2"]) {
      const gone = await waitFor(async () => {
        for (const h of cluster!.hosts) {
          const c = await h.docker(["ps", "-aq", "--filter", `label=com.docker.compose.project=${name}`]);
          const n = await h.docker(["network", "ls", "-q", "--filter", `label=com.docker.compose.project=${name}`]);
          if (c.stdout.trim() || n.stdout.trim()) return false;
        }
        return !(await fizz(0, "shop", "ls")).stdout.includes(name);
      }, 30_000, 500);
      expect({ name, gone }).toEqual({ name, gone: true });
    }
    // Its claims went with it: no node serves a network of bad2.
    const freed = await waitFor(async () => (await Promise.all([0, 1, 2].map(mesh))).every((m) => !m.networks.some((n) => n.deployment.startsWith("bad"))), 20_000, 500);
    expect(freed).toBe(true);
  }, 180_000);

  step("WordPress and MariaDB on different hosts: the installer answers on the WordPress host", async () => {
    const d = dir("wordpress");
    mkdirSync(d, { recursive: true });
    cpSync(join(ROOT, "examples", "wordpress"), join(d, "wordpress"), { recursive: true });
    let text = readFileSync(join(ROOT, "examples", "wordpress-compose.yml"), "utf8");
    text = text.replace("  db:\n    image: mariadb:10.11\n", `  db:\n    image: mariadb:10.11\n${pin("h1")}`).replace("  wordpress:\n    image: wordpress:6\n", `  wordpress:\n    image: wordpress:6\n${pin("h0")}`);
    expect(text).toContain("role == h1");
    expect(text).toContain("role == h0");
    writeFileSync(join(d, "compose.yaml"), text);
    await up(0, "wordpress");
    expect((await where("wordpress-wordpress-1"))?.host).toBe(0);
    expect((await where("wordpress-db-1"))?.host).toBe(1);
    let page = "";
    const ok = await waitFor(async () => {
      const r = await host(0).httpGet("http://127.0.0.1:8080/wp-admin/install.php", 10);
      page = r ? `${r.status} ${r.body.slice(0, 300)}` : "no answer";
      return r?.status === 200 && /WordPress/.test(r.body);
    }, 120_000, 1000);
    if (!ok) process.stderr.write(`installer: ${page}\n${(await host(0).docker(["logs", "--tail", "20", "wordpress-wordpress-1"])).stderr}\n`);
    expect(ok).toBe(true);
    const down = await fizz(0, "wordpress", "down", "-v");
    expect(down.code).toBe(0);
  }, 300_000);

  step("kill the host running api: rescheduled, and web reaches it by name again within 15 s, with no stale address after", async () => {
    // api may now run on h1 or h2 (not with web); it no longer waits for db, which may die with it.
    write("shop", shop("node.labels.role != h0", false));
    await up(0, "shop");
    const before = await where("shop-api-1");
    const oldIp = await inspect("shop-api-1", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}");
    expect(before && before.host !== 0).toBe(true);
    expect((await wget("shop-web-1", "http://api:8080/")).body).toBe("api-ok");
    const t0 = Date.now();
    await cluster!.killHost(before!.host);
    // When web reaches api by name again: a try starts every 500 ms, each one try of at most 3 s
    // (a try on the old address waits for its connect timeout), so the time is measured to about
    // half a second, not to the length of a try that happened to hang. (Each try used to be retried
    // by wget until the exec's 10 s timeout: CI measured 11.8-12.2 s, a try killed at 10 s plus the
    // next one, and api not back within ~10 s would have read as 20 s.)
    let took = -1;
    const tries: Promise<void>[] = [];
    while (took < 0 && Date.now() - t0 < 30_000) {
      tries.push(
        wget("shop-web-1", "http://api:8080/", { once: true }).then((r) => {
          if (r.body === "api-ok" && took < 0) took = Date.now() - t0;
        }),
      );
      await new Promise((r) => setTimeout(r, 500));
    }
    await Promise.all(tries);
    const back = took >= 0;
    process.stderr.write(`web reached api by name again ${took} ms after h${before!.host} was killed\n`);
    expect(back).toBe(true);
    expect(took).toBeLessThanOrEqual(15_000);
    const after = await where("shop-api-1");
    expect(after!.host).not.toBe(before!.host);
    const newIp = await inspect("shop-api-1", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}");
    // No stale address: for 3 s every answer is the new replica's alone.
    for (let i = 0; i < 10; i++) {
      expect((await dig("shop-web-1", "api")).answers).toEqual([newIp]);
      await new Promise((r) => setTimeout(r, 300));
    }
    if (newIp === oldIp) process.stderr.write("(the new replica landed on the same address: the slice moved with nothing)\n");
  }, 120_000);

  step("a node that leaves frees its mesh address and slices", async () => {
    const alive = [1, 2].find((i) => host(i).engineState() === "up")!;
    const before = (await mesh(0)).holders.map((h) => h.node);
    const l0 = Date.now();
    const { node: nodeId } = await agentClient(host(alive)).clusterLeave();
    process.stderr.write(`fizz leave on h${alive} returned after ${Date.now() - l0} ms (its containers torn down)\n`);
    expect(before).toContain(nodeId);
    const freed = await waitFor(async () => !(await mesh(0)).holders.some((h) => h.node === nodeId), 30_000, 500);
    expect(freed).toBe(true);
  }, 60_000);
});
