/**
 * LWW-Map: per key, the latest write wins; a delete is a timestamped
 * tombstone, so a delete concurrent with an older put still wins, and a put
 * after it brings the key back. Every mutator returns the new map and a delta
 * (a map holding just the written entry) that merges like any other map.
 *
 * Tombstones accumulate; `lwwMapPurge(map, before)` drops those older than a
 * horizon the caller knows no older write can still arrive from (for example
 * the anti-entropy horizon). Purging is the one operation that is not a merge.
 */
import { canonical, cmpStr, type Json } from "./json.ts";
import { dictGet, dictMergeWith, newDict, type Dict } from "./dict.ts";
import { at, decodeJsonBytes, readDict, readRecord, readJson, fail, type Decoded } from "./decode.ts";
import { encodeHlc, type Hlc, type HlcString } from "./hlc.ts";
import { readHlcString } from "./lww-register.ts";

export type LwwEntry<T extends Json = Json> =
  | { readonly ts: HlcString; readonly value: T; readonly deleted?: undefined }
  | { readonly ts: HlcString; readonly deleted: true; readonly value?: undefined };

export type LwwMap<T extends Json = Json> = Dict<LwwEntry<T>>;

export interface LwwMapChange<T extends Json> {
  readonly map: LwwMap<T>;
  readonly delta: LwwMap<T>;
}

export function compareEntry<T extends Json>(a: LwwEntry<T>, b: LwwEntry<T>): number {
  if (a === b) return 0;
  return cmpStr(a.ts, b.ts) || cmpStr(entryText(a), entryText(b));
}

/** Entries are immutable: the tie-break's canonical text is made once per entry (a redelivered write ties with the stored one). */
const texts = new WeakMap<object, string>();
function entryText(e: LwwEntry<Json>): string {
  let t = texts.get(e);
  if (t === undefined) texts.set(e, (t = canonical(e)));
  return t;
}

export function mergeEntry<T extends Json>(a: LwwEntry<T>, b: LwwEntry<T>): LwwEntry<T> {
  return compareEntry(a, b) >= 0 ? a : b;
}

export function lwwMapEmpty<T extends Json>(): LwwMap<T> {
  return newDict<LwwEntry<T>>();
}

/** Join of two maps. Copies the larger side and folds the smaller one in, so applying a small delta is cheap-ish. */
export function lwwMapMerge<T extends Json>(a: LwwMap<T>, b: LwwMap<T>): LwwMap<T> {
  return dictMergeWith(a, b, mergeEntry);
}

/** The delta of a put, without applying it (callers batching several writes merge once). */
export function lwwPutDelta<T extends Json>(key: string, value: T, ts: Hlc): LwwMap<T> {
  const delta = newDict<LwwEntry<T>>();
  delta[key] = { ts: encodeHlc(ts), value };
  return delta;
}

export function lwwDeleteDelta<T extends Json>(key: string, ts: Hlc): LwwMap<T> {
  const delta = newDict<LwwEntry<T>>();
  delta[key] = { ts: encodeHlc(ts), deleted: true };
  return delta;
}

export function lwwMapPut<T extends Json>(map: LwwMap<T>, key: string, value: T, ts: Hlc): LwwMapChange<T> {
  const delta = lwwPutDelta(key, value, ts);
  return { map: lwwMapMerge(map, delta), delta };
}

export function lwwMapDelete<T extends Json>(map: LwwMap<T>, key: string, ts: Hlc): LwwMapChange<T> {
  const delta = lwwDeleteDelta<T>(key, ts);
  return { map: lwwMapMerge(map, delta), delta };
}

/** The live value at `key`, or undefined when absent or deleted. */
export function lwwMapGet<T extends Json>(map: LwwMap<T>, key: string): T | undefined {
  const e = dictGet(map, key);
  return e && !e.deleted ? (e.value as T) : undefined;
}

/** Live entries, sorted by key. */
export function lwwMapEntries<T extends Json>(map: LwwMap<T>): [string, T][] {
  const out: [string, T][] = [];
  for (const k of Object.keys(map).sort()) {
    const e = map[k]!;
    if (!e.deleted) out.push([k, e.value as T]);
  }
  return out;
}

/** The observable content (live keys → values) as a plain dict, for comparisons. */
export function lwwMapValue<T extends Json>(map: LwwMap<T>): Dict<T> {
  const out = newDict<T>();
  for (const [k, v] of lwwMapEntries(map)) out[k] = v;
  return out;
}

/** Drop tombstones stamped before `before` (see the module header for when that is safe). */
export function lwwMapPurge<T extends Json>(map: LwwMap<T>, before: HlcString): LwwMap<T> {
  const out = newDict<LwwEntry<T>>();
  for (const k of Object.keys(map)) {
    const e = map[k]!;
    if (!(e.deleted && e.ts < before)) out[k] = e;
  }
  return out;
}

export function readLwwEntry<T extends Json>(v: unknown, path: string, value: (x: unknown, p: string) => T): LwwEntry<T> {
  const o = readRecord(v, path, ["ts"], ["value", "deleted"]);
  const ts = readHlcString(o.ts, at(path, "ts"));
  const hasValue = Object.prototype.hasOwnProperty.call(o, "value");
  const hasDeleted = Object.prototype.hasOwnProperty.call(o, "deleted");
  if (hasDeleted) {
    if (o.deleted !== true) fail(at(path, "deleted"), "expected true");
    if (hasValue) fail(at(path, "value"), "a tombstone has no value");
    return { ts, deleted: true };
  }
  if (!hasValue) fail(path, "entry needs a value or deleted: true");
  return { ts, value: value(o.value, at(path, "value")) };
}

export function readLwwMap<T extends Json>(
  v: unknown,
  path: string,
  value: (x: unknown, p: string) => T,
  key?: (k: string, p: string) => void,
): LwwMap<T> {
  return readDict(v, path, (x, p) => readLwwEntry(x, p, value), key);
}

export function encodeLwwMap(map: LwwMap): string {
  return canonical(map);
}

export function decodeLwwMap(input: Uint8Array | string): Decoded<LwwMap> {
  return decodeJsonBytes(input, (v, p) => readLwwMap(v, p, readJson));
}
