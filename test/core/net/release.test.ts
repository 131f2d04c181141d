import { describe, expect, test } from "bun:test";
import { encodeHlc } from "../../../core/crdt/index.ts";
import type { IpClaim } from "../../../core/state/schema.ts";
import { mergeIpTable } from "../../../core/state/ip.ts";
import { assignAddresses, type Want } from "../../../core/net/assign.ts";
import { resolveClaims } from "../../../core/net/claims.ts";
import { defaultIpamConfig } from "../../../core/net/ipam-config.ts";
import { departedReleases } from "../../../core/net/release.ts";

const cfg = defaultIpamConfig();
let t = 0;
const stamp = () => encodeHlc({ wall: 5_000 + t++, logical: 0, node: "x" });
const want = (dep: string, svc: string, n: number, net = "default"): Want => ({ key: `${dep}/${svc}/${n}`, service: svc, network: { deploymentId: dep, name: net } });

function cluster() {
  let table: Record<string, IpClaim> = Object.create(null);
  for (const [node, wants] of [["a", [want("shop", "web", 1), want("blog", "wp", 1)]], ["b", [want("shop", "api", 1)]], ["c", [want("blog", "db", 1)]]] as const) {
    table = mergeIpTable(table, assignAddresses(table, cfg, node, wants, stamp).writes) as Record<string, IpClaim>;
  }
  return table;
}

describe("freeing what departed", () => {
  test("a node that left: its mesh address and every slice are released; nobody else's", () => {
    const table = cluster();
    const before = resolveClaims(table, cfg);
    const w = departedReleases(table, { nodes: new Set(["b"]), deployments: new Set() });
    expect(Object.values(w).every((c) => c.owner === "node:b" && c.released)).toBe(true);
    expect(Object.keys(w).length).toBe(2); // mesh address + one slice
    const after = resolveClaims(mergeIpTable(table, w), cfg);
    expect(after.nodeAddresses.has("b")).toBe(false);
    expect(after.nodeAddresses.get("a")).toBe(before.nodeAddresses.get("a")!);
    expect(after.subnets).toEqual(before.subnets);
    // Written by every node, the release is the same value: merging twice changes nothing.
    expect(mergeIpTable(mergeIpTable(table, w), w)).toEqual(mergeIpTable(table, w));
  });

  test("a removed deployment: its subnets and the slices in them are released, other deployments keep theirs", () => {
    const table = cluster();
    const w = departedReleases(table, { nodes: new Set(), deployments: new Set(["blog"]) });
    const after = resolveClaims(mergeIpTable(table, w), cfg);
    expect([...after.subnets.keys()]).toEqual(["net:shop/default"]);
    expect([...after.slices.values()].flatMap((m) => [...m.keys()]).sort()).toEqual(["a", "b"]);
    expect(after.nodeAddresses.size).toBe(3);
  });

  test("a release never frees a newer claim on the same block", () => {
    const table = cluster();
    const w = departedReleases(table, { nodes: new Set(["b"]), deployments: new Set() });
    const freed = mergeIpTable(table, w) as Record<string, IpClaim>;
    // Node d claims b's old slice again (epoch + 1); b's stale release arrives late.
    const key = Object.keys(w).find((k) => !k.endsWith("/32"))!;
    const again = { ...freed, [key]: { epoch: freed[key]!.epoch + 1, owner: "node:d", ts: stamp(), released: false } };
    expect(mergeIpTable(again, w)[key]!.owner).toBe("node:d");
    expect(mergeIpTable(again, w)[key]!.released).toBe(false);
  });

  test("nothing departed: no writes", () => {
    expect(Object.keys(departedReleases(cluster(), { nodes: new Set(["zz"]), deployments: new Set(["nope"]) }))).toEqual([]);
  });
});
