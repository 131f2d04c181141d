/**
 * The slice allocator's guarantees, as properties:
 *
 *  - concurrent claims: nodes with the same membership view that claim slices
 *    of one subnet at the same moment, each from its own replica of the table
 *    (having seen any subset of the others' claims), never take the same
 *    slice, as long as each one's demand fits the free slices of its stride;
 *  - partitions: two sides deploy while apart, each ranking everyone (the
 *    other side dead) or only itself; when both rank everyone nothing
 *    conflicts; otherwise, after the tables merge, every node computes the
 *    same winners (whatever the merge order or key order), and the only
 *    containers that move are those whose slice lost: every other keeps its
 *    address;
 *  - exhaustion: a node that needs a slice of a subnet whose slices are all
 *    held gets `net.subnet_exhausted`, naming the network, subnet and node and
 *    the fix, and no slice claim.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { encodeHlc, type Dict } from "../../../core/crdt/index.ts";
import { mergeIpTable } from "../../../core/state/ip.ts";
import type { IpClaim } from "../../../core/state/schema.ts";
import { assignAddresses, wantId, type Want } from "../../../core/net/assign.ts";
import { blockCount, formatCidr, formatIp, subBlock, type Cidr } from "../../../core/net/cidr.ts";
import { netOwner, nodeOwner, resolveClaims } from "../../../core/net/claims.ts";
import { ipamConfig, type IpamConfig } from "../../../core/net/ipam-config.ts";
import { nodeMayUse, pickSlice, preferredSlices } from "../../../core/net/ipam.ts";

function config(slicePrefix: number): IpamConfig {
  const r = ipamConfig("10.208.0.0/16", 24, slicePrefix);
  if (!r.ok) throw r.error;
  return r.value;
}

const SUBNET: Cidr = { base: (10 << 24) + (208 << 16) + (1 << 8), prefix: 24 };
const NET = { deploymentId: "d", name: "net" };

function claim(owner: string, wall: number, node: string): IpClaim {
  return { epoch: 0, owner, ts: encodeHlc({ wall, logical: 0, node }), released: false };
}

/** The table after `ids` joined one after another: each holds its mesh address. */
function joinedTable(cfg: IpamConfig, ids: readonly string[]): Dict<IpClaim> {
  let t: Dict<IpClaim> = Object.create(null);
  ids.forEach((id, i) => {
    t = mergeIpTable(t, assignAddresses(t, cfg, id, [], () => encodeHlc({ wall: 1 + i, logical: 0, node: id })).writes);
  });
  return t;
}

/** Node ids as users name them: hostnames, hex ids, mixed. */
const idArb = fc.oneof(fc.stringMatching(/^[a-z][a-z0-9-]{0,11}$/), fc.stringMatching(/^[0-9a-f]{8}$/));

