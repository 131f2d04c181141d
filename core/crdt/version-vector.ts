/**
 * Version vectors (node id → highest counter seen) and dots (one event: node +
 * counter). Used by the OR-Set for unique add tags and for causal stability:
 * the pointwise minimum of every live member's vector is the frontier below
 * which every member has seen every event, so metadata there can be dropped.
 */
import { canonical } from "./json.ts";
import { dictGet, newDict, type Dict } from "./dict.ts";
import { fail, readDict, readInt, decodeJsonBytes, type Decoded } from "./decode.ts";
import { isNodeId } from "./hlc.ts";

export type VersionVector = Dict<number>;

/** A dot `node:counter` (counter ≥ 1). The counter never contains ':', so the last ':' splits. */
export type Dot = string;

export function dot(node: string, counter: number): Dot {
  return `${node}:${counter}`;
}

export function parseDot(d: Dot): { node: string; counter: number } | undefined {
  const i = d.lastIndexOf(":");
  if (i <= 0) return undefined;
  const node = d.slice(0, i);
  const c = d.slice(i + 1);
  if (!/^[1-9][0-9]{0,15}$/.test(c) || !isNodeId(node)) return undefined;
  const counter = Number(c);
  return Number.isSafeInteger(counter) ? { node, counter } : undefined;
}

export function vvGet(vv: VersionVector, node: string): number {
  return dictGet(vv, node) ?? 0;
}

export function vvMerge(a: VersionVector, b: VersionVector): VersionVector {
  const out = newDict<number>();
  for (const k of Object.keys(a)) out[k] = a[k]!;
  for (const k of Object.keys(b)) out[k] = Math.max(out[k] ?? 0, b[k]!);
  return out;
}

export function vvCovers(vv: VersionVector, d: Dot): boolean {
  const p = parseDot(d);
  return p !== undefined && vvGet(vv, p.node) >= p.counter;
}

export type Causality = "equal" | "before" | "after" | "concurrent";

/** How `a` relates to `b`: before means every event of a is in b, and b has more. */
export function vvCompare(a: VersionVector, b: VersionVector): Causality {
  let less = false;
  let more = false;
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const x = vvGet(a, k);
    const y = vvGet(b, k);
    if (x < y) less = true;
    if (x > y) more = true;
  }
  return less && more ? "concurrent" : less ? "before" : more ? "after" : "equal";
}

/** Pointwise minimum over all vectors: what every member has seen. Empty input → empty vector. */
export function stableFrontier(vvs: readonly VersionVector[]): VersionVector {
  const out = newDict<number>();
  if (vvs.length === 0) return out;
  for (const k of Object.keys(vvs[0]!)) {
    let m = Infinity;
    for (const v of vvs) m = Math.min(m, vvGet(v, k));
    if (m > 0 && m !== Infinity) out[k] = m;
  }
  return out;
}

export function readVersionVector(v: unknown, path: string): VersionVector {
  return readDict(
    v,
    path,
    (x, p) => readInt(x, p, 0),
    (k, p) => {
      if (!isNodeId(k)) fail(p, "invalid node id");
    },
  );
}

export function encodeVersionVector(vv: VersionVector): string {
  return canonical(vv);
}

export function decodeVersionVector(input: Uint8Array | string): Decoded<VersionVector> {
  return decodeJsonBytes(input, readVersionVector);
}
