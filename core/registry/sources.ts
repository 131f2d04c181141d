/**
 * Where a node gets a blob (or manifest) it lacks, as an ordered list of
 * sources to try: first the peers that hold it (from the replicated
 * "who holds which digest" records), then the digest's fetcher, then the
 * upstream itself. The fetcher is the alive node that rendezvous-hashes
 * highest with the digest: every node computes the same one from the same
 * membership, so when all nodes miss a new blob at once they all ask the
 * same node, which fetches it from upstream once and streams it to them
 * (single flight across the cluster with no lock and no leader). If the
 * fetcher is unreachable the next source is tried, ending at the upstream,
 * so a dead fetcher costs one extra upstream fetch, never a failed pull.
 * Holders are ordered by the same hash, so readers of one blob spread over
 * its holders instead of all hitting the first.
 */
import { combine32, hash32 } from "../hash32.ts";

export type Source = { readonly kind: "peer"; readonly node: string; readonly why: PeerAsk } | { readonly kind: "upstream" };

/**
 * Why a peer asks this node: as a holder (serve what you have, fetch
 * nothing) or as the digest's fetcher (get it from a holder or upstream, but
 * never from the fetcher again). Bounding the hops is what keeps two nodes
 * from waiting on each other for the same digest.
 */
export type PeerAsk = "holder" | "fetcher";

/** Rendezvous (highest random weight) score of a node for a key. */
export function rendezvousScore(key: string, node: string): number {
  return combine32(hash32(key), hash32(node));
}

function byScore(key: string, nodes: readonly string[]): string[] {
  return [...nodes].sort((a, b) => rendezvousScore(key, b) - rendezvousScore(key, a) || (a < b ? -1 : a > b ? 1 : 0));
}

/** The node that fetches `key` from upstream for the whole cluster. */
export function fetcherOf(key: string, alive: readonly string[]): string | undefined {
  return byScore(key, alive)[0];
}

export interface SourceInput {
  /** The digest (or, for a tag, `repo:tag`) being fetched. */
  readonly key: string;
  readonly self: string;
  /** Alive members, self included. */
  readonly alive: readonly string[];
  /** Nodes the replicated state says hold the content. */
  readonly holders: readonly string[];
  /** Whether an upstream exists for this content (a mirror repository); pushed and built images have none. */
  readonly hasUpstream: boolean;
  /** Set when a peer asked: as a holder, nothing is fetched; as the fetcher, no other fetcher is asked. */
  readonly ask?: PeerAsk;
}

export function sourcesFor(i: SourceInput): Source[] {
  if (i.ask === "holder") return [];
  const alive = new Set(i.alive);
  const out: Source[] = [];
  const holders = i.holders.filter((h) => h !== i.self && alive.has(h));
  for (const n of byScore(i.key, holders)) out.push({ kind: "peer", node: n, why: "holder" });
  // Pushed and built content has no upstream: if no holder row has arrived yet (gossip lags the
  // deployment that names the digest), every alive peer is asked what it has.
  if (!i.hasUpstream && holders.length === 0) for (const n of byScore(i.key, i.alive.filter((a) => a !== i.self))) out.push({ kind: "peer", node: n, why: "holder" });
  if (i.hasUpstream) {
    const fetcher = fetcherOf(i.key, i.alive.includes(i.self) ? i.alive : [...i.alive, i.self]);
    if (i.ask === undefined && fetcher !== undefined && fetcher !== i.self && !out.some((s) => s.kind === "peer" && s.node === fetcher)) out.push({ kind: "peer", node: fetcher, why: "fetcher" });
    out.push({ kind: "upstream" });
  }
  return out;
}
