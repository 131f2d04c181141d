import { describe, expect, test } from "bun:test";
import { combine32, hash32 } from "../../../core/scheduler/hash.ts";
import { buildRing, firstPoint } from "../../../core/scheduler/ring.ts";

describe("hash", () => {
  test("values are pinned: agents of different versions must place identically during an upgrade", () => {
    // Same numbers under Deno (checked when this was written). Changing the hash reshuffles every cluster.
    expect(hash32("")).toBe(2872998923);
    expect(hash32("web")).toBe(87520214);
    expect(hash32("stack\u0000web")).toBe(1823803121);
    expect(combine32(hash32("node-1"), 0)).toBe(3206914093);
    expect(combine32(hash32("node-1"), 63)).toBe(1992324);
  });

  test("short similar keys spread over the whole range", () => {
    const buckets = new Array<number>(16).fill(0);
    const h0 = hash32("stack\u0000web");
    for (let i = 0; i < 16_000; i++) buckets[combine32(h0, i) >>> 28]!++;
    for (const b of buckets) {
      expect(b).toBeGreaterThan(800);
      expect(b).toBeLessThan(1200);
    }
  });
});

describe("ring", () => {
  const ids = Array.from({ length: 200 }, (_, i) => `node-${i}`);
  const all = ids.map((_, i) => i);

  test("arcs are even enough with 64 virtual nodes: no node owns more than twice its share", () => {
    const ring = buildRing(ids, all, 64);
    const owned = new Array<number>(ids.length).fill(0);
    const n = ring.positions.length;
    for (let k = 0; k < n; k++) {
      const prev = k === 0 ? ring.positions[n - 1]! - 2 ** 32 : ring.positions[k - 1]!;
      owned[ring.owners[k]!]! += ring.positions[k]! - prev;
    }
    const share = 2 ** 32 / ids.length;
    expect(Math.max(...owned) / share).toBeLessThan(2);
    expect(Math.min(...owned) / share).toBeGreaterThan(0.4);
  });

  test("removing a node changes the owner only of that node's points", () => {
    const full = buildRing(ids, all, 16);
    const without = buildRing(ids, all.filter((i) => i !== 7), 16);
    for (let k = 0; k < 2000; k++) {
      const h = combine32(12345, k);
      const a = full.owners[firstPoint(full, h)]!;
      const b = without.owners[firstPoint(without, h)]!;
      if (a !== 7) expect(b).toBe(a);
    }
  });

  test("the ring does not depend on the order members are given in", () => {
    const a = buildRing(ids, all, 8);
    const b = buildRing(ids, [...all].reverse(), 8);
    expect([...b.positions]).toEqual([...a.positions]);
    expect([...b.owners]).toEqual([...a.owners]);
  });
});
