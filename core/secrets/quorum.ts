/**
 * Who holds which share, what threshold applies, whom to mint a share for,
 * whom to offer ours to, and when a node must seal: pure functions of the
 * secrets collection and the live membership.
 *
 *  - Every node publishes its age recipient (`nodekey/<node>`). The nodes
 *    that did are the share holders (at most 255: x is one byte); the
 *    threshold is a majority of them (shamir.ts `nodeThreshold`).
 *  - An unsealed node mints the missing or outdated shares: a holder without
 *    one, with another threshold's, or sharing its x with a lower node id
 *    gets the share at its own x, or else at the lowest free x. Minting is
 *    deterministic (shamir.ts), so two nodes minting at once agree.
 *  - A sealed node asks by publishing an in-memory recipient in its seal
 *    record; every live holder answers with its share encrypted to it. With
 *    `t` verified shares of one polynomial it rebuilds the key.
 *  - A node unsealed by quorum seals again when fewer than `t` holders are
 *    alive (a minority partition cannot decrypt).
 *  - Shares belong to a generation (the keyring's `epoch`, polynomial
 *    `nodes\0<epoch>`). When a holder leaves the cluster (its row says
 *    "left"), an unsealed node deletes its records and bumps the epoch, and
 *    every share is re-minted from the new polynomial: the leaver's share no
 *    longer combines with any current one. A share for a node that is no
 *    holder (minted concurrently with the leave) is revoked the same way. One unsealed with recovery
 *    shares (`recovered`) stays unsealed: the operator chose to, and it offers
 *    enough shares for the other live nodes to follow.
 */
import { MAX_SHARES, nodeThreshold } from "./shamir.ts";
import type { OfferRecord, SealRecord, SecretsRecord, ShareRecord } from "../state/secrets.ts";

export type Records = readonly (readonly [string, SecretsRecord])[];

export interface HolderView {
  /** node → its recipient */
  readonly nodeKeys: ReadonlyMap<string, string>;
  /** node → its share record */
  readonly shares: ReadonlyMap<string, ShareRecord>;
  readonly seals: ReadonlyMap<string, SealRecord>;
  /** `offer/<to>/<from>` records: to → from → offer */
  readonly offers: ReadonlyMap<string, ReadonlyMap<string, OfferRecord>>;
}

export function holderView(records: Records): HolderView {
  const nodeKeys = new Map<string, string>();
  const shares = new Map<string, ShareRecord>();
  const seals = new Map<string, SealRecord>();
  const offers = new Map<string, Map<string, OfferRecord>>();
  for (const [k, r] of records) {
    const i = k.indexOf("/");
    const rest = k.slice(i + 1);
    if (r.type === "nodekey") nodeKeys.set(rest, r.recipient);
    else if (r.type === "share") shares.set(rest, r);
    else if (r.type === "seal") seals.set(rest, r);
    else if (r.type === "offer") {
      const [to, from] = rest.split("/") as [string, string];
      let m = offers.get(to);
      if (!m) offers.set(to, (m = new Map()));
      m.set(from, r);
    }
  }
  return { nodeKeys, shares, seals, offers };
}

/** The share-holding nodes, in id order (at most 255). */
export function holders(v: HolderView): string[] {
  return [...v.nodeKeys.keys()].sort().slice(0, MAX_SHARES);
}

/** A share's (or offer's) generation. */
export function epochOf(r: { readonly epoch?: number }): number {
  return r.epoch ?? 0;
}

/** The name of the node-share polynomial of a generation (0 keeps the name shares had before generations). */
export function nodePoly(epoch: number): string {
  return epoch === 0 ? "nodes" : `nodes\0${epoch}`;
}

/**
 * Nodes to revoke: those that left the cluster and still publish a node key
 * or hold a share of the current generation (one minted for a leaver by a
 * node that had not heard yet: it is revoked again, with a new generation).
 * A share without a node key is not enough: during a join the share minted
 * for the new node can arrive before the node's own key record.
 */
export function revocations(v: HolderView, left: ReadonlySet<string>, epoch: number): string[] {
  const out = new Set<string>();
  for (const n of left) if (v.nodeKeys.has(n) || (v.shares.has(n) && epochOf(v.shares.get(n)!) === epoch)) out.add(n);
  return [...out].sort();
}

/** The threshold the holders should have: a majority of them. */
export function targetThreshold(v: HolderView): number {
  return nodeThreshold(holders(v).length);
}

/**
 * The threshold the published shares were minted with (the most common; ties
 * to the larger). Sealed nodes go by this, since nothing re-mints while the
 * whole cluster is sealed; undefined when there are no shares.
 */
export function publishedThreshold(v: HolderView, epoch?: number): number | undefined {
  const count = new Map<number, number>();
  for (const s of v.shares.values()) if (epoch === undefined || epochOf(s) === epoch) count.set(s.t, (count.get(s.t) ?? 0) + 1);
  let best: number | undefined;
  for (const [t, n] of count) if (best === undefined || n > count.get(best)! || (n === count.get(best)! && t > best)) best = t;
  return best;
}

/** Holders that are alive and hold a share of threshold `t` (of generation `epoch`, when given). */
export function liveHolders(v: HolderView, alive: ReadonlySet<string>, t: number, epoch?: number): string[] {
  return [...v.shares.entries()].filter(([n, s]) => s.t === t && (epoch === undefined || epochOf(s) === epoch) && alive.has(n) && v.nodeKeys.has(n)).map(([n]) => n).sort();
}

export interface Mint {
  readonly node: string;
  readonly x: number;
  readonly recipient: string;
}

/** Shares an unsealed node should (re)write for threshold `t` (and generation `epoch`). */
export function mintPlan(v: HolderView, t: number, epoch = 0): Mint[] {
  const hs = holders(v);
  const keep = new Map<string, number>(); // node → x kept
  const used = new Set<number>();
  for (const n of hs) {
    const s = v.shares.get(n);
    if (s && s.t === t && epochOf(s) === epoch && !used.has(s.x)) {
      keep.set(n, s.x);
      used.add(s.x);
    }
  }
  const out: Mint[] = [];
  let next = 1;
  for (const n of hs) {
    const s = v.shares.get(n);
    const recipient = v.nodeKeys.get(n)!;
    if (keep.has(n)) continue;
    while (used.has(next)) next++;
    if (next > MAX_SHARES) break;
    used.add(next);
    out.push({ node: n, x: next, recipient });
  }
  return out;
}

/** Sealed live nodes asking for shares, other than `self`: node → its request recipient. */
export function openRequests(v: HolderView, self: string, alive: ReadonlySet<string>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [n, s] of v.seals) if (n !== self && s.state === "sealed" && s.request && alive.has(n) && v.nodeKeys.has(n)) out.set(n, s.request);
  return out;
}

/** Offers `self` wrote that no longer answer a live request (to delete). */
export function staleOffers(v: HolderView, self: string, alive: ReadonlySet<string>): string[] {
  const open = openRequests(v, self, alive);
  const out: string[] = [];
  for (const [to, from] of v.offers) {
    const mine = from.get(self);
    if (mine && open.get(to) !== mine.request) out.push(to);
  }
  return out.sort();
}

export type SealMode = "sealed" | "unsealed" | "recovered";

/** Whether a node in `mode` must drop the key now. */
export function mustSeal(mode: SealMode, liveHolderCount: number, t: number): boolean {
  return mode === "unsealed" && liveHolderCount < t;
}
