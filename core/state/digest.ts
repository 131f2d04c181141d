/**
 * Anti-entropy digests: find what two replicas disagree on while sending a
 * few bytes per entry instead of the entries.
 *
 * Each collection's keys are hashed (FNV-1a + fmix32) into 2^bits buckets, with
 * bits chosen so a bucket holds about two entries. A bucket's hash is the XOR
 * of its entries' hashes (first 8 bytes of sha256 over collection, key and the
 * canonical entry, tombstones included). XOR makes buckets foldable: a digest
 * with more bits folds down to fewer by XOR-ing sibling buckets, so replicas of
 * different sizes still compare.
 *
 * Push-pull round between A and B (the gossip layer drives it over TCP):
 *   1. A → B  encodeDigest(digest(A))
 *   2. B      req = diff(digest(B), decodeDigest(…))
 *      B → A  encodeBucketRequest(req), encodeDelta(extract(B, req))
 *   3. A      applyDelta; A → B encodeDelta(extractReply(A, req, fromB)); B applies it.
 * Both then hold the join of the differing buckets, i.e. they are equal.
 * `extractReply` leaves out what B's message showed B already has (or beats),
 * so the third message carries only A's winning entries.
 * `digestRoots` (8 bytes per collection) is a cheaper "already in sync?" probe.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { hash32 } from "../hash32.ts";
import { canonical, compareEntry, decodeError, newDict, type Decoded, type LwwEntry } from "../crdt/index.ts";
import { compareClaim } from "./ip.ts";
import type { IpClaim } from "./schema.ts";
import { COLLECTIONS, type ClusterDelta, type ClusterState, type Collection } from "./cluster-state.ts";

export const HASH_BYTES = 8;
export const MAX_BITS = 16;
/** Target entries per bucket: fewer means bigger digests, more means bigger deltas. */
export const ENTRIES_PER_BUCKET = 2;

export interface CollectionDigest {
  readonly bits: number;
  /** 2^bits buckets × HASH_BYTES */
  readonly hashes: Uint8Array;
}

export type StateDigest = { readonly [K in Collection]: CollectionDigest };

/** Buckets (at a given bit width) of each collection that differ. Absent collection = in sync. */
export type BucketRequest = { readonly [K in Collection]?: { readonly bits: number; readonly buckets: readonly number[] } };

export function bitsFor(count: number): number {
  if (count <= ENTRIES_PER_BUCKET) return 0;
  return Math.min(MAX_BITS, Math.ceil(Math.log2(count / ENTRIES_PER_BUCKET)));
}

export function bucketOf(key: string, bits: number): number {
  return bits === 0 ? 0 : hash32(key) >>> (32 - bits);
}

const enc = new TextEncoder();

/**
 * Entries are immutable and shared between successive states, so their hashes
 * are memoised by object identity: a digest after a small change rehashes only
 * the changed entries. The key is stored too, in case one object sits under two keys.
 */
const hashCache = new WeakMap<object, { collection: Collection; key: string; hash: Uint8Array }>();

function entryHash(collection: Collection, key: string, entry: unknown): Uint8Array {
  const cacheable = typeof entry === "object" && entry !== null;
  if (cacheable) {
    const c = hashCache.get(entry);
    if (c && c.key === key && c.collection === collection) return c.hash;
  }
  const hash = sha256(enc.encode(`${collection}\u0000${key}\u0000${canonical(entry)}`)).subarray(0, HASH_BYTES);
  if (cacheable) hashCache.set(entry, { collection, key, hash });
  return hash;
}

export function digestCollection(collection: Collection, map: { readonly [k: string]: unknown }): CollectionDigest {
  const keys = Object.keys(map);
  const bits = bitsFor(keys.length);
  const hashes = new Uint8Array((1 << bits) * HASH_BYTES);
  for (const k of keys) {
    const h = entryHash(collection, k, map[k]);
    const off = bucketOf(k, bits) * HASH_BYTES;
    for (let i = 0; i < HASH_BYTES; i++) hashes[off + i]! ^= h[i]!;
  }
  return { bits, hashes };
}