describe("preferredSlices", () => {
  test("with one view, members' strides are disjoint and each lies inside the subnet", () => {
    fc.assert(
      fc.property(fc.uniqueArray(idArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 256 }), (ids, n) => {
        const seen = new Set<number>();
        for (const id of ids) {
          for (const i of preferredSlices(n, ids, id)) {
            expect(i).toBeGreaterThanOrEqual(0);
            expect(i).toBeLessThan(n);
            expect(seen.has(i)).toBe(false);
            seen.add(i);
          }
        }
        // Every slice is someone's while members fit: nothing is left for the hash to find.
        if (ids.length <= n) expect(seen.size).toBe(n);
        // Order of the view does not matter, and a node outside it has no stride.
        const shuffled = [...ids].reverse();
        for (const id of ids) expect(preferredSlices(n, shuffled, id)).toEqual(preferredSlices(n, ids, id));
        expect(preferredSlices(n, ids.slice(1), ids[0]!)).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });
});

describe("concurrent slice claims with one membership view", () => {
  const scenario = fc.record({
    slicePrefix: fc.integer({ min: 25, max: 30 }),
    ids: fc.uniqueArray(idArb, { minLength: 1, maxLength: 12 }),
    /** Slices already held before the deploy: slot → a member (index) or a node that left (-1). */
    held: fc.array(fc.record({ slot: fc.nat(63), holder: fc.integer({ min: -1, max: 11 }) }), { maxLength: 20 }),
    /** Who claims, how many slices, in which order, and which earlier claims each has seen. */
    claimers: fc.array(fc.record({ who: fc.nat(11), demand: fc.integer({ min: 1, max: 3 }), sees: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }) }), { minLength: 1, maxLength: 12 }),
  });

  test("no two nodes take the same slice when each one's demand fits its stride", () => {
    let inDomain = 0;
    fc.assert(
      fc.property(scenario, ({ slicePrefix, ids, held, claimers }) => {
        const cfg = config(slicePrefix);
        const n = blockCount(SUBNET, slicePrefix);
        let base: Dict<IpClaim> = { [formatCidr(SUBNET)]: claim(netOwner(NET.deploymentId, NET.name), 1, "x") };
        const heldSlots = new Set<number>();
        for (const h of held) {
          const slot = h.slot % n;
          if (heldSlots.has(slot)) continue;
          heldSlots.add(slot);
          const owner = h.holder < 0 || h.holder >= ids.length ? "gone-node" : ids[h.holder]!;
          base = mergeIpTable(base, { [formatCidr(subBlock(SUBNET, slicePrefix, slot)!)]: claim(nodeOwner(owner), 2, owner) });
        }
        // Each member claims once (a second claimer entry for the same member is the same node: dropped).
        const order = claimers.filter((c, i) => c.who < ids.length && claimers.findIndex((d) => d.who === c.who) === i);
        const fits = order.every((c) => preferredSlices(n, ids, ids[c.who]!).filter((i) => !heldSlots.has(i)).length >= c.demand);
        const writes: { node: string; table: Dict<IpClaim> }[] = [];
        let wall = 100;
        for (const c of order) {
          const node = ids[c.who]!;
          let view = base;
          writes.forEach((w, k) => {
            if (c.sees[k]) view = mergeIpTable(view, w.table);
          });
          let mine: Dict<IpClaim> = {};
          for (let k = 0; k < c.demand; k++) {
            const p = pickSlice(resolveClaims(mergeIpTable(view, mine), cfg), cfg, SUBNET, node, NET.name, { members: ids });
            if (!p.ok) {
              expect(p.error.code).toBe("net.subnet_exhausted");
              break;
            }
            // The same wall time on every node: they claim at the same moment.
            mine = mergeIpTable(mine, { [p.value.key]: claim(p.value.owner, wall, node) });
          }
          wall += fits ? 0 : 1;
          writes.push({ node, table: mine });
        }
        if (!fits) return;
        inDomain++;
        let merged = base;
        for (const w of writes) merged = mergeIpTable(merged, w.table);
        const plan = resolveClaims(merged, cfg);
        expect(plan.lost).toEqual([]);
        for (const w of writes) for (const key of Object.keys(w.table)) expect(merged[key]!.owner).toBe(nodeOwner(w.node));
      }),
      { numRuns: 400 },
    );
    expect(inDomain).toBeGreaterThan(100);
  });

  test("through assignAddresses: replicas placed on every member at once all keep their first addresses after the merge", () => {
    const cfg = config(28);
    fc.assert(
      fc.property(fc.uniqueArray(idArb, { minLength: 2, maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 8, maxLength: 8 }), fc.string({ minLength: 1, maxLength: 8 }), (ids, counts, dep) => {
        const net = { deploymentId: dep, name: "default" };
        const wantsOf = (i: number): Want[] => Array.from({ length: counts[i]! }, (_, k) => ({ key: `${dep}/web/${k + 1}`, service: "web", network: net }));
        // Mesh addresses were claimed as the nodes joined, one after another (that choice is a hash, not a rank).
        const joined = joinedTable(cfg, ids);
        // 8 members × up to 20 replicas: at most 2 slices each of the /24's 16 /28s.
        const first = ids.map((id, i) => assignAddresses(joined, cfg, id, wantsOf(i), () => encodeHlc({ wall: 10, logical: 0, node: id }), { members: ids }));
        let merged: Dict<IpClaim> = joined;
        for (const r of first) merged = mergeIpTable(merged, r.writes);
        ids.forEach((id, i) => {
          const wants = wantsOf(i).map((w) => ({ ...w, current: first[i]!.addresses.get(wantId(w))! }));
          const again = assignAddresses(merged, cfg, id, wants, () => encodeHlc({ wall: 20, logical: 0, node: id }), { members: ids });
          expect(Object.keys(again.writes)).toEqual([]);
          expect(new Map(again.addresses)).toEqual(new Map(first[i]!.addresses));
        });
      }),
      { numRuns: 150 },
    );
  });
});

