import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  canonical,
  encodeHlc,
  lwwMapDelete,
  lwwMapEmpty,
  lwwMapGet,
  lwwMapMerge,
  lwwMapPurge,
  lwwMapPut,
  lwwMapValue,
  mergeRegister,
  type Json,
} from "../../../core/crdt/index.ts";
import { lwwMapSpec } from "./specs.ts";
import { RUNS, simulate, steps } from "./harness.ts";

describe("LWW-Register", () => {
  test("later stamp wins; an identical stamp is broken by value, the same way in both orders", () => {
    const a = { ts: encodeHlc({ wall: 1, logical: 0, node: "a" }), value: "old" as Json };
    const b = { ts: encodeHlc({ wall: 2, logical: 0, node: "a" }), value: "new" as Json };
    expect(mergeRegister(a, b).value).toBe("new");
    expect(mergeRegister(b, a).value).toBe("new");
    const c = { ts: a.ts, value: "zzz" as Json };
    expect(canonical(mergeRegister(a, c))).toBe(canonical(mergeRegister(c, a)));
  });
});

describe("LWW-Map", () => {
  test("the converged value is, per key, the write with the highest HLC (reference model)", () => {
    fc.assert(
      fc.property(steps(lwwMapSpec.op, 60), fc.array(fc.nat(), { maxLength: 30 }), (plan, order) => {
        const { replicas } = simulate(lwwMapSpec, plan, order);
        const model = new Map<string, { ts: string; put: boolean; value: Json }>();
        plan.forEach((st, i) => {
          if (st.kind !== "op") return;
          const ts = encodeHlc({ wall: st.op.wall, logical: i, node: `r${st.replica}` });
          const cur = model.get(st.op.key);
          if (!cur || cur.ts < ts) model.set(st.op.key, { ts, put: st.op.put, value: st.op.value });
        });
        const want: Record<string, Json> = Object.create(null);
        for (const [k, v] of [...model].sort()) if (v.put) want[k] = v.value;
        for (const r of replicas) expect(canonical(lwwMapValue(r))).toBe(canonical(want));
      }),
      RUNS,
    );
  });

  test("a delete concurrent with an older put wins; a newer put resurrects", () => {
    let m = lwwMapPut(lwwMapEmpty<Json>(), "k", 1, { wall: 1, logical: 0, node: "a" }).map;
    const del = lwwMapDelete(m, "k", { wall: 3, logical: 0, node: "b" });
    const put = lwwMapPut(m, "k", 2, { wall: 2, logical: 0, node: "a" });
    expect(lwwMapGet(lwwMapMerge(put.map, del.delta), "k")).toBeUndefined();
    m = lwwMapPut(del.map, "k", 3, { wall: 4, logical: 0, node: "a" }).map;
    expect(lwwMapGet(m, "k")).toBe(3);
  });

  test("purge drops only tombstones older than the horizon", () => {
    let m = lwwMapPut(lwwMapEmpty<Json>(), "live", 1, { wall: 1, logical: 0, node: "a" }).map;
    m = lwwMapDelete(m, "old", { wall: 2, logical: 0, node: "a" }).map;
    m = lwwMapDelete(m, "new", { wall: 9, logical: 0, node: "a" }).map;
    const p = lwwMapPurge(m, encodeHlc({ wall: 5, logical: 0, node: "" }));
    expect(Object.keys(p).sort()).toEqual(["live", "new"]);
  });

  test("hostile keys are plain keys", () => {
    const m = lwwMapPut(lwwMapEmpty<Json>(), "__proto__", { polluted: true }, { wall: 1, logical: 0, node: "a" }).map;
    expect(lwwMapGet(m, "__proto__")).toEqual({ polluted: true });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(lwwMapGet(m, "toString")).toBeUndefined();
  });
});
