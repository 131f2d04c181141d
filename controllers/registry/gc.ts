/**
 * Garbage collection of the node's registry: gathers the inventory (blobs
 * with their store and last-pull times, manifests, tags), what is in use
 * (the pins of every deployment this node knows, and the images of the
 * containers its engine has, running or not), asks core/registry/gc.ts what
 * to remove, and removes it (or, dry, only reports it). Expired upload
 * sessions go too.
 */
import type { Project } from "../../core/compose/model.ts";
import { isCacheRepo, isDigest, planGc, type Digest, type GcPlan } from "../../core/registry/index.ts";
import type { Registry } from "../../platform/registry/registry.ts";
import { pinOf } from "./images.ts";

export interface GcReport {
  readonly dryRun: boolean;
  readonly graceMs: number;
  readonly removed: { readonly blobs: number; readonly manifests: number; readonly tags: number; readonly uploads: number };
  readonly freedBytes: number;
  readonly keptBytes: number;
  readonly keptBlobs: number;
  /** What went (or would go), for `fizz registry gc --dry-run`. */
  readonly items: readonly { readonly kind: "blob" | "manifest" | "tag"; readonly what: string; readonly size?: number }[];
}

/** Pinned digests of these projects (every service, any node). */
export function pinnedDigests(projects: Iterable<Project>): Digest[] {
  const out: Digest[] = [];
  for (const p of projects) {
    for (const s of Object.values(p.services ?? {})) {
      const pin = pinOf(s);
      if (pin && isDigest(pin.digest)) out.push(pin.digest);
    }
  }
  return out;
}

export function runGc(registry: Registry, o: { now: number; graceMs: number; dryRun: boolean; inUse: readonly Digest[]; engineImageIds: readonly string[]; onRemoved?: (d: Digest) => void }): GcReport {
  const access = registry.meta.accessTimes();
  const blobs = registry.store.list().map((b) => ({ digest: b.digest, size: b.size, created: b.stored, lastAccess: access.get(b.digest) ?? 0 }));
  const manifests = registry.meta.allManifests().map((m) => ({ repo: m.repo, digest: m.digest, refs: m.refs, ...(m.subject ? { subject: m.subject } : {}) }));
  const tags = registry.meta.allTags();
  // Images the engine has (containers of any state keep theirs): their manifests are in use too.
  const engineIds = new Set(o.engineImageIds);
  const inUse = [...o.inUse, ...manifests.filter((m) => m.refs.some((r) => engineIds.has(r))).map((m) => m.digest)];
  const plan: GcPlan = planGc({ now: o.now, graceMs: o.graceMs, blobs, manifests, tags, inUse, isCacheRepo });
  const items: GcReport["items"][number][] = [
    ...plan.deleteTags.map((t) => ({ kind: "tag" as const, what: `${t.repo}:${t.tag}` })),
    ...plan.deleteManifests.map((m) => ({ kind: "manifest" as const, what: `${m.repo}@${m.digest}` })),
    ...plan.deleteBlobs.map((b) => ({ kind: "blob" as const, what: b.digest, size: b.size })),
  ];
  let uploads = 0;
  let removedBlobs = plan.deleteBlobs.length;
  let freedBytes = plan.freedBytes;
  if (!o.dryRun) {
    removedBlobs = 0;
    freedBytes = 0;
    for (const t of plan.deleteTags) registry.meta.deleteTag(t.repo, t.tag);
    for (const m of plan.deleteManifests) registry.meta.deleteManifest(m.repo, m.digest);
    for (const b of plan.deleteBlobs) {
      // A manifest stored since the inventory was read keeps its blobs.
      if (registry.meta.inUseByManifest(b.digest)) continue;
      if (registry.store.delete(b.digest)) {
        removedBlobs++;
        freedBytes += b.size;
        registry.meta.forgetAccess(b.digest);
        o.onRemoved?.(b.digest);
      }
    }
    uploads = registry.uploads.expire();
  }
  return {
    dryRun: o.dryRun,
    graceMs: o.graceMs,
    removed: { blobs: removedBlobs, manifests: plan.deleteManifests.length, tags: plan.deleteTags.length, uploads },
    freedBytes,
    keptBytes: plan.keptBytes,
    keptBlobs: plan.kept.size,
    items,
  };
}