describe("after a partition heals", () => {
  const NODES = 5;
  const scenario = fc.record({
    ids: fc.uniqueArray(idArb, { minLength: NODES, maxLength: NODES }),
    /** Which side each node is on. */
    side: fc.array(fc.boolean(), { minLength: NODES, maxLength: NODES }),
    /** Per side, whether its view still ranks the other side (dead, not yet forgotten) or only itself (joined while apart, or forgotten). */
    ranksAll: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
    /** Replicas per node per network, placed while apart. */
    counts: fc.array(fc.array(fc.nat(18), { minLength: 2, maxLength: 2 }), { minLength: NODES, maxLength: NODES }),
    /** Whether a side's nodes claim one after another (synced) or all at once. */
    synced: fc.array(fc.boolean(), { minLength: 2, maxLength: 2 }),
    /** A node that runs its post-heal pass first, then the rest in order (the order must not matter for what stays). */
    firstAfter: fc.nat(NODES - 1),
    /** /27 or /28 slices of the /24: 8 or 16, room for every node's need even after conflicts move some. */
    slicePrefix: fc.integer({ min: 27, max: 28 }),
  });

  let conflicts = 0;
  let fullViewConflicts = 0;
  let movedTotal = 0;
  test("every node sees the same winners, and only containers in slices that lost move", () => {
    fc.assert(
      fc.property(scenario, ({ ids, side, ranksAll, counts, synced, firstAfter, slicePrefix }) => {
        const cfg = config(slicePrefix);
        let wall = 1;
        const stamp = (node: string) => () => encodeHlc({ wall: wall++, logical: 0, node });
        const nets = [{ deploymentId: "d", name: "a" }, { deploymentId: "d", name: "b" }];
        const wantsOf = (i: number): Want[] => nets.flatMap((net, k) => Array.from({ length: counts[i]![k]! }, (_, r) => ({ key: `d/s${k}/${r + 1}`, service: `s${k}`, network: net })));
        const live = ids.map(() => new Map<string, number>());
        const tables: Dict<IpClaim>[] = [];
        const joined = joinedTable(cfg, ids);
        for (const s of [false, true]) {
          const members = ranksAll[Number(s)] ? ids : ids.filter((_, i) => side[i] === s);
          let table: Dict<IpClaim> = joined;
          const start = table;
          for (let i = 0; i < NODES; i++) {
            if (side[i] !== s) continue;
            const r = assignAddresses(synced[Number(s)] ? table : start, cfg, ids[i]!, wantsOf(i), stamp(ids[i]!), { members });
            expect(r.errors.size).toBe(0);
            table = mergeIpTable(table, r.writes);
            live[i] = new Map(r.addresses);
          }
          tables.push(table);
        }
        const merged = mergeIpTable(tables[0]!, tables[1]!);
        const plan = resolveClaims(merged, cfg);
        // Every node agrees: the plan depends on the claims alone, not on merge or key order.
        const shuffled = Object.fromEntries(Object.entries(mergeIpTable(tables[1]!, tables[0]!)).reverse()) as Dict<IpClaim>;
        expect(JSON.stringify(resolveClaims(shuffled, cfg))).toBe(JSON.stringify(plan));
        // Which containers must move: those whose address is no longer in a slice their node holds.
        const mustMove = new Set<string>();
        ids.forEach((id, i) => {
          for (const [k, ip] of live[i]!) {
            const net = nets.find((n) => k.endsWith(`@${n.name}`))!;
            const subnet = plan.subnets.get(netOwner(net.deploymentId, net.name));
            if (!subnet || !nodeMayUse(plan, subnet, id, ip)) mustMove.add(`${id}:${k}`);
          }
        });
        // A conflict: the two sides hold one slice key for different nodes (the merge keeps the first claim), or overlapping keys.
        const clash = Object.keys(tables[0]!).some((k) => tables[1]![k] && tables[1]![k]!.owner !== tables[0]![k]!.owner);
        if (clash || plan.lost.some((l) => l.owner.startsWith("node:"))) {
          conflicts++;
          if (ranksAll[0] && ranksAll[1]) fullViewConflicts++;
        }
        // Post-heal passes, one view for all, until nothing changes.
        let table = merged;
        const order = [firstAfter, ...ids.keys()].filter((v, k, a) => a.indexOf(v) === k);
        const before = live.map((m) => new Map(m));
        for (let round = 0; ; round++) {
          expect(round).toBeLessThan(10);
          let writes = 0;
          for (const i of order) {
            const wants = wantsOf(i).map((w) => (live[i]!.has(wantId(w)) ? { ...w, current: live[i]!.get(wantId(w))! } : w));
            const r = assignAddresses(table, cfg, ids[i]!, wants, stamp(ids[i]!), { members: ids });
            expect(r.errors.size).toBe(0);
            writes += Object.keys(r.writes).length;
            table = mergeIpTable(table, r.writes);
            live[i] = new Map(r.addresses);
          }
          if (writes === 0) break;
        }
        const moved = new Set<string>();
        ids.forEach((id, i) => {
          for (const [k, ip] of before[i]!) if (live[i]!.get(k) !== ip) moved.add(`${id}:${k}`);
        });
        movedTotal += moved.size;
        expect([...moved].sort()).toEqual([...mustMove].sort());
        // And the end state is sound: no address twice; every one in its node's slice of its network's subnet.
        const end = resolveClaims(table, cfg);
        const seen = new Map<number, string>();
        ids.forEach((id, i) => {
          for (const [k, ip] of live[i]!) {
            const other = seen.get(ip);
            if (other) throw new Error(`${formatIp(ip)} used by ${other} and ${id}:${k}`);
            seen.set(ip, `${id}:${k}`);
            const net = nets.find((n) => k.endsWith(`@${n.name}`))!;
            expect(nodeMayUse(end, end.subnets.get(netOwner(net.deploymentId, net.name))!, id, ip)).toBe(true);
          }
        });
        expect(end.lost.filter((l) => l.owner.startsWith("node:"))).toEqual([]);
      }),
      { numRuns: 300 },
    );
    // The generator really makes conflicts (most histories where a side ranks only itself), and they really move containers.
    expect(conflicts).toBeGreaterThan(30);
    // Both sides ranking everyone (the usual partition: each sees the other dead) never conflict.
    expect(fullViewConflicts).toBe(0);
    expect(movedTotal).toBeGreaterThan(0);
  }, 60_000);
});

