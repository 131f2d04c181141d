/**
 * One node's registry, transport-free: the distribution API's operations
 * over the blob store, the metadata and the upload sessions, with the
 * protocol rules of core/registry. Content this node lacks is asked of a
 * `RemoteContent` (pull-through to upstreams, peers in the cluster), which
 * stores what it fetches through `storeManifest` and `Inflight`s. A client
 * that reads an image manifest whose blobs are not all here gets them
 * fetched ahead (prefetch.ts). `hooks` tell the agent what was stored,
 * tagged and deleted, so the cluster can learn who holds which digest.
 * http.ts puts this on HTTP.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import {
  DEFAULT_CATALOG_PAGE,
  DEFAULT_PREFETCH,
  manifestKind,
  namespaceOf,
  paginate,
  parseManifest,
  prefetchBlobs,
  referencedDigests,
  referrerDescriptor,
  referrersIndex,
  regErr,
  requiredBlobs,
  type Digest,
  type Page,
  type PageQuery,
  type ParsedManifest,
  type PeerAsk,
  type Reference,
  type ReferrersAnswer,
  type RepoName,
} from "../../core/registry/index.ts";
import { BlobStore } from "./blob-store.ts";
import type { Inflight } from "./inflight.ts";
import { RegistryMeta, type ManifestRow } from "./meta.ts";
import { Prefetcher } from "./prefetch.ts";
import { Uploads } from "./uploads.ts";

/** Where content this node lacks comes from. */
export interface RemoteContent {
  /** The digest a tag points at, for repositories whose tags live elsewhere (mirrors). Undefined: unknown there. */
  resolveTag(repo: RepoName, tag: string): Promise<Digest | undefined>;
  /**
   * Brings manifest `digest` into `repo` (via registry.storeManifest); false
   * when no source has it. `ask`: a peer asked this node (as holder:
   * fetch nothing; as fetcher: ask no other fetcher).
   */
  fetchManifest(repo: RepoName, digest: Digest, ask?: PeerAsk): Promise<boolean>;
  /** Starts or joins the fetch of a blob; undefined when no source has it. */
  fetchBlob(repo: RepoName, digest: Digest, ask?: PeerAsk): Promise<Inflight | undefined>;
  /** Whether a fetch of the blob is under way on this node (fetching ahead skips it). */
  fetching?(digest: Digest): boolean;
  /** Tags of a mirror repository at its upstream (undefined: use what is cached). */
  listTags?(repo: RepoName): Promise<string[] | undefined>;
}

/** What the agent hears about (replicated holder records, pushed tags). */
export interface RegistryHooks {
  stored?(digest: Digest, size: number): void;
  deleted?(digest: Digest): void;
  tagged?(repo: RepoName, tag: string, digest: Digest): void;
  untagged?(repo: RepoName, tag: string): void;
  /** A read: `hit` when it was served from this node's store. */
  served?(kind: "blob" | "manifest", hit: boolean): void;
  /** A blob fetched ahead of the client (prefetch.ts): verified, or `error` when it failed (nothing else broke). */
  prefetched?(digest: Digest, error?: unknown): void;
}

export interface StoredManifest {
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size: number;
}

export type BlobSource = { readonly kind: "stored"; readonly size: number; readonly path: string } | { readonly kind: "inflight"; readonly inflight: Inflight };

export interface RegistryOptions {
  /** Directory for blobs, uploads and meta.db. */
  readonly root: string;
  readonly now?: () => number;
  readonly hooks?: RegistryHooks;
  /**
   * Blobs fetched ahead at a time when a client reads an image manifest
   * whose blobs are not all here (the agent's `registry.prefetch`); 0: never.
   * Default DEFAULT_PREFETCH.
   */
  readonly prefetch?: number;
}

function denyMirrorWrite(repo: string, what: string): void {
  const ns = namespaceOf(repo);
  if (ns.kind === "upstream") {
    throw regErr("DENIED", `${repo} mirrors ${ns.host}/${ns.remote}; ${what} is not allowed in a mirror (push to a name without a registry host, e.g. 'team/app')`, { repository: repo });
  }
}

