/**
 * Add-wins observed-remove set with dots (delta-state AWORSet, Almeida et al.).
 *
 * Every add and every remove is an event with a unique dot `node:counter`. An
 * element is present while it has a live add-dot. A remove turns the live dots
 * it observed into tombstones (plus its own remove-dot), so an add concurrent
 * with a remove, whose dot the remove never saw, survives: add wins.
 *
 * The causal context (every dot this replica has seen) is `floor` (a version
 * vector: all dots at or below it) ∪ `tombs` ∪ `live`. Merge follows the
 * AWORSet join: a dot live on one side survives unless the other side has it
 * in its context but not live (it was removed there). Tombstones are indexed by
 * element, so they travel with the element.
 *
 * Collection: `orSeen(set)` is the contiguous prefix of the context per node.
 * The pointwise minimum of all live members' `orSeen` (`stableFrontier`) is
 * causally stable. `orGc(set, frontier)` raises the floor to it and drops an
 * element's tombstones once every event of that element is below it — then
 * every member has seen the removal, so no one can resurrect the dots. The
 * frontier is clamped to what this replica has itself seen, so GC never
 * changes the set's value or its merges. Every mutator returns `{set, delta}`;
 * a delta is a set and merges like one (it carries an empty floor).
 */
import { canonical, cmpStr } from "./json.ts";
import { dictGet, newDict, type Dict } from "./dict.ts";
import { at, decodeJsonBytes, fail, readArray, readDict, readRecord, readString, type Decoded } from "./decode.ts";
import { dot, parseDot, readVersionVector, vvCovers, vvGet, vvMerge, type Dot, type VersionVector } from "./version-vector.ts";


export interface OrSet {
  /** element → its live add-dots (sorted) */
  readonly live: Dict<readonly Dot[]>;
  /** element → dots removed from it and remove-dots (sorted), until collected */
  readonly tombs: Dict<readonly Dot[]>;
  /** every dot at or below this vector has been seen */
  readonly floor: VersionVector;
  /** highest counter used per node, so new dots are fresh */
  readonly clock: VersionVector;
}

export interface OrSetChange {
  readonly set: OrSet;
  readonly delta: OrSet;
}

export function orEmpty(): OrSet {
  return { live: newDict(), tombs: newDict(), floor: newDict(), clock: newDict() };
}

function sortedUnion(a: readonly Dot[] | undefined, b: readonly Dot[] | undefined): Dot[] {
  if (!a || a.length === 0) return b ? [...b] : [];
  if (!b || b.length === 0) return [...a];
  return [...new Set([...a, ...b])].sort(cmpStr);
}

function nextCounter(s: OrSet, node: string): number {
  return Math.max(vvGet(s.clock, node), vvGet(s.floor, node)) + 1;
}

export function orMerge(a: OrSet, b: OrSet): OrSet {
  const live = newDict<readonly Dot[]>();
  const tombs = newDict<readonly Dot[]>();
  const elems = new Set([...Object.keys(a.live), ...Object.keys(b.live), ...Object.keys(a.tombs), ...Object.keys(b.tombs)]);
  const aFloorEmpty = Object.keys(a.floor).length === 0;
  const bFloorEmpty = Object.keys(b.floor).length === 0;
  for (const e of elems) {
    const ta = dictGet(a.tombs, e);
    const tb = dictGet(b.tombs, e);
    const t = sortedUnion(ta, tb);
    if (t.length) tombs[e] = t;
    const la = dictGet(a.live, e) ?? [];
    const lb = dictGet(b.live, e) ?? [];
    if (la.length === 0 && lb.length === 0) continue;
    const tset = new Set(t);
    const sa = new Set(la);
    const sb = new Set(lb);
    const out: Dot[] = [];
    for (const d of new Set([...la, ...lb])) {
      if (tset.has(d)) continue;
      if (!sa.has(d) && !aFloorEmpty && vvCovers(a.floor, d)) continue;
      if (!sb.has(d) && !bFloorEmpty && vvCovers(b.floor, d)) continue;
      out.push(d);
    }
    if (out.length) live[e] = out.sort(cmpStr);
  }
  return { live, tombs, floor: vvMerge(a.floor, b.floor), clock: vvMerge(a.clock, b.clock) };
}

function deltaOf(live: Dict<readonly Dot[]>, tombs: Dict<readonly Dot[]>, node: string, counter: number): OrSet {
  const clock = newDict<number>();
  clock[node] = counter;
  return { live, tombs, floor: newDict(), clock };
}

