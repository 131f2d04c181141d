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
import { at, fail, isNodeId, lwwDeleteDelta, lwwMapEntries, lwwMapGet, lwwPutDelta, readInt, readRecord, readString, type Hlc } from "../crdt/index.ts";
import { isDigest } from "../registry/digest.ts";
import { isRepoName, isTag } from "../registry/name.ts";
import { applyDelta, type Change, type ClusterDelta, type ClusterState } from "./cluster-state.ts";

export type RegistryRecord =
  | { readonly kind: "holder"; readonly size: number }
  | { readonly kind: "peer"; readonly address: string }
  | { readonly kind: "tag"; readonly digest: string };

export function holderKey(digest: string, node: string): string {
  return `h/${digest}/${node}`;
}

export function peerKey(node: string): string {
  return `p/${node}`;
}

export function registryTagKey(repo: string, tag: string): string {
  return `t/${repo}:${tag}`;
}

type ParsedKey = { kind: "holder"; digest: string; node: string } | { kind: "peer"; node: string } | { kind: "tag"; repo: string; tag: string };

export function parseRegistryKey(k: string): ParsedKey | undefined {
  if (k.startsWith("h/")) {
    const [digest, node, ...rest] = k.slice(2).split("/");
    return rest.length === 0 && digest && node && isDigest(digest) && isNodeId(node) ? { kind: "holder", digest, node } : undefined;
  }
  if (k.startsWith("p/")) {
    const node = k.slice(2);
    return isNodeId(node) ? { kind: "peer", node } : undefined;
  }
  if (k.startsWith("t/")) {
    const i = k.lastIndexOf(":");
    const repo = k.slice(2, i);
    const tag = k.slice(i + 1);
    return i > 2 && isRepoName(repo) && isTag(tag) ? { kind: "tag", repo, tag } : undefined;
  }
  return undefined;
}

export function checkRegistryKey(k: string, p: string): void {
  if (parseRegistryKey(k) === undefined) fail(p, "invalid registry key");
}

export function readRegistryRecord(v: unknown, path: string): RegistryRecord {
  const o = readRecord(v, path, ["kind"], ["size", "address", "digest"]);
  switch (o.kind) {
    case "holder":
      return { kind: "holder", size: readInt(o.size, at(path, "size"), 0, Number.MAX_SAFE_INTEGER) };
    case "peer":
      return { kind: "peer", address: readString(o.address, at(path, "address"), 256) };
    case "tag": {
      const d = readString(o.digest, at(path, "digest"), 200);
      if (!isDigest(d)) fail(at(path, "digest"), "expected a digest");
      return { kind: "tag", digest: d };
    }
    default:
      fail(at(path, "kind"), "expected holder, peer or tag");
  }
}

function change(prev: ClusterState, delta: ClusterDelta): Change {
  let next: ClusterState | undefined;
  return {
    delta,
    get state() {
      return (next ??= applyDelta(prev, delta));
    },
  };
}

export function putHolder(state: ClusterState, ts: Hlc, node: string, digest: string, size: number): Change {
  return change(state, { registry: lwwPutDelta(holderKey(digest, node), { kind: "holder", size }, ts) });
}

export function dropHolder(state: ClusterState, ts: Hlc, node: string, digest: string): Change {
  return change(state, { registry: lwwDeleteDelta(holderKey(digest, node), ts) });
}

export function putRegistryPeer(state: ClusterState, ts: Hlc, node: string, address: string): Change {
  return change(state, { registry: lwwPutDelta(peerKey(node), { kind: "peer", address }, ts) });
}

export function putRegistryTag(state: ClusterState, ts: Hlc, repo: string, tag: string, digest: string): Change {
  return change(state, { registry: lwwPutDelta(registryTagKey(repo, tag), { kind: "tag", digest }, ts) });
}

export function deleteRegistryTag(state: ClusterState, ts: Hlc, repo: string, tag: string): Change {
  return change(state, { registry: lwwDeleteDelta(registryTagKey(repo, tag), ts) });
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
