import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { encodeHlc } from "../../../core/crdt/index.ts";
import type { IpClaim } from "../../../core/state/schema.ts";
import { cidr, formatCidr, formatIp, parseCidr, parseIp, overlaps, contains } from "../../../core/net/cidr.ts";
import { resolveClaims } from "../../../core/net/claims.ts";
import { defaultIpamConfig, ipamConfig } from "../../../core/net/ipam-config.ts";
import { meshMetaFields, readMeshMeta, withoutMeshLabels, type MeshMeta } from "../../../core/net/mesh-meta.ts";
import { meshApplied, meshDiff, meshPlan, type MeshActual, type MeshMember } from "../../../core/net/mesh-plan.ts";
import { parseWgDump } from "../../../core/net/wg-dump.ts";

const KEY = (c: string) => `${c.repeat(42)}A=`;

describe("cidr", () => {
  test("parse/format round-trips every block", () => {
    fc.assert(
      fc.property(fc.nat(0xffffffff), fc.integer({ min: 0, max: 32 }), (ip, prefix) => {
        const base = prefix === 0 ? 0 : ip - (ip % 2 ** (32 - prefix));
        const s = `${formatIp(base)}/${prefix}`;
        const r = parseCidr(s);
        expect(r.ok).toBe(true);
        if (r.ok) expect(formatCidr(r.value)).toBe(s);
      }),
    );
  });

  test("bad input gets a precise error", () => {
    const host = parseCidr("10.1.2.3/16");
    expect(host.ok).toBe(false);
    if (!host.ok) expect(host.error.hint).toContain("10.1.0.0/16");
    for (const s of ["10.1.0.0", "10.1.0/24", "10.01.0.0/24", "10.1.0.0/33", "256.0.0.0/8", "a.b.c.d/8"]) expect(parseCidr(s).ok).toBe(false);
    expect(parseIp("1.2.3.4")).toBe(0x01020304);
  });

  test("overlap and containment agree", () => {
    fc.assert(
      fc.property(fc.nat(0xffff), fc.integer({ min: 16, max: 32 }), fc.nat(0xffff), fc.integer({ min: 16, max: 32 }), (a, pa, b, pb) => {
        const A = cidr(`${formatIp(((10 << 24) >>> 0) + (a - (a % 2 ** (32 - pa))))}/${pa}`);
        const B = cidr(`${formatIp(((10 << 24) >>> 0) + (b - (b % 2 ** (32 - pb))))}/${pb}`);
        if (contains(A, B) || contains(B, A)) expect(overlaps(A, B)).toBe(true);
        expect(overlaps(A, B)).toBe(overlaps(B, A));
      }),
    );
  });
});

describe("ipam config", () => {
  test("default range and its node block", () => {
    const c = defaultIpamConfig();
    expect(formatCidr(c.range)).toBe("10.208.0.0/12");
    expect(formatCidr(c.nodeBlock)).toBe("10.223.252.0/22");
  });
  test("bad ranges say what to use", () => {
    const small = ipamConfig("10.1.0.0/24");
    expect(small.ok).toBe(false);
    if (!small.ok) expect(small.error.hint).toContain("/20");
    const pub = ipamConfig("8.8.0.0/16");
    expect(pub.ok).toBe(false);
    if (!pub.ok) expect(pub.error.code).toBe("net.invalid_range");
  });
});

describe("mesh meta", () => {
  test("round-trips through SWIM labels and ports, and is stripped from node labels", () => {
    const m: MeshMeta = { driver: "wireguard", impl: "wireguard-go", publicKey: KEY("a"), port: 51820, underlayMtu: 1500 };
    const f = meshMetaFields(m);
    const r = readMeshMeta({ zone: "x", ...f.labels }, f.ports);
    expect(r).toEqual({ ok: true, value: m });
    expect(withoutMeshLabels({ zone: "x", ...f.labels })).toEqual({ zone: "x" });
  });
  test("a member without the mesh, or with a bad key, says why", () => {
    expect(readMeshMeta({}, {})).toEqual({ ok: false, reason: expect.stringContaining("runs no mesh") });
    const f = meshMetaFields({ driver: "wireguard", publicKey: "nope", port: 1, underlayMtu: 1500 });
    const r = readMeshMeta(f.labels, f.ports);
    expect(r.ok).toBe(false);
  });
});

function table(entries: [string, string, number][]): Record<string, IpClaim> {
  const t: Record<string, IpClaim> = Object.create(null);
  for (const [k, owner, w] of entries) t[k] = { epoch: 0, owner, ts: encodeHlc({ wall: w, logical: 0, node: "x" }), released: false };
  return t;
}

