/**
 * Last-writer-wins register: a value stamped with an HLC string. Merge keeps
 * the later stamp; on an identical stamp (only possible if a node reuses a
 * timestamp) the canonically larger value wins, so merge stays commutative.
 * A register written by `set` is its own delta.
 */
import { canonical, cmpStr, type Json } from "./json.ts";
import { at, decodeJsonBytes, fail, readRecord, readJson, type Decoded } from "./decode.ts";
import { encodeHlc, isHlcString, type Hlc, type HlcString } from "./hlc.ts";

export interface LwwRegister<T extends Json = Json> {
  readonly ts: HlcString;
  readonly value: T;
}

export function lwwSet<T extends Json>(value: T, ts: Hlc): LwwRegister<T> {
  return { ts: encodeHlc(ts), value };
}

/** Total order on registers: timestamp, then canonical value. */
export function compareRegister<T extends Json>(a: LwwRegister<T>, b: LwwRegister<T>): number {
  return cmpStr(a.ts, b.ts) || cmpStr(canonical(a.value), canonical(b.value));
}

export function mergeRegister<T extends Json>(a: LwwRegister<T>, b: LwwRegister<T>): LwwRegister<T> {
  return compareRegister(a, b) >= 0 ? a : b;
}

/** Merge where either side may be absent (the bottom element). */
export function mergeOptRegister<T extends Json>(a: LwwRegister<T> | undefined, b: LwwRegister<T> | undefined): LwwRegister<T> | undefined {
  if (!a) return b;
  if (!b) return a;
  return mergeRegister(a, b);
}

export function readHlcString(v: unknown, path: string): HlcString {
  if (!isHlcString(v)) fail(path, "expected an HLC timestamp string");
  return v;
}

export function readRegister<T extends Json>(v: unknown, path: string, value: (x: unknown, p: string) => T): LwwRegister<T> {
  const o = readRecord(v, path, ["ts", "value"]);
  return { ts: readHlcString(o.ts, at(path, "ts")), value: value(o.value, at(path, "value")) };
}

export function encodeRegister(r: LwwRegister): string {
  return canonical(r);
}

export function decodeRegister(input: Uint8Array | string): Decoded<LwwRegister> {
  return decodeJsonBytes(input, (v, p) => readRegister(v, p, readJson));
}