/** Add `elem` as `node`: one fresh dot; the dots it replaces become tombstones. */
export function orAdd(s: OrSet, elem: string, node: string): OrSetChange {
  const c = nextCounter(s, node);
  const live = newDict<readonly Dot[]>();
  live[elem] = [dot(node, c)];
  const tombs = newDict<readonly Dot[]>();
  const old = dictGet(s.live, elem);
  if (old && old.length) tombs[elem] = [...old];
  const delta = deltaOf(live, tombs, node, c);
  return { set: orMerge(s, delta), delta };
}

/** Remove `elem` as `node`: tombstones the dots seen here. Absent element → empty delta. */
export function orRemove(s: OrSet, elem: string, node: string): OrSetChange {
  const old = dictGet(s.live, elem);
  if (!old || old.length === 0) return { set: s, delta: orEmpty() };
  const c = nextCounter(s, node);
  const tombs = newDict<readonly Dot[]>();
  tombs[elem] = sortedUnion(old, [dot(node, c)]);
  const delta = deltaOf(newDict(), tombs, node, c);
  return { set: orMerge(s, delta), delta };
}

export function orHas(s: OrSet, elem: string): boolean {
  const l = dictGet(s.live, elem);
  return !!l && l.length > 0;
}

/** The elements, sorted. */
export function orValues(s: OrSet): string[] {
  return Object.keys(s.live)
    .filter((e) => s.live[e]!.length > 0)
    .sort(cmpStr);
}

/** Contiguous prefix of this replica's causal context, per node. */
export function orSeen(s: OrSet): VersionVector {
  const above = new Map<string, Set<number>>();
  const note = (d: Dot) => {
    const p = parseDot(d);
    if (!p || p.counter <= vvGet(s.floor, p.node)) return;
    let set = above.get(p.node);
    if (!set) above.set(p.node, (set = new Set()));
    set.add(p.counter);
  };
  for (const e of Object.keys(s.live)) for (const d of s.live[e]!) note(d);
  for (const e of Object.keys(s.tombs)) for (const d of s.tombs[e]!) note(d);
  const out = newDict<number>();
  for (const k of Object.keys(s.floor)) if (s.floor[k]! > 0) out[k] = s.floor[k]!;
  for (const [node, cs] of above) {
    let c = vvGet(s.floor, node);
    while (cs.has(c + 1)) c++;
    if (c > 0) out[node] = c;
  }
  return out;
}

/** Collect tombstones below a causally stable frontier (see module header). */
export function orGc(s: OrSet, frontier: VersionVector): OrSet {
  const seen = orSeen(s);
  const f = newDict<number>();
  for (const k of Object.keys(frontier)) {
    const m = Math.min(frontier[k]!, vvGet(seen, k));
    if (m > 0) f[k] = m;
  }
  const floor = vvMerge(s.floor, f);
  const tombs = newDict<readonly Dot[]>();
  for (const e of Object.keys(s.tombs)) {
    const events = [...s.tombs[e]!, ...(dictGet(s.live, e) ?? [])];
    if (!events.every((d) => vvCovers(floor, d))) tombs[e] = s.tombs[e]!;
  }
  return { live: s.live, tombs, floor, clock: s.clock };
}

/** A canonical form for comparing replicas: same value and same causal context ⇒ same form. */
export function orNormalize(s: OrSet): OrSet {
  const seen = orSeen(s);
  const tombs = newDict<readonly Dot[]>();
  for (const e of Object.keys(s.tombs)) {
    const t = s.tombs[e]!.filter((d) => !vvCovers(seen, d));
    if (t.length) tombs[e] = t;
  }
  return { live: s.live, tombs, floor: seen, clock: s.clock };
}

function readDots(v: unknown, path: string): Dot[] {
  const ds = readArray(v, path, (x, p) => {
    const d = readString(x, p, 128);
    if (!parseDot(d)) fail(p, "malformed dot");
    return d;
  });
  return [...new Set(ds)].sort(cmpStr);
}

export function readOrSet(v: unknown, path: string): OrSet {
  const o = readRecord(v, path, ["live", "tombs", "floor", "clock"]);
  const elemKey = (k: string, p: string) => {
    if (k.length > 4096) fail(p, "element longer than 4096");
  };
  return {
    live: readDict(o.live, at(path, "live"), readDots, elemKey),
    tombs: readDict(o.tombs, at(path, "tombs"), readDots, elemKey),
    floor: readVersionVector(o.floor, at(path, "floor")),
    clock: readVersionVector(o.clock, at(path, "clock")),
  };
}

export function encodeOrSet(s: OrSet): string {
  return canonical(s);
}

export function decodeOrSet(input: Uint8Array | string): Decoded<OrSet> {
  return decodeJsonBytes(input, readOrSet);
}

