/**
 * Grow-only counter: one non-decreasing count per node; merge is the pointwise
 * maximum, the value is the sum. `gIncrement` returns the delta (just this
 * node's new count), which merges like a full counter.
 */
import { canonical } from "./json.ts";
import { dictGet, newDict, type Dict } from "./dict.ts";
import { decodeJsonBytes, fail, readDict, readInt, type Decoded } from "./decode.ts";
import { isNodeId } from "./hlc.ts";

export type GCounter = Dict<number>;

export function gEmpty(): GCounter {
  return newDict<number>();
}

export function gMerge(a: GCounter, b: GCounter): GCounter {
  const out = newDict<number>();
  for (const k of Object.keys(a)) out[k] = a[k]!;
  for (const k of Object.keys(b)) out[k] = Math.max(out[k] ?? 0, b[k]!);
  return out;
}

export function gIncrement(c: GCounter, node: string, by = 1): { counter: GCounter; delta: GCounter } {
  if (!Number.isSafeInteger(by) || by < 0) throw new RangeError("a G-Counter only grows by a non-negative integer");
  const delta = newDict<number>();
  delta[node] = (dictGet(c, node) ?? 0) + by;
  return { counter: gMerge(c, delta), delta };
}

export function gValue(c: GCounter): number {
  let s = 0;
  for (const k of Object.keys(c)) s += c[k]!;
  return s;
}

export function readGCounter(v: unknown, path: string): GCounter {
  return readDict(
    v,
    path,
    (x, p) => readInt(x, p, 0),
    (k, p) => {
      if (!isNodeId(k)) fail(p, "invalid node id");
    },
  );
}

export function encodeGCounter(c: GCounter): string {
  return canonical(c);
}

export function decodeGCounter(input: Uint8Array | string): Decoded<GCounter> {
  return decodeJsonBytes(input, readGCounter);
}
