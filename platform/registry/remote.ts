/**
 * Where a node's registry gets what it lacks (RemoteContent): peers that
 * hold it, the digest's fetcher in the cluster, the upstream of a mirror
 * repository, in the order core/registry/sources.ts decides. One fetch per
 * digest at a time on this node: concurrent readers share an Inflight, and
 * peers that chose this node as fetcher join it too, so an upstream sees
 * one request per blob per cluster. Mirror tags are asked of the upstream
 * on every tag pull (HEAD, then GET only for a manifest not cached); when
 * the upstream cannot be reached, the cached tag is served.
 */
import {
  namespaceOf,
  regErr,
  RegistryError,
  sourcesFor,
  type Digest,
  type PeerAsk,
  type RepoName,
  type Source,
} from "../../core/registry/index.ts";
import { Inflight } from "./inflight.ts";
import type { Registry, RemoteContent } from "./registry.ts";
import { isUnreachable, type BlobAnswer, type UpstreamClient, type UpstreamTarget } from "./upstream.ts";

/** The cluster as the registry sees it; absent on a single node. */
export interface PeerNetwork {
  readonly self: string;
  /** Alive members, self included. */
  alive(): readonly string[];
  /** Nodes the replicated state says hold a digest. */
  holders(digest: Digest): readonly string[];
  /** A blob from a peer's registry, asked as a holder or as the digest's fetcher. */
  blob(node: string, repo: RepoName, digest: Digest, ask: PeerAsk): Promise<BlobAnswer | undefined>;
  /** A manifest by digest from a peer's registry. */
  manifest(node: string, repo: RepoName, digest: Digest, ask: PeerAsk): Promise<{ bytes: Buffer; mediaType: string } | undefined>;
}

export type ByteSource = "upstream" | "peer";

export interface RemoteEvents {
  /** Bytes that arrived from a source (for the peer/upstream byte metrics). */
  bytes?(from: ByteSource, n: number): void;
  /** A blob or manifest that was not here and had to be fetched. */
  miss?(kind: "blob" | "manifest", from: ByteSource | "none"): void;
  /** The upstream could not be reached and a cached tag was served instead. */
  staleTag?(repo: string, tag: string, error: Error): void;
  error?(what: string, e: unknown): void;
}

function targetOf(repo: string): UpstreamTarget | undefined {
  const ns = namespaceOf(repo);
  return ns.kind === "upstream" ? { endpoint: ns.endpoint, remote: ns.remote, host: ns.host } : undefined;
}

export class RemoteSources implements RemoteContent {
  private readonly inflight = new Map<Digest, Inflight>();
  private readonly manifestFetches = new Map<string, Promise<boolean>>();

  constructor(
    private readonly registry: Registry,
    private readonly upstream: UpstreamClient | undefined,
    private readonly peers: PeerNetwork | undefined,
    private readonly events: RemoteEvents = {},
  ) {}

  private sources(repo: RepoName, digest: Digest, ask: PeerAsk | undefined): Source[] {
    const hasUpstream = this.upstream !== undefined && targetOf(repo) !== undefined;
    if (ask === "holder") return [];
    if (!this.peers) return hasUpstream ? [{ kind: "upstream" }] : [];
    return sourcesFor({ key: digest, self: this.peers.self, alive: this.peers.alive(), holders: this.peers.holders(digest), hasUpstream, ...(ask ? { ask } : {}) });
  }

  async resolveTag(repo: RepoName, tag: string): Promise<Digest | undefined> {
    const t = targetOf(repo);
    if (!t || !this.upstream) return this.registry.meta.tag(repo, tag)?.digest;
    try {
      const head = await this.upstream.manifest(t, tag, "HEAD");
      if (!head) return undefined;
      if (head.digest && this.registry.meta.manifest(repo, head.digest) && this.registry.store.has(head.digest)) {
        if (this.registry.meta.tag(repo, tag)?.digest !== head.digest) this.registry.meta.setTag(repo, tag, head.digest, this.registry.now());
        return head.digest;
      }
      const got = await this.upstream.manifest(t, tag, "GET");
      if (!got?.bytes) return undefined;
      this.events.bytes?.("upstream", got.bytes.byteLength);
      this.events.miss?.("manifest", "upstream");
      const { digest } = this.registry.storeManifest(repo, got.bytes, got.mediaType, { tag, checkBlobs: false, ...(got.digest ? { expect: got.digest } : {}) });
      return digest;
    } catch (e) {
      const cached = this.registry.meta.tag(repo, tag);
      if (cached && isUnreachable(e)) {
        this.events.staleTag?.(repo, tag, e as Error);
        return cached.digest;
      }
      throw e;
    }
  }

