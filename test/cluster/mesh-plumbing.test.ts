// The mesh data path on two namespaced hosts, each with its own dockerd,
// driven through the real adapters (platform/net: wireguard-go, wg, ip,
// iptables-restore) from core/net's plans (claims → addresses → mesh plan →
// firewall plan): a compose-like network spans both hosts, containers reach
// each other both ways by address, the host reaches a remote container, a
// capture on the underlay bridge during a known payload's transfer shows only
// WireGuard UDP between the two endpoints and never the payload, a container
// on another network on the same hosts cannot connect, an internal network
// spans hosts without egress, and teardown leaves no chain, route or link.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { writeFileSync } from "node:fs";
import { encodeHlc, type Dict } from "../../core/crdt/index.ts";
import { mergeIpTable } from "../../core/state/ip.ts";
import type { IpClaim } from "../../core/state/schema.ts";
import { assignAddresses, wantId, type Want } from "../../core/net/assign.ts";
import { formatCidr, formatIp } from "../../core/net/cidr.ts";
import { netOwner, resolveClaims, slicesOf } from "../../core/net/claims.ts";
import { firewallPlan } from "../../core/net/firewall-plan.ts";
import { bridgeName, gatewayOf } from "../../core/net/ipam.ts";
import { defaultIpamConfig } from "../../core/net/ipam-config.ts";
import { meshDiff, meshPlan, type MeshMember } from "../../core/net/mesh-plan.ts";
import { applyFirewall, detectMeshTools, enableBridgeRouting, loadOrCreateWgKey, removeFirewall, toolRunner, WgInterface } from "../../platform/net/index.ts";
import { engineSocket } from "../support/engine.ts";
import { createCluster, type Cluster, type Host } from "./harness.ts";
import { run, waitFor } from "./shell.ts";

const socket = await engineSocket("docker");
const isRoot = process.getuid?.() === 0;
if (socket && !isRoot && process.env.CI === "true") throw new Error("mesh tests need root (ip netns, iptables, dockerd, wireguard-go)");

const cfg = defaultIpamConfig();
const PORT = 51820;
const PAYLOAD = "FIZZ-MESH-PAYLOAD-".repeat(200);

interface Node {
  host: Host;
  id: string;
  run: ReturnType<typeof toolRunner>;
  wg: WgInterface;
  publicKey: string;
  bridges: { bridge: string; subnet: string; internal: boolean }[];
}

