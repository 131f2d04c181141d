/**
 * A consistent-hash ring with virtual nodes. A node's points depend only on
 * its id, so the ring over any subset of nodes is the full ring filtered:
 * adding or removing a node only changes which node owns that node's arcs.
 */
import { combine32, hash32 } from "./hash.ts";

export interface Ring {
  /** Sorted point positions. */
  readonly positions: Uint32Array;
  /** Owner of each point, as an index into the caller's node array. */
  readonly owners: Int32Array;
  /** Number of distinct nodes on the ring. */
  readonly size: number;
}

/**
 * Rings built lately, by node ids and vnodes: every placement pass builds the
 * same rings while membership stands still (a ring is ~1,000 sorted points),
 * so they are built once. Rings are immutable; a bounded number are kept.
 */
const recent = new Map<string, Ring>();
const RECENT_MAX = 32;

/** Node indices must be < 2^20 (they are packed beside the 32-bit position in one float). */
export function buildRing(nodeIds: readonly string[], members: readonly number[], vnodes: number): Ring {
  let key = `${vnodes}`;
  for (const idx of members) key += `\u0000${idx}\u0000${nodeIds[idx]}`;
  const hit = recent.get(key);
  if (hit) return hit;
  const ring = computeRing(nodeIds, members, vnodes);
  if (recent.size >= RECENT_MAX) recent.delete(recent.keys().next().value!);
  recent.set(key, ring);
  return ring;
}

function computeRing(nodeIds: readonly string[], members: readonly number[], vnodes: number): Ring {
  const packed = new Float64Array(members.length * vnodes);
  let k = 0;
  for (const idx of members) {
    const base = hash32(nodeIds[idx]!);
    for (let v = 0; v < vnodes; v++) packed[k++] = combine32(base, v) * 1048576 + idx;
  }
  // Ties on position fall back to the node index, which follows id order: stable everywhere.
  packed.sort();
  const positions = new Uint32Array(packed.length);
  const owners = new Int32Array(packed.length);
  for (let i = 0; i < packed.length; i++) {
    const p = packed[i]!;
    const idx = p % 1048576;
    owners[i] = idx;
    positions[i] = (p - idx) / 1048576;
  }
  return { positions, owners, size: members.length };
}

/** Index of the first point at or after `h` (wrapping to 0). */
export function firstPoint(ring: Ring, h: number): number {
  const pos = ring.positions;
  let lo = 0;
  let hi = pos.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (pos[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === pos.length ? 0 : lo;
}
