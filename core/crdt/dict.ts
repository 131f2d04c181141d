/**
 * Dict: the string-keyed map every CRDT here stores its entries in. It is a
 * null-prototype plain object, so it serialises as JSON as is, and keys such as
 * `__proto__` or `constructor` are ordinary keys (no prototype pollution, no
 * inherited lookups). Dicts are treated as immutable: every update copies.
 */

export type Dict<V> = { readonly [key: string]: V };

export function emptyDict<V>(): Dict<V> {
  return Object.create(null) as Dict<V>;
}

/** A mutable null-prototype object for building a dict before freezing it by convention. */
export function newDict<V>(): { [key: string]: V } {
  return Object.create(null) as { [key: string]: V };
}

export function dictGet<V>(d: Dict<V>, key: string): V | undefined {
  return Object.prototype.hasOwnProperty.call(d, key) ? d[key] : undefined;
}

export function dictHas<V>(d: Dict<V>, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(d, key);
}

export function dictKeys<V>(d: Dict<V>): string[] {
  return Object.keys(d);
}

export function dictSize<V>(d: Dict<V>): number {
  return Object.keys(d).length;
}

/** Shallow copy. Object.assign onto a null-prototype target defines `__proto__` as an own key, never a prototype. */
export function dictCopy<V>(d: Dict<V>): { [key: string]: V } {
  return Object.assign(newDict<V>(), d);
}

export function dictSet<V>(d: Dict<V>, key: string, v: V): Dict<V> {
  const out = dictCopy(d);
  out[key] = v;
  return out;
}

export function dictOf<V>(entries: Iterable<readonly [string, V]>): Dict<V> {
  const out = newDict<V>();
  for (const [k, v] of entries) out[k] = v;
  return out;
}

export function dictEntries<V>(d: Dict<V>): [string, V][] {
  return Object.keys(d).map((k) => [k, d[k] as V]);
}

/**
 * Join of two dicts entry by entry: copies the larger side and folds the
 * smaller one in with `merge`, so applying a small delta to a large state is
 * cheap. Returns the larger side itself when the smaller one is empty.
 */
export function dictMergeWith<V>(a: Dict<V>, b: Dict<V>, merge: (x: V, y: V) => V): Dict<V> {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const [big, small, smallKeys] = ka.length >= kb.length ? [a, b, kb] : [b, a, ka];
  if (smallKeys.length === 0) return big;
  const out = dictCopy(big);
  for (const k of smallKeys) {
    const e = small[k]!;
    const cur = dictGet(out, k);
    out[k] = cur === undefined ? e : merge(cur, e);
  }
  return out;
}