export function digest(state: ClusterState): StateDigest {
  const out = {} as { -readonly [K in Collection]: CollectionDigest };
  for (const c of COLLECTIONS) out[c] = digestCollection(c, state[c]);
  return out;
}

/** XOR-fold a collection digest down to `bits` (≤ its own bits). */
export function fold(d: CollectionDigest, bits: number): Uint8Array {
  if (bits === d.bits) return d.hashes;
  const out = new Uint8Array((1 << bits) * HASH_BYTES);
  const shift = d.bits - bits;
  for (let i = 0; i < 1 << d.bits; i++) {
    const to = (i >>> shift) * HASH_BYTES;
    const from = i * HASH_BYTES;
    for (let j = 0; j < HASH_BYTES; j++) out[to + j]! ^= d.hashes[from + j]!;
  }
  return out;
}

/** One 8-byte root per collection (all buckets folded): equal roots ⇒ nothing to sync, with overwhelming probability. */
export function digestRoots(d: StateDigest): Uint8Array {
  const out = new Uint8Array(COLLECTIONS.length * HASH_BYTES);
  COLLECTIONS.forEach((c, i) => out.set(fold(d[c], 0), i * HASH_BYTES));
  return out;
}

/** The buckets whose contents differ between the two digests. */
export function diff(local: StateDigest, remote: StateDigest): BucketRequest {
  const out: { -readonly [K in Collection]?: { bits: number; buckets: number[] } } = {};
  for (const c of COLLECTIONS) {
    const bits = Math.min(local[c].bits, remote[c].bits);
    const a = fold(local[c], bits);
    const b = fold(remote[c], bits);
    const buckets: number[] = [];
    for (let i = 0; i < 1 << bits; i++) {
      const off = i * HASH_BYTES;
      for (let j = 0; j < HASH_BYTES; j++) {
        if (a[off + j] !== b[off + j]) {
          buckets.push(i);
          break;
        }
      }
    }
    if (buckets.length) out[c] = { bits, buckets };
  }
  return out;
}

export function requestIsEmpty(r: BucketRequest): boolean {
  return COLLECTIONS.every((c) => !r[c] || r[c]!.buckets.length === 0);
}

/** The entries of `state` in the requested buckets, as a delta. */
export function extract(state: ClusterState, req: BucketRequest): ClusterDelta {
  const out: Record<string, unknown> = {};
  for (const c of COLLECTIONS) {
    const r = req[c];
    if (!r || r.buckets.length === 0) continue;
    const want = new Set(r.buckets);
    const src = state[c] as { readonly [k: string]: unknown };
    const part = newDict<unknown>();
    for (const k of Object.keys(src)) if (want.has(bucketOf(k, r.bits))) part[k] = src[k];
    out[c] = part;
  }
  return out as ClusterDelta;
}

/**
 * Like `extract`, but without the entries `received` (the peer's extract for the
 * same request, i.e. the peer's full content of those buckets) already has at
 * least as new: only entries that change the peer's state are returned.
 */
export function extractReply(state: ClusterState, req: BucketRequest, received: ClusterDelta): ClusterDelta {
  const all = extract(state, req) as Record<string, Record<string, unknown>>;
  const out: Record<string, unknown> = {};
  for (const c of COLLECTIONS) {
    const mine = all[c];
    if (!mine) continue;
    const theirs = (received[c] ?? {}) as Record<string, unknown>;
    const part = newDict<unknown>();
    for (const k of Object.keys(mine)) {
      const t = Object.prototype.hasOwnProperty.call(theirs, k) ? theirs[k] : undefined;
      if (t === undefined) part[k] = mine[k];
      else {
        const cmp = c === "ips" ? compareClaim(mine[k] as IpClaim, t as IpClaim) : compareEntry(mine[k] as LwwEntry, t as LwwEntry);
        if (cmp > 0) part[k] = mine[k];
      }
    }
    if (Object.keys(part).length) out[c] = part;
  }
  return out as ClusterDelta;
}

