/**
 * The registry's replicated collection (one LWW-Map, `registry`), keyed by
 * what a record is about:
 *   h/<digest>/<node>   that node holds the blob or manifest (its size)
 *   p/<node>            where that node's registry serves peers (host:port)
 *   t/<repo>:<tag>      a tag of a pushed repository, so `app:1` pushed on one
 *                       node pulls on every node
 * Holder and peer rows have one writer each (the node in the key), like
 * container rows; tags are last-writer-wins across the cluster, as a push to
 * any registry replaces the tag. Keys and values are validated on decode
 * with the registry's own grammar (digests, repository names, tags).
 */
import { lwwDeleteDelta, lwwMapEntries, lwwMapGet, lwwPutDelta, type Hlc } from "../crdt/index.ts";
import { deltaChange, type Change, type ClusterDelta, type ClusterState } from "./cluster-state.ts";
import { holderKey, parseRegistryKey, peerKey, registryTagKey, type RegistryRecord } from "./registry-record.ts";

export * from "./registry-record.ts";

export function putHolder(state: ClusterState, ts: Hlc, node: string, digest: string, size: number): Change {
  return deltaChange(state, { registry: lwwPutDelta(holderKey(digest, node), { kind: "holder", size }, ts) });
}

export function dropHolder(state: ClusterState, ts: Hlc, node: string, digest: string): Change {
  return deltaChange(state, { registry: lwwDeleteDelta(holderKey(digest, node), ts) });
}

export function putRegistryPeer(state: ClusterState, ts: Hlc, node: string, address: string): Change {
  return deltaChange(state, { registry: lwwPutDelta(peerKey(node), { kind: "peer", address }, ts) });
}

export function putRegistryTag(state: ClusterState, ts: Hlc, repo: string, tag: string, digest: string): Change {
  return deltaChange(state, { registry: lwwPutDelta(registryTagKey(repo, tag), { kind: "tag", digest }, ts) });
}

export function deleteRegistryTag(state: ClusterState, ts: Hlc, repo: string, tag: string): Change {
  return deltaChange(state, { registry: lwwDeleteDelta(registryTagKey(repo, tag), ts) });
}

/** Which nodes hold which digests. */
export function registryHolders(state: ClusterState): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [k] of lwwMapEntries(state.registry)) {
    const p = parseRegistryKey(k);
    if (p?.kind !== "holder") continue;
    const list = out.get(p.digest);
    if (list) list.push(p.node);
    else out.set(p.digest, [p.node]);
  }
  return out;
}

/** Digests a node is recorded as holding. */
export function heldBy(state: ClusterState, node: string): Set<string> {
  const out = new Set<string>();
  for (const [k] of lwwMapEntries(state.registry)) {
    const p = parseRegistryKey(k);
    if (p?.kind === "holder" && p.node === node) out.add(p.digest);
  }
  return out;
}

export function registryPeerAddress(state: ClusterState, node: string): string | undefined {
  const r = lwwMapGet(state.registry, peerKey(node));
  return r?.kind === "peer" ? r.address : undefined;
}

export interface ClusterTag {
  readonly repo: string;
  readonly tag: string;
  readonly digest: string;
  /** The HLC of the write that set it. */
  readonly ts: string;
}

export function registryTags(state: ClusterState): ClusterTag[] {
  const out: ClusterTag[] = [];
  for (const [k, v] of lwwMapEntries(state.registry)) {
    const p = parseRegistryKey(k);
    if (p?.kind === "tag" && v.kind === "tag") out.push({ repo: p.repo, tag: p.tag, digest: v.digest, ts: state.registry[k]!.ts });
  }
  return out;
}
