/**
 * Garbage collection decisions (mark and sweep over digests). Roots:
 *  - every digest a deployment uses (pinned images of deployments that
 *    exist, which covers every running container);
 *  - tags of pushed repositories (a registry keeps what users push until
 *    they delete it), but not of cache repositories (pull-through mirrors
 *    and the images `fizz up` builds), which are caches;
 *  - anything stored, pushed or pulled within the grace period;
 *  - blobs no manifest references yet, stored within the push window
 *    (a push uploads blobs before its manifest: a GC in between, even with
 *    no grace, must not take them).
 * Live = the roots and everything they reference (index → manifests →
 * config and layers), plus referrers (signatures, SBOMs) of live
 * manifests. Everything else goes: blobs, manifest entries and the tags that
 * pointed at them. Pure: the platform gathers the inventory and applies the
 * plan, and can print it (`fizz registry gc --dry-run`).
 */
import type { Digest } from "./digest.ts";

export interface GcBlob {
  readonly digest: Digest;
  readonly size: number;
  /** When it was stored, ms since the epoch. */
  readonly created: number;
  /** When it was last served (GET) or stored, ms. */
  readonly lastAccess: number;
}

export interface GcManifest {
  readonly repo: string;
  readonly digest: Digest;
  /** Digests it references: config, layers, child manifests. */
  readonly refs: readonly Digest[];
  readonly subject?: Digest;
}

export interface GcTag {
  readonly repo: string;
  readonly tag: string;
  readonly digest: Digest;
}

export interface GcInput {
  readonly now: number;
  /** Unused content younger than this (by store or last pull) stays. */
  readonly graceMs: number;
  readonly blobs: readonly GcBlob[];
  readonly manifests: readonly GcManifest[];
  readonly tags: readonly GcTag[];
  /** Digests deployments use (manifests or indexes): never removed, nor anything they reference. */
  readonly inUse: readonly Digest[];
  /** Whether a repository is a cache (pull-through or built by fizz): its tags are not roots. */
  readonly isCacheRepo: (repo: string) => boolean;
  /** Unreferenced blobs stored this recently stay whatever the grace (default 10 minutes). */
  readonly pushWindowMs?: number;
}

export type KeepReason = "in-use" | "tagged" | "recent" | "referenced";

export interface GcPlan {
  readonly deleteBlobs: readonly GcBlob[];
  readonly deleteManifests: readonly { readonly repo: string; readonly digest: Digest }[];
  readonly deleteTags: readonly GcTag[];
  readonly freedBytes: number;
  readonly keptBytes: number;
  /** Why each kept blob is kept (its first reason found). */
  readonly kept: ReadonlyMap<Digest, KeepReason>;
}

export function planGc(input: GcInput): GcPlan {
  const cutoff = input.now - input.graceMs;
  const blobByDigest = new Map(input.blobs.map((b) => [b.digest, b]));
  const recent = (d: Digest) => {
    const b = blobByDigest.get(d);
    return b !== undefined && Math.max(b.created, b.lastAccess) > cutoff;
  };
  const refsOf = new Map<Digest, Digest[]>();
  const referrersOf = new Map<Digest, Digest[]>();
  for (const m of input.manifests) {
    const r = refsOf.get(m.digest) ?? [];
    r.push(...m.refs);
    refsOf.set(m.digest, r);
    if (m.subject) {
      const list = referrersOf.get(m.subject) ?? [];
      list.push(m.digest);
      referrersOf.set(m.subject, list);
    }
  }

  const kept = new Map<Digest, KeepReason>();
  const queue: Digest[] = [];
  const mark = (d: Digest, why: KeepReason) => {
    if (kept.has(d)) return;
    kept.set(d, why);
    queue.push(d);
  };
  for (const d of input.inUse) mark(d, "in-use");
  for (const t of input.tags) if (!input.isCacheRepo(t.repo)) mark(t.digest, "tagged");
  for (const m of input.manifests) if (recent(m.digest)) mark(m.digest, "recent");
  for (const b of input.blobs) if (Math.max(b.created, b.lastAccess) > cutoff) mark(b.digest, "recent");
  const pushCutoff = input.now - (input.pushWindowMs ?? 600_000);
  const referenced = new Set<Digest>();
  for (const m of input.manifests) for (const r of m.refs) referenced.add(r);
  const manifestDigests = new Set(input.manifests.map((m) => m.digest));
  for (const b of input.blobs) if (b.created > pushCutoff && !referenced.has(b.digest) && !manifestDigests.has(b.digest)) mark(b.digest, "recent");
  while (queue.length) {
    const d = queue.pop()!;
    for (const r of refsOf.get(d) ?? []) mark(r, "referenced");
    for (const r of referrersOf.get(d) ?? []) mark(r, "referenced");
  }

  const deleteBlobs = input.blobs.filter((b) => !kept.has(b.digest));
  const deleteManifests = input.manifests.filter((m) => !kept.has(m.digest)).map((m) => ({ repo: m.repo, digest: m.digest }));
  const deleteTags = input.tags.filter((t) => !kept.has(t.digest));
  let freedBytes = 0;
  for (const b of deleteBlobs) freedBytes += b.size;
  let keptBytes = 0;
  for (const b of input.blobs) if (kept.has(b.digest)) keptBytes += b.size;
  return { deleteBlobs, deleteManifests, deleteTags, freedBytes, keptBytes, kept };
}
