/**
 * JSON values as CRDT payloads, and the canonical encoding used for tie-breaks,
 * hashing and the wire: object keys sorted, no whitespace. Two equal values
 * always produce the same string, so byte equality is value equality.
 */

export type Json = null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json };

/** Canonical JSON text of a value (keys sorted by UTF-16 code unit order). */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") {
    // undefined only appears for absent optional fields, which callers never pass here.
    return JSON.stringify(v) ?? "null";
  }
  if (Array.isArray(v)) {
    let s = "[";
    for (let i = 0; i < v.length; i++) s += (i ? "," : "") + canonical(v[i]);
    return s + "]";
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  let s = "{";
  let first = true;
  for (const k of keys) {
    const x = o[k];
    if (x === undefined) continue;
    s += (first ? "" : ",") + JSON.stringify(k) + ":" + canonical(x);
    first = false;
  }
  return s + "}";
}

/** Plain string comparison by code units (not locale), the order every replica agrees on. */
export function cmpStr(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
