/** CrdtSpec instances for every CRDT in core/crdt (shared by law and convergence tests). */
import fc from "fast-check";
import {
  canonical,
  gIncrement,
  gMerge,
  gValue,
  gEmpty,
  lwwMapDelete,
  lwwMapEmpty,
  lwwMapMerge,
  lwwMapPut,
  lwwMapValue,
  lwwSet,
  mergeOptRegister,
  orAdd,
  orEmpty,
  orMerge,
  orNormalize,
  orRemove,
  orValues,
  pnAdd,
  pnEmpty,
  pnMerge,
  pnValue,
  vvMerge,
  newDict,
  type GCounter,
  type Hlc,
  type Json,
  type LwwMap,
  type LwwRegister,
  type OrSet,
  type PnCounter,
  type VersionVector,
} from "../../../core/crdt/index.ts";
import type { CrdtSpec } from "./harness.ts";

/** Unique per (step, replica); wall drawn from a small range so wall ties and clock lag happen. */
function ts(wall: number, r: number, step: number): Hlc {
  return { wall, logical: step, node: `r${r}` };
}

const smallJson: fc.Arbitrary<Json> = fc.oneof(fc.integer({ min: -3, max: 3 }), fc.constantFrom("a", "b", "c"), fc.constant(null), fc.boolean());

export const registerSpec: CrdtSpec<LwwRegister | undefined, { wall: number; value: Json }> = {
  name: "LWW-Register",
  empty: () => undefined,
  apply: (s, op, r, step) => {
    const delta = lwwSet(op.value, ts(op.wall, r, step));
    return { state: mergeOptRegister(s, delta), delta };
  },
  merge: mergeOptRegister,
  key: (s) => canonical(s ?? null),
  value: (s) => canonical(s?.value ?? null),
  op: fc.record({ wall: fc.nat(5), value: smallJson }),
};

type MapOp = { wall: number; key: string; put: boolean; value: Json };
export const lwwMapSpec: CrdtSpec<LwwMap, MapOp> = {
  name: "LWW-Map",
  empty: () => lwwMapEmpty(),
  apply: (s, op, r, step) => {
    const c = op.put ? lwwMapPut(s, op.key, op.value, ts(op.wall, r, step)) : lwwMapDelete(s, op.key, ts(op.wall, r, step));
    return { state: c.map, delta: c.delta };
  },
  merge: lwwMapMerge,
  key: (s) => canonical(s),
  value: (s) => canonical(lwwMapValue(s)),
  op: fc.record({ wall: fc.nat(5), key: fc.constantFrom("x", "y", "z", "__proto__", "constructor"), put: fc.boolean(), value: smallJson }),
};

export const gCounterSpec: CrdtSpec<GCounter, number> = {
  name: "G-Counter",
  empty: () => gEmpty(),
  apply: (s, by, r) => {
    const c = gIncrement(s, `r${r}`, by);
    return { state: c.counter, delta: c.delta };
  },
  merge: gMerge,
  key: (s) => canonical(s),
  value: (s) => String(gValue(s)),
  op: fc.nat(5),
};

export const pnCounterSpec: CrdtSpec<PnCounter, number> = {
  name: "PN-Counter",
  empty: () => pnEmpty(),
  apply: (s, by, r) => {
    const c = pnAdd(s, `r${r}`, by);
    return { state: c.counter, delta: c.delta };
  },
  merge: pnMerge,
  key: (s) => canonical(s),
  value: (s) => String(pnValue(s)),
  op: fc.integer({ min: -5, max: 5 }),
};

export const vvSpec: CrdtSpec<VersionVector, null> = {
  name: "VersionVector",
  empty: () => newDict<number>(),
  apply: (s, _op, r) => {
    const d = newDict<number>();
    d[`r${r}`] = (s[`r${r}`] ?? 0) + 1;
    return { state: vvMerge(s, d), delta: d };
  },
  merge: vvMerge,
  key: (s) => canonical(s),
  value: (s) => canonical(s),
  op: fc.constant(null),
};

export const orSetSpec: CrdtSpec<OrSet, { elem: string; add: boolean }> = {
  name: "OR-Set",
  empty: () => orEmpty(),
  apply: (s, op, r) => {
    const c = op.add ? orAdd(s, op.elem, `r${r}`) : orRemove(s, op.elem, `r${r}`);
    return { state: c.set, delta: c.delta };
  },
  merge: orMerge,
  key: (s) => canonical(orNormalize(s)),
  value: (s) => canonical(orValues(s)),
  op: fc.record({ elem: fc.constantFrom("a", "b", "c", "__proto__"), add: fc.boolean() }),
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export const ALL_SPECS: CrdtSpec<any, any>[] = [registerSpec, lwwMapSpec, gCounterSpec, pnCounterSpec, vvSpec, orSetSpec];
