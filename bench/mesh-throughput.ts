/**
 * Container-to-container TCP throughput across two namespaced hosts (each its
 * own dockerd), measured with iperf3 run inside the containers' network
 * namespaces (nsenter: the busybox fixture has no iperf3), 5 × 5 s per path,
 * the two WireGuard paths alternating run by run (both tunnels stay up; the
 * slice routes are switched between them), so load from other work on the
 * machine hits both alike:
 *
 *   veth      no tunnel: the other host's slice routed over the underlay (context)
 *   wg-hand   a hand-made wireguard-go tunnel between the same namespaces
 *             (wg genkey / wg set / ip route, MTU 1420, nothing else)
 *   fizz      Fizz's mesh: platform/net's WgInterface, core/net's plans
 *             (meshPlan, firewall chains, MTU computed from the underlay)
 *
 * Same containers, same addresses, same network for all three. Prints Mbit/s
 * (median of 3) and fizz / wg-hand (target >= 0.95).
 *
 *   flock /tmp/fizz-heavy.lock bun bench/mesh-throughput.ts   (root; iperf3, wireguard-go)
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { cidr, formatCidr } from "../core/net/cidr.ts";
import { firewallPlan } from "../core/net/firewall-plan.ts";
import { meshDiff, meshPlan } from "../core/net/mesh-plan.ts";
import { resolveClaims } from "../core/net/claims.ts";
import { defaultIpamConfig } from "../core/net/ipam-config.ts";
import { encodeHlc } from "../core/crdt/index.ts";
import { applyFirewall, enableBridgeRouting, loadOrCreateWgKey, removeFirewall, toolRunner, WgInterface } from "../platform/net/index.ts";
import { createCluster, type Host } from "../test/cluster/harness.ts";
import { run } from "../test/cluster/shell.ts";

const SUBNET = "10.208.4.0/24";
const SLICE = ["10.208.4.0/28", "10.208.4.16/28"];
const IP = ["10.208.4.5", "10.208.4.20"];
const NODE_IP = ["10.223.252.2", "10.223.252.3"];
const BRIDGE = "fzbench0";
const RUNS = 5;
const SECONDS = 5;

const cfg = defaultIpamConfig();
const c = await createCluster({ hosts: 2, images: ["fizz-test/busybox:1"] });
const hosts = c.hosts as readonly Host[];
const runner = hosts.map((h) => toolRunner(["nsenter", `--net=${h.nsPath}`, "--"]));
const sh = async (i: number, cmd: string) => {
  const r = await runner[i]!(["sh", "-c", cmd], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`h${i}: ${cmd}: ${r.stderr}`);
  return r.stdout;
};
const pid = async (h: Host, name: string) => (await h.docker(["inspect", "-f", "{{.State.Pid}}", name])).stdout.trim();

/** One iperf3 run (a fresh server each time); a run that fails to connect is tried again, up to 3 times. */
async function iperf(what: string): Promise<number> {
  const serverPid = await pid(hosts[1]!, "bench-b");
  const clientPid = await pid(hosts[0]!, "bench-a");
  let last = "";
  for (let attempt = 0; attempt < 3; attempt++) {
    const server = run(["nsenter", `--net=/proc/${serverPid}/ns/net`, "iperf3", "-s", "-1", "-p", "5201"], { timeoutMs: SECONDS * 1000 + 20_000 });
    await new Promise((r) => setTimeout(r, 1000));
    const r = await run(["nsenter", `--net=/proc/${clientPid}/ns/net`, "iperf3", "-c", IP[1]!, "-p", "5201", "-t", String(SECONDS), "-J", "--connect-timeout", "3000"], { timeoutMs: SECONDS * 1000 + 15_000 });
    const s = await server;
    if (r.ok) {
      const j = JSON.parse(r.stdout) as { end: { sum_received: { bits_per_second: number } } };
      return j.end.sum_received.bits_per_second / 1e6;
    }
    last = `client exit ${r.code}${r.timedOut ? " (timed out)" : ""}: ${(r.stderr || r.stdout).slice(0, 300)}; server exit ${s.code}: ${(s.stderr || s.stdout).slice(0, 300)}`;
  }
  throw new Error(`iperf3 over ${what} failed 3 times: ${last}`);
}