describe("small subnets a compose file asks for", () => {
  test("a /25 to /30 is cut into slices smaller than itself: its claim is never overwritten, its replicas get addresses, the next pass writes nothing", () => {
    fc.assert(
      fc.property(fc.integer({ min: 25, max: 30 }), fc.integer({ min: 1, max: 3 }), idArb, (prefix, replicas, me) => {
        const cfg = config(28);
        const subnet: Cidr = { base: (10 << 24) + (40 << 16), prefix };
        const net = { deploymentId: "d", name: "small", subnet };
        const usable = 2 ** (32 - prefix) - 3;
        const wants: Want[] = Array.from({ length: Math.min(replicas, usable) }, (_, k) => ({ key: `d/web/${k + 1}`, service: "web", network: net }));
        let wall = 1;
        const first = assignAddresses(Object.create(null), cfg, me, wants, () => encodeHlc({ wall: wall++, logical: 0, node: me }), { members: [me] });
        expect([...first.errors.values()].map((e) => e.message)).toEqual([]);
        expect(first.writes[formatCidr(subnet)]?.owner).toBe(netOwner("d", "small"));
        expect(first.addresses.size).toBe(wants.length);
        const table = mergeIpTable(Object.create(null), first.writes);
        const again = assignAddresses(table, cfg, me, wants.map((w) => ({ ...w, current: first.addresses.get(wantId(w))! })), () => encodeHlc({ wall: wall++, logical: 0, node: me }), { members: [me] });
        expect(Object.keys(again.writes)).toEqual([]);
      }),
      { numRuns: 100 },
    );
  });

  test("a /31 or /32 is refused with net.subnet_too_small and the fix", () => {
    const cfg = config(28);
    for (const prefix of [31, 32]) {
      const subnet: Cidr = { base: (10 << 24) + (40 << 16), prefix };
      const r = assignAddresses(Object.create(null), cfg, "a", [{ key: "d/web/1", service: "web", network: { deploymentId: "d", name: "tiny", subnet } }], () => encodeHlc({ wall: 1, logical: 0, node: "a" }), { members: ["a"] });
      const e = r.errors.get("d/web/1@tiny");
      expect(e?.code).toBe("net.subnet_too_small");
      expect(e?.hint).toContain("/29 or larger");
    }
  });
});