function sha256(bytes: Uint8Array): Digest {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}` as Digest;
}

export class Registry {
  readonly store: BlobStore;
  readonly meta: RegistryMeta;
  readonly uploads: Uploads;
  readonly now: () => number;
  remote: RemoteContent | undefined;
  hooks: RegistryHooks;
  readonly prefetcher: Prefetcher;

  constructor(o: RegistryOptions) {
    this.now = o.now ?? Date.now;
    this.store = new BlobStore(o.root);
    this.meta = new RegistryMeta(join(o.root, "meta.db"));
    this.uploads = new Uploads(this.store, this.meta, o.root, this.now);
    this.hooks = o.hooks ?? {};
    this.prefetcher = new Prefetcher({
      concurrency: o.prefetch ?? DEFAULT_PREFETCH,
      has: (d) => this.store.has(d),
      fetching: (d) => this.remote?.fetching?.(d) ?? false,
      fetch: async (repo, d) => this.remote?.fetchBlob(repo, d),
      events: { fetched: (d) => this.hooks.prefetched?.(d), failed: (d, e) => this.hooks.prefetched?.(d, e) },
    });
  }

  close(): void {
    this.prefetcher.close();
    this.meta.close();
  }

  // ---- manifests ----

  /** The digest a reference names in a repository, asking the remote for tags it owns. */
  async resolve(repo: RepoName, ref: Reference): Promise<Digest> {
    if (ref.kind === "digest") return ref.digest;
    if (this.remote && namespaceOf(repo).kind === "upstream") {
      const d = await this.remote.resolveTag(repo, ref.tag);
      if (d) return d;
    }
    const t = this.meta.tag(repo, ref.tag);
    if (t) return t.digest;
    throw regErr(this.meta.repoExists(repo) ? "MANIFEST_UNKNOWN" : "NAME_UNKNOWN", `${repo}:${ref.tag} is not in this registry`, { repository: repo, tag: ref.tag });
  }

  /** A manifest's row, fetching it when this node lacks it. */
  async manifestRow(repo: RepoName, ref: Reference, ask?: PeerAsk): Promise<ManifestRow> {
    const digest = await this.resolve(repo, ref);
    let row = this.meta.manifest(repo, digest);
    if ((!row || !this.store.has(digest)) && this.remote) {
      if (await this.remote.fetchManifest(repo, digest, ask)) row = this.meta.manifest(repo, digest);
    }
    if (!row || !this.store.has(digest)) throw regErr("MANIFEST_UNKNOWN", `manifest ${digest} is not in ${repo}`, { repository: repo, digest });
    return row;
  }

  /**
   * A manifest's bytes. `o.prefetch`: the reader is a client that reads the
   * blobs next (a GET, not a HEAD that only checks a tag, nor a peer): the
   * blobs of an image manifest that are not here start coming at once.
   */
  async getManifest(repo: RepoName, ref: Reference, ask?: PeerAsk, o: { prefetch?: boolean } = {}): Promise<StoredManifest & { bytes: Buffer }> {
    const had = ref.kind === "digest" ? this.meta.manifest(repo, ref.digest) !== undefined && this.store.has(ref.digest) : undefined;
    const row = await this.manifestRow(repo, ref, ask);
    this.hooks.served?.("manifest", had ?? true);
    const bytes = this.store.readSync(row.digest);
    if (!bytes) throw regErr("MANIFEST_UNKNOWN", `manifest ${row.digest} is not in ${repo}`);
    this.meta.touch(row.digest, this.now());
    if (o.prefetch && ask === undefined) this.prefetch(repo, row, bytes);
    return { digest: row.digest, mediaType: row.mediaType, size: bytes.byteLength, bytes };
  }

  /** Fetches ahead the blobs of an image manifest that are not here (none for an index). Never throws. */
  private prefetch(repo: RepoName, row: ManifestRow, bytes: Buffer): void {
    if (!this.remote || manifestKind(row.mediaType) !== "image") return;
    // A warm read costs a stat per blob; the manifest is parsed only when one is missing.
    if (row.refs.every((d) => this.store.has(d))) return;
    let blobs: Digest[];
    try {
      blobs = prefetchBlobs(parseManifest(bytes, row.mediaType));
    } catch {
      return;
    }
    this.prefetcher.want(repo, blobs);
  }

  /**
   * Validates and stores manifest bytes as they are (PUT, or fetched from a
   * source). Every blob it needs must be here, every child manifest too; a
   * digest reference must be the bytes' digest. Tags `tag` when given.
   */
  storeManifest(repo: RepoName, bytes: Uint8Array, contentType: string | undefined, o: { tag?: string; expect?: Digest; checkBlobs?: boolean } = {}): { digest: Digest; parsed: ParsedManifest } {
    const parsed = parseManifest(bytes, contentType);
    const digest = o.expect?.startsWith("sha512:") ? (`sha512:${createHash("sha512").update(bytes).digest("hex")}` as Digest) : sha256(bytes);
    if (o.expect && o.expect !== digest) {
      throw regErr("DIGEST_INVALID", `the manifest's bytes have digest ${digest}, not ${o.expect}`, { expected: o.expect, actual: digest });
    }
    if (o.checkBlobs !== false) {
      const missing = [...requiredBlobs(parsed).map((b) => b.digest), ...parsed.manifests.map((m) => m.digest)].filter((d) => !this.store.has(d));
      if (missing.length) {
        throw regErr("MANIFEST_BLOB_UNKNOWN", `the manifest references ${missing.length} blob(s) or manifest(s) this registry does not have, e.g. ${missing[0]}; push them first`, { missing: missing.slice(0, 20) });
      }
    }
    this.store.putBytesSync(bytes, digest.startsWith("sha512:") ? "sha512" : "sha256");
    const now = this.now();
    this.meta.putManifest(
      {
        repo,
        digest,
        mediaType: parsed.mediaType,
        size: bytes.byteLength,
        refs: referencedDigests(parsed),
        ...(parsed.subject ? { subject: parsed.subject.digest, referrer: referrerDescriptor(parsed, digest, bytes.byteLength) } : {}),
        created: now,
      },
      o.tag,
    );
    this.meta.touch(digest, now);
    this.hooks.stored?.(digest, bytes.byteLength);
    if (o.tag !== undefined) this.hooks.tagged?.(repo, o.tag, digest);
    return { digest, parsed };
  }

  putManifest(repo: RepoName, ref: Reference, bytes: Uint8Array, contentType: string | undefined): { digest: Digest; subject?: Digest } {
    denyMirrorWrite(repo, "pushing");
    const r = this.storeManifest(repo, bytes, contentType, ref.kind === "tag" ? { tag: ref.tag } : { expect: ref.digest });
    return { digest: r.digest, ...(r.parsed.subject ? { subject: r.parsed.subject.digest } : {}) };
  }

  deleteManifest(repo: RepoName, ref: Reference): void {
    denyMirrorWrite(repo, "deleting");
    if (ref.kind === "tag") {
      if (!this.meta.deleteTag(repo, ref.tag)) throw regErr("MANIFEST_UNKNOWN", `${repo}:${ref.tag} is not in this registry`);
      this.hooks.untagged?.(repo, ref.tag);
      return;
    }
    const tags = this.meta.tags(repo).filter((t) => this.meta.tag(repo, t)?.digest === ref.digest);
    if (!this.meta.deleteManifest(repo, ref.digest)) throw regErr("MANIFEST_UNKNOWN", `manifest ${ref.digest} is not in ${repo}`);
    for (const t of tags) this.hooks.untagged?.(repo, t);
  }

  // ---- blobs ----

  /** Where to read a blob from: the store, or a fetch in flight. */
  async blob(repo: RepoName, digest: Digest, ask?: PeerAsk): Promise<BlobSource> {
    // A fetch of this blob may commit while the stat is under way and then leave the remote's
    // in-flight map: the stat missed it and no fetch is left to join, so a second one started,
    // from the upstream when this node is the digest's fetcher. Looked at again synchronously,
    // right before the remote is asked (its join-or-start runs in the same turn), it cannot be
    // missed: the blob is in the store before its fetch leaves the map.
    const info = (await this.store.stat(digest)) ?? this.store.statSync(digest);
    if (info) {
      this.meta.touch(digest, this.now());
      this.hooks.served?.("blob", true);
      return { kind: "stored", size: info.size, path: this.store.path(digest) };
    }
    const inflight = this.remote ? await this.remote.fetchBlob(repo, digest, ask) : undefined;
    if (!inflight) throw regErr("BLOB_UNKNOWN", `blob ${digest} is not in this registry`, { digest });
    this.meta.touch(digest, this.now());
    return { kind: "inflight", inflight };
  }

  /** DELETE of a blob: refused while a manifest still references it (delete the manifest first). */
  deleteBlob(repo: RepoName, digest: Digest): void {
    denyMirrorWrite(repo, "deleting");
    if (!this.store.has(digest)) throw regErr("BLOB_UNKNOWN", `blob ${digest} is not in this registry`, { digest });
    const user = this.meta.inUseByManifest(digest);
    if (user) throw regErr("DENIED", `blob ${digest} is still referenced by manifest ${user.digest} in ${user.repo}; delete that manifest first`, { digest, manifest: user.digest, repository: user.repo });
    this.store.delete(digest);
    this.meta.forgetAccess(digest);
    this.hooks.deleted?.(digest);
  }

  // ---- uploads ----

  startUpload(repo: RepoName): string {
    denyMirrorWrite(repo, "pushing");
    return this.uploads.create(repo);
  }

  /** Cross-repository mount: every blob of this registry is visible to every repository, so a stored blob mounts. */
  mount(repo: RepoName, digest: Digest): boolean {
    denyMirrorWrite(repo, "pushing");
    return this.store.has(digest);
  }

  async finishUpload(repo: RepoName, id: string, digest: Digest): Promise<number> {
    const size = await this.uploads.finish(repo, id, digest);
    this.meta.touch(digest, this.now());
    this.hooks.stored?.(digest, size);
    return size;
  }

  // ---- lists ----

  async tags(repo: RepoName, q: PageQuery): Promise<Page> {
    let all = this.meta.tags(repo);
    if (this.remote?.listTags && namespaceOf(repo).kind === "upstream") {
      const up = await this.remote.listTags(repo).catch(() => undefined);
      if (up) all = [...new Set([...all, ...up])];
    } else if (!this.meta.repoExists(repo)) {
      throw regErr("NAME_UNKNOWN", `repository ${repo} is not in this registry`, { repository: repo });
    }
    return paginate(all, q);
  }

  catalog(q: PageQuery): Page {
    return paginate(this.meta.repos(), q, DEFAULT_CATALOG_PAGE);
  }

  referrers(repo: RepoName, subject: Digest, artifactType?: string | null): ReferrersAnswer {
    return referrersIndex(this.meta.referrers(repo, subject), artifactType);
  }
}