describe.skipIf(!socket || !isRoot)("mesh data path on 2 hosts (wireguard-go, proxy ARP, per-node slices)", () => {
  let cluster: Cluster | undefined;
  const nodes: Node[] = [];
  let table: Dict<IpClaim> = Object.create(null);
  const addr = new Map<string, string>();
  let wall = 1;

  async function docker(h: Host, args: string[]): Promise<string> {
    const r = await h.docker(args, { timeoutMs: 60_000 });
    if (!r.ok) throw new Error(`docker ${args.join(" ")}: ${r.stderr}`);
    return r.stdout.trim();
  }

  async function get(h: Host, container: string, ip: string, path: string): Promise<string | undefined> {
    const r = await h.docker(["exec", container, "sh", "-c", `printf 'GET ${path} HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${ip} 80`], { timeoutMs: 15_000 });
    if (!r.ok) return undefined;
    const i = r.stdout.indexOf("\r\n\r\n");
    return i < 0 ? undefined : r.stdout.slice(i + 4);
  }

  /** One network on every node: engine network with the whole subnet, this node's slices as ip-range. */
  async function network(name: string, deployment: string, internal: boolean, placed: { node: number; key: string }[]): Promise<string> {
    for (const [i, n] of nodes.entries()) {
      const wants: Want[] = placed.filter((p) => p.node === i).map((p) => ({ key: p.key, service: p.key.split("/")[1]!, network: { deploymentId: deployment, name } }));
      const r = assignAddresses(table, cfg, n.id, wants, () => encodeHlc({ wall: wall++, logical: 0, node: n.id }));
      table = mergeIpTable(table, r.writes);
      for (const w of wants) addr.set(`${w.key}@${name}`, formatIp(r.addresses.get(wantId(w))!));
    }
    const plan = resolveClaims(table, cfg);
    const subnet = plan.subnets.get(netOwner(deployment, name))!;
    for (const [i, n] of nodes.entries()) {
      const slices = slicesOf(plan, subnet, n.id);
      const bridge = bridgeName(deployment, name);
      const args = ["network", "create", "--subnet", formatCidr(subnet), "--gateway", formatIp(gatewayOf(subnet))];
      if (slices[0]) args.push("--ip-range", formatCidr(slices[0]));
      if (internal) args.push("--internal");
      args.push("-o", `com.docker.network.bridge.name=${bridge}`, "-o", "com.docker.network.bridge.enable_ip_masquerade=false", "-o", "com.docker.network.driver.mtu=1420", `${deployment}_${name}`);
      await docker(n.host, args);
      await enableBridgeRouting(n.run, bridge);
      n.bridges.push({ bridge, subnet: formatCidr(subnet), internal });
      void i;
    }
    return formatCidr(subnet);
  }

  /** Plans and applies mesh + firewall on every node from the current table. */
  async function converge(): Promise<void> {
    const claims = resolveClaims(table, cfg);
    const members: MeshMember[] = nodes.map((n) => ({ id: n.id, state: "alive", address: n.host.gossipAddr, meta: { driver: "wireguard", impl: "wireguard-go", publicKey: n.publicKey, port: PORT, underlayMtu: 1500 } }));
    for (const n of nodes) {
      const plan = meshPlan(n.id, "wireguard", 1500, members, claims);
      if (plan.address) await n.wg.setAddress(plan.address);
      await n.wg.setMtu(plan.mtu);
      await n.wg.apply(meshDiff(plan, await n.wg.actual()), plan.address);
      expect(meshDiff(plan, await n.wg.actual())).toEqual([]);
      await applyFirewall(n.run, firewallPlan(n.wg.name, cfg.nodeBlock, n.bridges.map((b) => ({ bridge: b.bridge, subnet: cidrOf(b.subnet), internal: b.internal }))));
    }
  }

  beforeAll(async () => {
    cluster = await createCluster({ hosts: 2 });
    for (const h of cluster.hosts) {
      const r = toolRunner(["nsenter", `--net=${h.nsPath}`, "--"]);
      const tools = await detectMeshTools(r);
      if (!tools.ok) throw tools.error;
      const key = loadOrCreateWgKey(join(h.agentDataDir, "mesh", "wg.key"));
      const wg = new WgInterface(r, {
        name: h.meshInterface,
        impl: tools.impl,
        privateKeyFile: key.privateKeyFile,
        listenPort: PORT,
        mtu: 1420,
        spawnPrefix: ["nsenter", `--net=${h.nsPath}`, "--"],
      });
      await wg.up();
      nodes.push({ host: h, id: `node${h.index}`, run: r, wg, publicKey: key.publicKey, bridges: [] });
    }
  }, 180_000);

  afterAll(async () => {
    try {
      for (const n of nodes) {
        await removeFirewall(n.run);
        await n.wg.down();
        const left = await n.run(["iptables-save"]);
        expect(left.stdout).not.toContain("FIZZ-FWD");
        expect(left.stdout).not.toContain("FIZZ-NAT");
        expect((await n.run(["ip", "link", "show", n.wg.name])).code).not.toBe(0);
      }
    } finally {
      await cluster?.destroy();
    }
  }, 180_000);

  test("a network spans both hosts; only WireGuard UDP crosses the underlay; other networks cannot connect", async () => {
    const c = cluster!;
    await network("default", "shop", false, [
      { node: 0, key: "shop/web/1" },
      { node: 1, key: "shop/api/1" },
    ]);
    await network("default", "other", false, [{ node: 0, key: "other/intruder/1" }]);
    await network("private", "shop", true, [
      { node: 0, key: "shop/web/1" },
      { node: 1, key: "shop/db/1" },
    ]);
    await converge();
    const [h0, h1] = [nodes[0]!.host, nodes[1]!.host];
    writeFileSync(join(c.dir, "payload.txt"), PAYLOAD);
    const runHttpd = async (h: Host, name: string, network: string, ip: string) => {
      await docker(h, ["run", "-d", "--name", name, "--network", network, "--ip", ip, "fizz-test/busybox:1", "sh", "-c", "mkdir -p /www && hostname > /www/name && exec httpd -f -p 80 -h /www"]);
    };
    await runHttpd(h0, "shop-web-1", "shop_default", addr.get("shop/web/1@default")!);
    await runHttpd(h1, "shop-api-1", "shop_default", addr.get("shop/api/1@default")!);
    await runHttpd(h0, "other-intruder-1", "other_default", addr.get("other/intruder/1@default")!);
    await docker(h1, ["cp", join(c.dir, "payload.txt"), "shop-api-1:/www/payload.txt"]);
    const api = addr.get("shop/api/1@default")!;
    const web = addr.get("shop/web/1@default")!;
    expect(await waitFor(async () => (await get(h0, "shop-web-1", api, "/name")) !== undefined, 20_000, 500)).toBe(true);
    expect((await get(h1, "shop-api-1", web, "/name"))?.trim()).toBeTruthy();

    // Capture on the underlay bridge while the payload crosses.
    const cap = join(c.dir, "underlay.pcap");
    const dump = run(["timeout", "8", "tcpdump", "-i", c.bridge, "-nn", "-U", "-w", cap], { timeoutMs: 15_000 });
    await new Promise((r) => setTimeout(r, 1500));
    expect(await get(h0, "shop-web-1", api, "/payload.txt")).toBe(PAYLOAD);
    await dump;
    const summary = await run(["tcpdump", "-nn", "-r", cap, "ip"]);
    const lines = summary.stdout.trim().split("\n").filter(Boolean);
    expect(lines.length).toBeGreaterThan(0);
    const endpoints = new Set([`${h0.ip}.${PORT}`, `${h1.ip}.${PORT}`]);
    for (const l of lines) {
      const m = /IP (\S+) > (\S+): UDP/.exec(l);
      expect(m !== null && endpoints.has(m[1]!) && endpoints.has(m[2]!.replace(/:$/, ""))).toBe(true);
    }
    const ascii = await run(["tcpdump", "-nn", "-A", "-r", cap]);
    expect(ascii.stdout).not.toContain("FIZZ-MESH-PAYLOAD");

    // The host reaches a remote container over the mesh (from its mesh address).
    const fromHost = await nodes[0]!.run(["busybox", "sh", "-c", `printf 'GET /name HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 3 ${api} 80`]);
    expect(fromHost.stdout).toContain("200");

    // Another project's container on the same hosts cannot connect to api at all.
    const intruder = await h0.docker(["exec", "other-intruder-1", "sh", "-c", `printf 'GET /name HTTP/1.0\\r\\n\\r\\n' | nc -w 3 ${api} 80`], { timeoutMs: 15_000 });
    expect(intruder.stdout).not.toContain("200");

    // Handshake happened; counters moved.
    const st = await nodes[0]!.wg.status();
    expect(st.peers[0]!.latestHandshake).toBeGreaterThan(0);
    expect(st.peers[0]!.rxBytes).toBeGreaterThan(PAYLOAD.length);
  }, 180_000);

  test("an internal network spans hosts and has no egress; a normal network has (masqueraded)", async () => {
    const [h0, h1] = [nodes[0]!.host, nodes[1]!.host];
    // Something outside every container network to reach: a web server in host 0's own namespace.
    writeFileSync(join(cluster!.dir, "outside.txt"), "outside\n");
    h0.spawn(["busybox", "httpd", "-f", "-p", "8099", "-h", cluster!.dir], { label: "outside-httpd" });
    const probe = (h: Host, c: string) => h.docker(["exec", c, "sh", "-c", `printf 'GET /outside.txt HTTP/1.0\r\n\r\n' | nc -w 2 ${h0.ip} 8099`], { timeoutMs: 15_000 });
    expect(await waitFor(async () => (await probe(h1, "shop-api-1")).stdout.includes("outside"), 10_000, 500)).toBe(true);
    await docker(h1, ["run", "-d", "--name", "shop-db-1", "--network", "shop_private", "--ip", addr.get("shop/db/1@private")!, "fizz-test/busybox:1", "sh", "-c", "mkdir -p /www && hostname > /www/name && exec httpd -f -p 80 -h /www"]);
    await docker(h0, ["network", "connect", "--ip", addr.get("shop/web/1@private")!, "shop_private", "shop-web-1"]);
    const db = addr.get("shop/db/1@private")!;
    expect(await waitFor(async () => (await get(h0, "shop-web-1", db, "/name")) !== undefined, 20_000, 500)).toBe(true);
    // No way out of the internal network: the other host's underlay address does not answer.
    const out = await h1.docker(["exec", "shop-db-1", "sh", "-c", `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 ${h0.ip} 80`], { timeoutMs: 15_000 });
    expect(out.ok && out.stdout.includes("HTTP/")).toBe(false);
  }, 120_000);
});

import { cidr as cidrOf } from "../../core/net/cidr.ts";