describe("exhaustion", () => {
  test("a node that needs a slice when all are held gets net.subnet_exhausted naming the network, subnet, node and the fix, and claims nothing", () => {
    fc.assert(
      fc.property(fc.integer({ min: 25, max: 30 }), fc.uniqueArray(idArb, { minLength: 2, maxLength: 6 }), (slicePrefix, ids) => {
        const cfg = config(slicePrefix);
        const n = blockCount(SUBNET, slicePrefix);
        const [me, ...others] = ids as [string, ...string[]];
        let table: Dict<IpClaim> = { [formatCidr(SUBNET)]: claim(netOwner(NET.deploymentId, NET.name), 1, "x") };
        for (let i = 0; i < n; i++) table = mergeIpTable(table, { [formatCidr(subBlock(SUBNET, slicePrefix, i)!)]: claim(nodeOwner(others[i % others.length]!), 2, "x") });
        const p = pickSlice(resolveClaims(table, cfg), cfg, SUBNET, me, NET.name, { members: ids });
        expect(p.ok).toBe(false);
        if (p.ok) return;
        expect(p.error.code).toBe("net.subnet_exhausted");
        expect(p.error.message).toContain(`network ${NET.name}`);
        expect(p.error.message).toContain(formatCidr(SUBNET));
        expect(p.error.message).toContain(`node ${me}`);
        expect(p.error.hint).toContain("larger subnet");
        // Through the pass: every replica on that network says so, and no slice is claimed.
        const r = assignAddresses(table, cfg, me, [{ key: "d/web/1", service: "web", network: NET }], () => encodeHlc({ wall: 5, logical: 0, node: me }), { members: ids });
        expect(r.errors.get("d/web/1@net")?.code).toBe("net.subnet_exhausted");
        expect(r.addresses.size).toBe(0);
        for (const [key, c] of Object.entries(r.writes)) expect(c.owner === nodeOwner(me) && !key.endsWith("/32")).toBe(false);
      }),
      { numRuns: 100 },
    );
  });
});
