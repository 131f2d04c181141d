/**
 * PN-Counter: two G-Counters, increments and decrements; value = p − n.
 */
import { canonical } from "./json.ts";
import { at, decodeJsonBytes, readRecord, type Decoded } from "./decode.ts";
import { gEmpty, gIncrement, gMerge, gValue, readGCounter, type GCounter } from "./g-counter.ts";

export interface PnCounter {
  readonly p: GCounter;
  readonly n: GCounter;
}

export function pnEmpty(): PnCounter {
  return { p: gEmpty(), n: gEmpty() };
}

export function pnMerge(a: PnCounter, b: PnCounter): PnCounter {
  return { p: gMerge(a.p, b.p), n: gMerge(a.n, b.n) };
}

/** Add `by` (any safe integer, negative decrements); returns the new counter and its delta. */
export function pnAdd(c: PnCounter, node: string, by: number): { counter: PnCounter; delta: PnCounter } {
  if (!Number.isSafeInteger(by)) throw new RangeError("a PN-Counter changes by an integer");
  if (by >= 0) {
    const r = gIncrement(c.p, node, by);
    return { counter: { p: r.counter, n: c.n }, delta: { p: r.delta, n: gEmpty() } };
  }
  const r = gIncrement(c.n, node, -by);
  return { counter: { p: c.p, n: r.counter }, delta: { p: gEmpty(), n: r.delta } };
}

export function pnValue(c: PnCounter): number {
  return gValue(c.p) - gValue(c.n);
}

export function readPnCounter(v: unknown, path: string): PnCounter {
  const o = readRecord(v, path, ["p", "n"]);
  return { p: readGCounter(o.p, at(path, "p")), n: readGCounter(o.n, at(path, "n")) };
}

export function encodePnCounter(c: PnCounter): string {
  return canonical(c);
}

export function decodePnCounter(input: Uint8Array | string): Decoded<PnCounter> {
  return decodeJsonBytes(input, readPnCounter);
}
