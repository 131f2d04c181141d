/**
 * The `registry` collection's records and keys (what registry.ts writes),
 * apart from the mutators so the state's schema can name the record type
 * without importing them.
 */
import { at, fail, isNodeId, readInt, readRecord, readString } from "../crdt/index.ts";
import { isDigest } from "../registry/digest.ts";
import { isRepoName, isTag } from "../registry/name.ts";

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

