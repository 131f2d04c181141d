/**
 * IP allocation claims: per address, a register whose merge is the maximum
 * under a total order, so every node agrees on the owner without a leader.
 *
 *   1. higher epoch first      (an address released and re-allocated moves on)
 *   2. then the LOWER timestamp (first claim wins; a later concurrent claimant
 *                                sees it lost and reallocates elsewhere)
 *   3. then released           (the winner's release of its own claim)
 *   4. then canonical bytes    (only reachable with forged duplicate stamps)
 *
 * A release keeps the claim's epoch and timestamp, so a loser "releasing" its
 * losing claim cannot free the winner's address.
 */
import { canonical, cmpStr, dictGet, dictMergeWith, type Dict } from "../crdt/index.ts";
import type { IpClaim } from "./schema.ts";

export type IpTable = Dict<IpClaim>;

/** > 0 when `a` beats `b`. */
export function compareClaim(a: IpClaim, b: IpClaim): number {
  if (a.epoch !== b.epoch) return a.epoch - b.epoch;
  const t = cmpStr(b.ts, a.ts);
  if (t !== 0) return t;
  if (a.released !== b.released) return a.released ? 1 : -1;
  return cmpStr(canonical(a), canonical(b));
}

export function mergeClaim(a: IpClaim, b: IpClaim): IpClaim {
  return compareClaim(a, b) >= 0 ? a : b;
}

export function mergeIpTable(a: IpTable, b: IpTable): IpTable {
  return dictMergeWith(a, b, mergeClaim);
}

/** The current owner, or undefined when free (never claimed or released). */
export function claimOwner(t: IpTable, address: string): string | undefined {
  const c = dictGet(t, address);
  return c && !c.released ? c.owner : undefined;
}