  fetchManifest(repo: RepoName, digest: Digest, ask?: PeerAsk): Promise<boolean> {
    // Asked as a holder: answer with what is here, never join a fetch in flight. That fetch may
    // be waiting on the very peer asking (both missed pushed content before any holder row
    // arrived and asked each other): joining it made both wait for the 60 s headers timeout.
    if (ask === "holder") return this.fetchManifestOnce(repo, digest, ask);
    const key = `${repo}@${digest}`;
    let p = this.manifestFetches.get(key);
    if (!p) {
      p = this.fetchManifestOnce(repo, digest, ask).finally(() => this.manifestFetches.delete(key));
      this.manifestFetches.set(key, p);
    }
    return p;
  }

  private async fetchManifestOnce(repo: RepoName, digest: Digest, ask: PeerAsk | undefined): Promise<boolean> {
    // Another repository of this node may have it (a pushed image pulled through a mirror name, a re-tag).
    const elsewhere = this.registry.meta.manifestAnywhere(digest);
    const local = elsewhere && this.registry.store.readSync(digest);
    if (elsewhere && local) {
      this.registry.storeManifest(repo, local, elsewhere.mediaType, { expect: digest, checkBlobs: false });
      return true;
    }
    let lastError: unknown;
    for (const s of this.sources(repo, digest, ask)) {
      try {
        const got =
          s.kind === "peer"
            ? await this.peers!.manifest(s.node, repo, digest, s.why)
            : await this.upstream!.manifest(targetOf(repo)!, digest, "GET").then((m) => (m?.bytes ? { bytes: m.bytes, mediaType: m.mediaType } : undefined));
        if (!got) continue;
        this.registry.storeManifest(repo, got.bytes, got.mediaType, { expect: digest, checkBlobs: false });
        this.events.bytes?.(s.kind === "peer" ? "peer" : "upstream", got.bytes.byteLength);
        this.events.miss?.("manifest", s.kind === "peer" ? "peer" : "upstream");
        return true;
      } catch (e) {
        lastError = e;
        this.events.error?.(`manifest ${digest} from ${s.kind === "peer" ? `peer ${s.node}` : "upstream"}`, e);
      }
    }
    if (lastError instanceof RegistryError && lastError.spec !== "MANIFEST_INVALID" && lastError.spec !== "DIGEST_INVALID") throw lastError;
    this.events.miss?.("manifest", "none");
    return false;
  }

  fetching(digest: Digest): boolean {
    return this.inflight.has(digest);
  }

  async fetchBlob(repo: RepoName, digest: Digest, ask?: PeerAsk): Promise<Inflight | undefined> {
    // A holder serves only what it has: a fetch in flight may be waiting on the peer asking
    // (see fetchManifest), so a holder ask never joins one. Holder rows are written once a
    // blob is stored, so only the ask-every-peer fallback for pushed content lands here.
    if (ask === "holder") return undefined;
    // No await before the map is read and set: Registry.blob's synchronous store check relies on it.
    const running = this.inflight.get(digest);
    if (running) return running;
    const sources = this.sources(repo, digest, ask);
    if (sources.length === 0) return undefined;
    const inf = new Inflight(this.registry.store, digest);
    this.inflight.set(digest, inf);
    void this.fill(inf, repo, sources).finally(() => this.inflight.delete(digest));
    return inf;
  }

  /** Tries each source in turn until one delivers the whole, verified blob. */
  private async fill(inf: Inflight, repo: RepoName, sources: readonly Source[]): Promise<void> {
    let lastError: Error = regErr("BLOB_UNKNOWN", `no source has blob ${inf.digest}`, { digest: inf.digest });
    for (const s of sources) {
      const from: ByteSource = s.kind === "peer" ? "peer" : "upstream";
      let answer: BlobAnswer | undefined;
      try {
        answer = s.kind === "peer" ? await this.peers!.blob(s.node, repo, inf.digest, s.why) : await this.upstream!.blob(targetOf(repo)!, inf.digest);
      } catch (e) {
        lastError = e as Error;
        this.events.error?.(`blob ${inf.digest} from ${s.kind === "peer" ? `peer ${s.node}` : "upstream"}`, e);
        continue;
      }
      if (!answer) continue;
      // Once bytes flow to readers, another source cannot take over mid-stream.
      try {
        await inf.fill(answer.body, answer.size, (n) => this.events.bytes?.(from, n));
        this.events.miss?.("blob", from);
        this.registry.meta.touch(inf.digest, this.registry.now());
        this.registry.hooks.stored?.(inf.digest, answer.size);
        return;
      } catch (e) {
        answer.abort();
        this.events.error?.(`blob ${inf.digest} from ${s.kind === "peer" ? `peer ${s.node}` : "upstream"}`, e);
        return;
      }
    }
    this.events.miss?.("blob", "none");
    inf.fail(lastError instanceof RegistryError ? lastError : regErr("UNAVAILABLE", lastError.message));
  }

  async listTags(repo: RepoName): Promise<string[] | undefined> {
    const t = targetOf(repo);
    if (!t || !this.upstream) return undefined;
    return this.upstream.tags(t);
  }
}
