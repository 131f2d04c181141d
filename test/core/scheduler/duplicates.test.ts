import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { resolveDuplicates, type ObservedPlacement } from "../../../core/scheduler/duplicates.ts";

const p = (index: number, nodeId: string, extra: Partial<ObservedPlacement> = {}): ObservedPlacement => ({
  deploymentId: "stack", service: "web", index, nodeId, ...extra,
});

describe("resolveDuplicates", () => {
  test("the lowest node id keeps a replica both sides of a healed partition started", () => {
    const r = resolveDuplicates([p(0, "node-c"), p(0, "node-a"), p(1, "node-b"), p(0, "node-b")]);
    expect(r.keep).toEqual([p(0, "node-a"), p(1, "node-b")]);
    expect(r.remove).toEqual([p(0, "node-b"), p(0, "node-c")]);
  });

  test("different services, deployments and global replicas on different nodes are not duplicates", () => {
    const input = [
      p(0, "b"),
      p(0, "a", { service: "api" }),
      p(0, "c", { deploymentId: "other" }),
      p(0, "a", { service: "agent", mode: "global" }),
      p(0, "b", { service: "agent", mode: "global" }),
    ];
    expect(resolveDuplicates(input).remove).toEqual([]);
    const twice = resolveDuplicates([p(0, "a", { mode: "global", instanceId: "y" }), p(0, "a", { mode: "global", instanceId: "x" })]);
    expect(twice.keep).toEqual([p(0, "a", { mode: "global", instanceId: "x" })]);
  });

  test("property: every node decides the same, whatever order the merged state lists them in; one survivor per slot", () => {
    const arb = fc.array(
      fc.record({ index: fc.integer({ min: 0, max: 4 }), node: fc.constantFrom("n1", "n2", "n3", "n10"), svc: fc.constantFrom("a", "b") }),
      { maxLength: 30 },
    );
    fc.assert(
      fc.property(arb, fc.integer(), (xs, seed) => {
        const ps = xs.map((x) => p(x.index, x.node, { service: x.svc, instanceId: `${x.node}-${x.index}` }));
        const shuffled = [...ps].sort((a, b) => ((a.index * 31 + a.nodeId.length + seed) % 7) - ((b.index * 31 + b.nodeId.length + seed) % 7));
        const r1 = resolveDuplicates(ps);
        const r2 = resolveDuplicates(shuffled);
        expect(r2).toEqual(r1);
        expect(r1.keep.length + r1.remove.length).toBe(ps.length);
        const slots = new Set(ps.map((x) => `${x.service}/${x.index}`));
        expect(r1.keep.length).toBe(slots.size);
        for (const k of r1.keep) {
          const rivals = ps.filter((x) => x.service === k.service && x.index === k.index);
          for (const r of rivals) expect(k.nodeId <= r.nodeId).toBe(true);
        }
      }),
    );
  });
});