describe("mesh plan", () => {
  const cfg = defaultIpamConfig();
  const claims = resolveClaims(
    table([
      ["10.208.4.0/24", "net:p/default", 1],
      ["10.208.4.16/28", "node:b", 2],
      ["10.208.4.32/28", "node:c", 3],
      ["10.223.252.2/32", "node:a", 1],
      ["10.223.252.3/32", "node:b", 1],
      ["10.223.252.4/32", "node:c", 1],
    ]),
    cfg,
  );
  const meta = (k: string, mtu = 1500): MeshMeta => ({ driver: "wireguard", publicKey: KEY(k), port: 51820, underlayMtu: mtu });
  const members: MeshMember[] = [
    { id: "a", state: "alive", address: "10.99.0.10:7946", meta: meta("a") },
    { id: "b", state: "alive", address: "10.99.0.11:7946", meta: meta("b", 1450) },
    { id: "c", state: "suspect", address: "10.99.0.12:7946", meta: meta("c") },
    { id: "d", state: "dead", address: "10.99.0.13:7946", meta: meta("d") },
    { id: "e", state: "alive", address: "10.99.0.14:7946", meta: undefined, metaProblem: "runs no mesh (WireGuard tools missing or mesh disabled)" },
  ];

  test("peers are the live members with mesh metadata, allowed IPs are their blocks, MTU is the smallest underlay minus 80", () => {
    const p = meshPlan("a", "wireguard", 1500, members, claims);
    expect(p.address).toBe("10.223.252.2/32");
    expect(p.mtu).toBe(1370);
    expect(p.peers.map((x) => [x.id, x.endpoint, x.allowedIps])).toEqual([
      ["b", "10.99.0.11:51820", ["10.208.4.16/28", "10.223.252.3/32"]],
      ["c", "10.99.0.12:51820", ["10.208.4.32/28", "10.223.252.4/32"]],
    ]);
    expect(p.excluded).toEqual([{ id: "e", reason: expect.stringContaining("runs no mesh") }]);
    expect(p.routes).toEqual(["10.208.4.16/28", "10.208.4.32/28", "10.223.252.3/32", "10.223.252.4/32"]);
  });

  test("meshDiff: applying its actions reaches the plan, and a second diff is empty", () => {
    const p = meshPlan("a", "wireguard", 1500, members, claims);
    fc.assert(
      fc.property(fc.subarray(["b", "c", "d"]), fc.subarray(["10.208.4.16/28", "10.1.0.0/24", "10.223.252.3/32"]), (peers, routes) => {
        const actual: MeshActual = { peers: peers.map((k) => ({ publicKey: KEY(k), endpoint: "1.2.3.4:1", allowedIps: [] })), routes };
        const acts = meshDiff(p, actual);
        const have = new Map(actual.peers.map((x) => [x.publicKey, x] as const));
        const rs = new Set(actual.routes);
        for (const a of acts) {
          if (a.kind === "set-peer") have.set(a.publicKey, { publicKey: a.publicKey, endpoint: a.endpoint, allowedIps: a.allowedIps });
          if (a.kind === "remove-peer") have.delete(a.publicKey);
          if (a.kind === "add-route") rs.add(a.cidr);
          if (a.kind === "remove-route") rs.delete(a.cidr);
        }
        expect(meshDiff(p, { peers: [...have.values()], routes: [...rs] })).toEqual([]);
        // What the interface holds after the actions is what meshApplied says the plan leaves (no read-back needed).
        const applied = meshApplied(p);
        expect(new Set(applied.routes)).toEqual(rs);
        expect(new Map(applied.peers.map((x) => [x.publicKey, x] as const))).toEqual(have);
      }),
    );
  });

  test("meshApplied: the next plan diffed against what the previous one left changes only what moved", () => {
    const before = meshPlan("a", "wireguard", 1500, members, claims);
    const grown = resolveClaims(
      table([
        ["10.208.4.0/24", "net:p/default", 1],
        ["10.208.4.16/28", "node:b", 2],
        ["10.208.4.48/28", "node:b", 4],
        ["10.223.252.2/32", "node:a", 1],
        ["10.223.252.3/32", "node:b", 1],
        ["10.223.252.4/32", "node:c", 1],
      ]),
      cfg,
    );
    const after = meshPlan("a", "wireguard", 1500, members, grown);
    expect(meshDiff(before, meshApplied(before))).toEqual([]);
    const acts = meshDiff(after, meshApplied(before));
    expect(acts).toContainEqual({ kind: "add-route", cidr: "10.208.4.48/28" });
    expect(acts).toContainEqual({ kind: "remove-route", cidr: "10.208.4.32/28" });
    expect(acts.filter((a) => a.kind === "set-peer").map((a) => (a as { publicKey: string }).publicKey).sort()).toEqual([KEY("b"), KEY("c")].sort());
  });
});