async function measure(what: string): Promise<number> {
  const xs: number[] = [];
  for (let i = 0; i < RUNS; i++) xs.push(await iperf(what));
  return xs.sort((a, b) => a - b)[Math.floor(RUNS / 2)]!;
}

async function forwardAccept(i: number, on: boolean, dev: string): Promise<void> {
  const op = on ? "-I" : "-D";
  await sh(i, `iptables ${op} DOCKER-USER ${on ? "1 " : ""}-i ${BRIDGE} -o ${dev} -j ACCEPT && iptables ${op} DOCKER-USER ${on ? "1 " : ""}-i ${dev} -o ${BRIDGE} -j ACCEPT`);
}

const results: Record<string, number> = {};
try {
  for (const [i, h] of hosts.entries()) {
    const r = await h.docker(["network", "create", "--subnet", SUBNET, "--gateway", "10.208.4.1", "--ip-range", SLICE[i]!, "-o", `com.docker.network.bridge.name=${BRIDGE}`, "-o", "com.docker.network.bridge.enable_ip_masquerade=false", "-o", "com.docker.network.driver.mtu=1420", "bench"]);
    if (!r.ok) throw new Error(r.stderr);
    await enableBridgeRouting(runner[i]!, BRIDGE);
    const c2 = await h.docker(["run", "-d", "--name", i === 0 ? "bench-a" : "bench-b", "--network", "bench", "--ip", IP[i]!, "fizz-test/busybox:1", "sleep", "3600"]);
    if (!c2.ok) throw new Error(c2.stderr);
  }

  // 1. Bare veth: the other slice via the other host's underlay address.
  for (const i of [0, 1]) {
    await sh(i, `ip route add ${SLICE[1 - i]} via ${hosts[1 - i]!.ip}`);
    await forwardAccept(i, true, "eth0");
  }
  results.veth = await measure("veth");
  for (const i of [0, 1]) {
    await sh(i, `ip route del ${SLICE[1 - i]}`);
    await forwardAccept(i, false, "eth0");
  }

  // 2. A hand-made wireguard-go tunnel.
  const keys = await Promise.all([0, 1].map(async (i) => {
    const priv = (await sh(i, "wg genkey")).trim();
    const pub = (await runner[i]!(["wg", "pubkey"], { input: `${priv}\n` })).stdout.trim();
    writeFileSync(join(c.dir, `hand${i}.key`), `${priv}\n`, { mode: 0o600 });
    return { pub, file: join(c.dir, `hand${i}.key`) };
  }));
  for (const i of [0, 1]) {
    const dev = `fzh${c.name.slice(0, 6)}${i}`;
    hosts[i]!.spawn(["wireguard-go", "-f", dev], { label: `hand-wg${i}` });
  }
  await new Promise((r) => setTimeout(r, 1500));
  for (const i of [0, 1]) {
    const dev = `fzh${c.name.slice(0, 6)}${i}`;
    await sh(i, `wg set ${dev} listen-port 51821 private-key ${keys[i]!.file} peer ${keys[1 - i]!.pub} endpoint ${hosts[1 - i]!.ip}:51821 allowed-ips ${SLICE[1 - i]}`);
    await sh(i, `ip link set ${dev} mtu 1420 up && ip route add ${SLICE[1 - i]} dev ${dev}`);
    await forwardAccept(i, true, dev);
  }

  // 3. Fizz's mesh, through platform/net from core/net's plans.
  const table: Record<string, import("../core/state/schema.ts").IpClaim> = Object.create(null);
  const claim = (key: string, owner: string, w: number) => (table[key] = { epoch: 0, owner, ts: encodeHlc({ wall: w, logical: 0, node: "x" }), released: false });
  claim(SUBNET, "net:bench/default", 1);
  for (const i of [0, 1]) {
    claim(SLICE[i]!, `node:n${i}`, 2 + i);
    claim(`${NODE_IP[i]}/32`, `node:n${i}`, 4 + i);
  }
  const claims = resolveClaims(table, cfg);
  const wgs: WgInterface[] = [];
  const pubs: string[] = [];
  for (const [i, h] of hosts.entries()) {
    const key = loadOrCreateWgKey(join(h.agentDataDir, "mesh", "wg.key"));
    pubs.push(key.publicKey);
    const wg = new WgInterface(runner[i]!, { name: h.meshInterface, impl: "wireguard-go", privateKeyFile: key.privateKeyFile, listenPort: 51820, mtu: 1420, spawnPrefix: ["nsenter", `--net=${h.nsPath}`, "--"] });
    await wg.up();
    wgs.push(wg);
  }
  for (const [i, h] of hosts.entries()) {
    const members = hosts.map((x, j) => ({ id: `n${j}`, state: "alive" as const, address: x.gossipAddr, meta: { driver: "wireguard" as const, publicKey: pubs[j]!, port: 51820, underlayMtu: 1500 } }));
    const plan = meshPlan(`n${i}`, "wireguard", 1500, members, claims);
    await wgs[i]!.setAddress(plan.address!);
    await wgs[i]!.setMtu(plan.mtu);
    await wgs[i]!.apply(meshDiff(plan, await wgs[i]!.actual()), plan.address);
    await applyFirewall(runner[i]!, firewallPlan(h.meshInterface, cfg.nodeBlock, [{ bridge: BRIDGE, subnet: cidr(SUBNET), internal: false }]));
  }
  // Fizz's egress NAT (FIZZ-NAT) masquerades whatever leaves a bridge for anywhere but
  // the mesh; the hand-made tunnel is "anywhere" to it, so exempt it explicitly.
  for (const i of [0, 1]) await sh(i, `iptables -t nat -I POSTROUTING 1 -o fzh${c.name.slice(0, 6)}${i} -j RETURN`);
  // Alternate: the slice routes go through one tunnel, then the other.
  const via = async (which: "hand" | "fizz") => {
    for (const i of [0, 1]) {
      const dev = which === "hand" ? `fzh${c.name.slice(0, 6)}${i}` : hosts[i]!.meshInterface;
      await sh(i, `ip route replace ${SLICE[1 - i]} dev ${dev}${which === "fizz" ? ` src ${NODE_IP[i]}` : ""}`);
    }
  };
  const hand: number[] = [];
  const fizz: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    await via("hand");
    hand.push(await iperf("the hand-made tunnel"));
    await via("fizz");
    fizz.push(await iperf("Fizz's mesh"));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  results["wg-hand"] = median(hand);
  results.fizz = median(fizz);
  console.error(`runs (Mbit/s): wg-hand ${hand.map((x) => x.toFixed(0)).join(" ")}; fizz ${fizz.map((x) => x.toFixed(0)).join(" ")}`);
  for (const [i] of hosts.entries()) {
    await removeFirewall(runner[i]!);
    await wgs[i]!.down();
    const dev = `fzh${c.name.slice(0, 6)}${i}`;
    await forwardAccept(i, false, dev);
    await sh(i, `ip link del ${dev}`);
  }

  console.log(`Container-to-container TCP across 2 hosts (iperf3, ${RUNS} × ${SECONDS} s, median; WireGuard paths alternating), subnet ${formatCidr(cidr(SUBNET))}`);
  for (const [k, v] of Object.entries(results)) console.log(`${k.padEnd(10)} ${v.toFixed(0).padStart(8)} Mbit/s`);
  console.log(`fizz / wg-hand: ${(results.fizz! / results["wg-hand"]!).toFixed(2)}x (target >= 0.95); veth shown for context (no encryption)`);
} finally {
  await c.destroy();
}