// ---- wire encodings ---------------------------------------------------------

const DIGEST_MAGIC = [0x46, 0x5a, 0x44, 0x01]; // "FZD" v1
const REQUEST_MAGIC = [0x46, 0x5a, 0x42, 0x01]; // "FZB" v1

export function encodeDigest(d: StateDigest): Uint8Array {
  let len = 4;
  for (const c of COLLECTIONS) len += 1 + d[c].hashes.length;
  const out = new Uint8Array(len);
  out.set(DIGEST_MAGIC, 0);
  let o = 4;
  for (const c of COLLECTIONS) {
    out[o++] = d[c].bits;
    out.set(d[c].hashes, o);
    o += d[c].hashes.length;
  }
  return out;
}

export function decodeDigest(b: Uint8Array): Decoded<StateDigest> {
  if (!(b instanceof Uint8Array) || b.length < 4 || DIGEST_MAGIC.some((m, i) => b[i] !== m)) {
    return { ok: false, error: decodeError("not a state digest (bad magic)") };
  }
  const out = {} as { -readonly [K in Collection]: CollectionDigest };
  let o = 4;
  for (const c of COLLECTIONS) {
    if (o >= b.length) return { ok: false, error: decodeError(`digest truncated before ${c}`) };
    const bits = b[o++]!;
    if (bits > MAX_BITS) return { ok: false, error: decodeError(`digest of ${c} has ${bits} bits (max ${MAX_BITS})`) };
    const n = (1 << bits) * HASH_BYTES;
    if (o + n > b.length) return { ok: false, error: decodeError(`digest of ${c} truncated`) };
    out[c] = { bits, hashes: b.slice(o, o + n) };
    o += n;
  }
  if (o !== b.length) return { ok: false, error: decodeError("trailing bytes after digest") };
  return { ok: true, value: out };
}

export function encodeBucketRequest(r: BucketRequest): Uint8Array {
  const parts = COLLECTIONS.map((c, i) => [i, r[c]] as const).filter(([, x]) => x && x.buckets.length > 0);
  let len = 5;
  for (const [, x] of parts) len += 6 + x!.buckets.length * 2;
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  out.set(REQUEST_MAGIC, 0);
  out[4] = parts.length;
  let o = 5;
  for (const [i, x] of parts) {
    out[o++] = i;
    out[o++] = x!.bits;
    dv.setUint32(o, x!.buckets.length);
    o += 4;
    for (const bk of x!.buckets) {
      dv.setUint16(o, bk);
      o += 2;
    }
  }
  return out;
}

export function decodeBucketRequest(b: Uint8Array): Decoded<BucketRequest> {
  const bad = (m: string): Decoded<BucketRequest> => ({ ok: false, error: decodeError(m) });
  if (!(b instanceof Uint8Array) || b.length < 5 || REQUEST_MAGIC.some((m, i) => b[i] !== m)) return bad("not a bucket request (bad magic)");
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const out: { -readonly [K in Collection]?: { bits: number; buckets: number[] } } = {};
  let o = 5;
  for (let p = 0; p < b[4]!; p++) {
    if (o + 6 > b.length) return bad("bucket request truncated");
    const c = COLLECTIONS[b[o]!];
    const bits = b[o + 1]!;
    const n = dv.getUint32(o + 2);
    o += 6;
    if (!c || out[c]) return bad("bucket request names an unknown or repeated collection");
    if (bits > MAX_BITS) return bad(`bucket request with ${bits} bits (max ${MAX_BITS})`);
    if (n > 1 << bits || o + n * 2 > b.length) return bad("bucket request truncated or oversized");
    const buckets: number[] = [];
    for (let i = 0; i < n; i++) {
      const bk = dv.getUint16(o + i * 2);
      if (bk >= 1 << bits) return bad(`bucket ${bk} out of range for ${bits} bits`);
      buckets.push(bk);
    }
    o += n * 2;
    out[c] = { bits, buckets };
  }
  if (o !== b.length) return bad("trailing bytes after bucket request");
  return { ok: true, value: out };
}