describe("wg dump", () => {
  test("parses interface and peers, never returns the private key", () => {
    const text = `PRIV\t${KEY("a")}\t51820\toff\n${KEY("b")}\t(none)\t10.99.0.11:51820\t10.208.4.16/28,10.223.252.3/32\t1796287790\t2840\t6136\toff\n${KEY("c")}\t(none)\t(none)\t(none)\t0\t0\t0\toff\n`;
    const r = parseWgDump(text);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(JSON.stringify(r.value)).not.toContain("PRIV");
    expect(r.value.peers[0]).toEqual({ publicKey: KEY("b"), endpoint: "10.99.0.11:51820", allowedIps: ["10.208.4.16/28", "10.223.252.3/32"], latestHandshake: 1796287790, rxBytes: 2840, txBytes: 6136 });
    expect(r.value.peers[1]!.endpoint).toBeUndefined();
    expect(parseWgDump("garbage").ok).toBe(false);
  });
});

import { firewallPlan } from "../../../core/net/firewall-plan.ts";

describe("firewall plan", () => {
  test("accepts a network's own subnet across the mesh, node addresses to containers, replies; drops the rest; masquerades only egress", () => {
    const p = firewallPlan("fizz0", cidr("10.223.252.0/22"), [
      { bridge: "fzb1", subnet: cidr("10.208.4.0/24"), internal: false },
      { bridge: "fzb2", subnet: cidr("10.208.9.0/24"), internal: true },
    ]);
    const lines = p.restore.split("\n");
    expect(lines).toContain("-A FIZZ-FWD -i fizz0 -o fzb1 -s 10.208.4.0/24 -d 10.208.4.0/24 -j ACCEPT");
    expect(lines).toContain("-A FIZZ-FWD -i fzb2 -o fizz0 -s 10.208.9.0/24 -d 10.208.9.0/24 -j ACCEPT");
    expect(lines).toContain("-A FIZZ-FWD -i fizz0 -o fzb1 -s 10.223.252.0/22 -d 10.208.4.0/24 -j ACCEPT");
    // The drops come after every accept.
    const firstDrop = lines.findIndex((l) => l.endsWith("-j DROP"));
    expect(lines.slice(firstDrop).filter((l) => l.includes("ACCEPT"))).toEqual([]);
    expect(lines).toContain("-A FIZZ-NAT -s 10.208.4.0/24 ! -o fzb1 -j MASQUERADE");
    expect(lines.some((l) => l.includes("10.208.9.0/24") && l.includes("MASQUERADE"))).toBe(false);
    expect(p.jumps.map((j) => `${j.table}/${j.parent}`)).toEqual(["filter/FORWARD", "filter/DOCKER-USER", "nat/POSTROUTING"]);
  });
});

import { clusterDns, clusterEndpoint, clusterNetwork } from "../../../core/net/engine-network.ts";

describe("engine network for a cluster network", () => {
  test("whole subnet, same gateway everywhere, this node's slice as the range, masquerade off, mesh MTU; endpoint gets its address and no aliases", () => {
    const n = clusterNetwork({ key: "default", name: "shop_default", external: false, labels: { a: "b" } }, "fz0011aabb", cidr("10.208.4.0/24"), [cidr("10.208.4.16/28")], 1420);
    expect(n.driverOpts).toEqual({ "com.docker.network.bridge.name": "fz0011aabb", "com.docker.network.bridge.enable_ip_masquerade": "false", "com.docker.network.driver.mtu": "1420" });
    expect(n.ipam).toEqual({ driver: "default", config: [{ subnet: "10.208.4.0/24", gateway: "10.208.4.1", ip_range: "10.208.4.16/28" }] });
    expect(n.labels).toEqual({ a: "b" });
    expect(clusterEndpoint({ Aliases: ["api", "backend"], IPAMConfig: { IPv4Address: "10.208.4.9" } })).toEqual({});
    expect(clusterDns({}, cidr("10.208.4.0/24")).Dns).toEqual(["10.208.4.1"]);
  });
});
