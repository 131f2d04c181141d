import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  canonical,
  orAdd,
  orEmpty,
  orGc,
  orHas,
  orMerge,
  orRemove,
  orSeen,
  orValues,
  stableFrontier,
  type OrSet,
} from "../../../core/crdt/index.ts";
import { orSetSpec } from "./specs.ts";
import { REPLICAS, RUNS, simulate, steps } from "./harness.ts";

describe("OR-Set semantics", () => {
  test("sequential add/remove at one replica behaves like a set", () => {
    fc.assert(
      fc.property(fc.array(fc.record({ elem: fc.constantFrom("a", "b", "c"), add: fc.boolean() })), (ops) => {
        let s = orEmpty();
        const model = new Set<string>();
        for (const op of ops) {
          s = (op.add ? orAdd(s, op.elem, "n1") : orRemove(s, op.elem, "n1")).set;
          if (op.add) model.add(op.elem);
          else model.delete(op.elem);
          expect(orValues(s)).toEqual([...model].sort());
        }
      }),
      RUNS,
    );
  });

  test("add wins over a concurrent remove, in either merge order", () => {
    let a = orAdd(orEmpty(), "x", "A").set;
    let b = orMerge(orEmpty(), a);
    const rm = orRemove(a, "x", "A"); // A removes what it saw
    const add = orAdd(b, "x", "B"); // B concurrently re-adds
    a = rm.set;
    b = add.set;
    expect(orHas(a, "x")).toBe(false);
    expect(orHas(orMerge(a, add.delta), "x")).toBe(true);
    expect(orHas(orMerge(b, rm.delta), "x")).toBe(true);
  });

  test("a remove that has seen the add wins over it, even when the add arrives late", () => {
    const add = orAdd(orEmpty(), "x", "A");
    const rm = orRemove(add.set, "x", "A");
    const late = orMerge(orMerge(orEmpty(), rm.delta), add.delta);
    expect(orHas(late, "x")).toBe(false);
  });

  test("__proto__ is an ordinary element and pollutes nothing", () => {
    const s = orAdd(orEmpty(), "__proto__", "A").set;
    expect(orValues(s)).toEqual(["__proto__"]);
    expect(({} as Record<string, unknown>).live).toBeUndefined();
    expect(Object.getPrototypeOf(s.live)).toBeNull();
  });
});

/** Convergence where every replica also GCs at random points with the stable frontier of all replicas. */
function runWithGc(plan: ReturnType<typeof steps<{ elem: string; add: boolean }>> extends fc.Arbitrary<infer T> ? T : never, gcAt: Set<number>) {
  const reps: OrSet[] = Array.from({ length: REPLICAS }, () => orEmpty());
  const queue: { to: number; delta: OrSet }[] = [];
  const sent: { to: number; delta: OrSet }[] = [];
  plan.forEach((st, i) => {
    if (st.kind === "op") {
      const { state, delta } = orSetSpec.apply(reps[st.replica]!, st.op, st.replica, i);
      reps[st.replica] = state;
      for (let r = 0; r < REPLICAS; r++) if (r !== st.replica) queue.push({ to: r, delta });
      for (let r = 0; r < REPLICAS; r++) if (r !== st.replica) sent.push({ to: r, delta });
    } else if (queue.length > 0) {
      const k = st.pick % queue.length;
      const m = queue[k]!;
      // "drop" = lost for now; the message stays queued and arrives in the final flush.
      if (st.kind === "deliver") {
        reps[m.to] = orMerge(reps[m.to]!, m.delta);
        if (!st.dup) queue.splice(k, 1);
      }
    }
    if (gcAt.has(i)) {
      const frontier = stableFrontier(reps.map(orSeen));
      const who = i % REPLICAS;
      const before = canonical(orValues(reps[who]!));
      reps[who] = orGc(reps[who]!, frontier);
      // GC never changes what the replica shows.
      expect(canonical(orValues(reps[who]!))).toBe(before);
    }
  });
  for (const m of queue) reps[m.to] = orMerge(reps[m.to]!, m.delta);
  // Late duplicates of every message ever sent (stale adds included) change nothing.
  for (const m of sent) reps[m.to] = orMerge(reps[m.to]!, m.delta);
  return reps;
}

describe("OR-Set garbage collection", () => {
  test("GC with the stable frontier never changes observable state or the converged result", () => {
    fc.assert(
      fc.property(steps(orSetSpec.op, 60), fc.array(fc.nat(59), { maxLength: 20 }), (plan, gcs) => {
        const withGc = runWithGc(plan, new Set(gcs));
        const without = runWithGc(plan, new Set());
        const want = orValues(without[0]!);
        for (const r of without) expect(orValues(r)).toEqual(want);
        for (const r of withGc) expect(orValues(r)).toEqual(want);
      }),
      RUNS,
    );
  });

  test("once everything is delivered, GC at the stable frontier leaves no tombstones", () => {
    fc.assert(
      fc.property(steps(orSetSpec.op, 60), fc.array(fc.nat(), { maxLength: 30 }), (plan, order) => {
        const { replicas } = simulate(orSetSpec, plan, order);
        const frontier = stableFrontier(replicas.map(orSeen));
        const collected = replicas.map((r) => orGc(r, frontier));
        for (let i = 0; i < REPLICAS; i++) {
          expect(Object.keys(collected[i]!.tombs)).toEqual([]);
          expect(orValues(collected[i]!)).toEqual(orValues(replicas[i]!));
        }
        // Collected replicas still merge with uncollected ones and with new ops.
        const more = orAdd(collected[0]!, "late", "r0");
        const m1 = orMerge(orMerge(replicas[1]!, more.delta), collected[2]!);
        expect(orValues(m1)).toEqual([...new Set([...orValues(replicas[1]!), "late"])].sort());
      }),
      RUNS,
    );
  });

  test("a stale add delivered after GC does not resurrect a removed element", () => {
    const add = orAdd(orEmpty(), "x", "A");
    const b = orMerge(orEmpty(), add.delta);
    const rm = orRemove(add.set, "x", "A");
    const a2 = rm.set;
    const b2 = orMerge(b, rm.delta);
    const f = stableFrontier([orSeen(a2), orSeen(b2)]);
    const a3 = orGc(a2, f);
    expect(Object.keys(a3.tombs)).toEqual([]);
    expect(orHas(orMerge(a3, add.delta), "x")).toBe(false);
  });

  test("tombstones above the frontier survive GC, so a duplicate add cannot resurrect", () => {
    const add = orAdd(orEmpty(), "x", "A");
    const rm = orRemove(add.set, "x", "A");
    const a = orGc(rm.set, {}); // B has seen nothing: nothing is stable
    expect(orHas(orMerge(a, add.delta), "x")).toBe(false);
    const b = orGc(rm.set, { A: 1 }); // the add is stable but not the remove
    expect(orHas(orMerge(b, add.delta), "x")).toBe(false);
  });

  test("GC clamps an over-eager frontier to what the replica has seen", () => {
    const a = orAdd(orEmpty(), "x", "A").set;
    const remote = orAdd(orEmpty(), "y", "B");
    const gc = orGc(a, { A: 5, B: 5 } as Record<string, number>);
    expect(orHas(orMerge(gc, remote.delta), "y")).toBe(true);
  });
});
