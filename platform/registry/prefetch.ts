/**
 * Fetching ahead: the blobs of an image manifest a client just read, which
 * this node lacks, are fetched in the background, `concurrency` at a time,
 * in the order given (core/registry/prefetch.ts decides which). Each goes
 * through the same join-or-start as a client's request (RemoteSources:
 * holders, the digest's fetcher, the upstream, one fetch per digest), so a
 * client asking for a blob being fetched ahead joins that fetch, and a blob
 * a client is already fetching is skipped here: nothing is fetched twice.
 * The bytes land through Inflight (temp file, digest check, rename), as on
 * the cold path. A failure is only reported (`events.failed`): the client's
 * own request for that blob starts a fetch of its own, with its own errors.
 */
import type { Digest, RepoName } from "../../core/registry/index.ts";
import type { Inflight } from "./inflight.ts";

/** Blobs waiting at most; more are dropped (a client's request still fetches them). */
const MAX_QUEUED = 1024;

export interface PrefetchDeps {
  /** Blobs fetched at a time; 0: never fetch ahead. */
  readonly concurrency: number;
  /** Whether the blob is in the store. */
  has(digest: Digest): boolean;
  /** Whether a fetch of the blob is under way on this node. */
  fetching(digest: Digest): boolean;
  /** Starts (or joins) the fetch of a blob, as a client's request would; undefined when no source has it. */
  fetch(repo: RepoName, digest: Digest): Promise<Inflight | undefined>;
  readonly events?: PrefetchEvents;
}

export interface PrefetchEvents {
  /** A blob fetched ahead is in the store. */
  fetched?(digest: Digest): void;
  /** A fetch ahead failed, or no source had the blob. */
  failed?(digest: Digest, e: unknown): void;
}

export class Prefetcher {
  private readonly queue: { repo: RepoName; digest: Digest }[] = [];
  private readonly queued = new Set<Digest>();
  /** Fetches ahead holding a slot: their bytes are still coming. */
  private running = 0;
  /** Fetches ahead not yet stored (a slot is freed once the bytes are in and verified; the commit's sync follows). */
  private unsettled = 0;
  private closed = false;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly d: PrefetchDeps) {}

  /** Queues the blobs of `repo` this node neither holds nor is fetching; fetching starts at once when a slot is free. */
  want(repo: RepoName, digests: readonly Digest[]): void {
    if (this.closed || this.d.concurrency <= 0) return;
    for (const digest of digests) {
      if (this.queued.has(digest) || this.queue.length >= MAX_QUEUED || this.d.has(digest) || this.d.fetching(digest)) continue;
      this.queued.add(digest);
      this.queue.push({ repo, digest });
    }
    this.pump();
  }

  /** Blobs waiting, being fetched ahead or being stored. */
  get pending(): number {
    return this.queue.length + this.unsettled;
  }

  /** Resolves when nothing is waiting, being fetched ahead or being stored (tests, shutdown). */
  idle(): Promise<void> {
    return this.pending === 0 ? Promise.resolve() : new Promise((r) => this.idleWaiters.push(r));
  }

  /** Drops what is waiting and starts nothing more; fetches under way finish on their own. */
  close(): void {
    this.closed = true;
    for (const q of this.queue) this.queued.delete(q.digest);
    this.queue.length = 0;
    this.settle();
  }

  private pump(): void {
    while (!this.closed && this.running < this.d.concurrency && this.queue.length) {
      const next = this.queue.shift()!;
      this.running++;
      this.unsettled++;
      let freed = false;
      const free = () => {
        if (freed) return;
        freed = true;
        this.running--;
        this.pump();
      };
      void this.one(next.repo, next.digest, free).finally(() => {
        free();
        this.unsettled--;
        this.queued.delete(next.digest);
        this.settle();
      });
    }
  }

  private async one(repo: RepoName, digest: Digest, free: () => void): Promise<void> {
    // Looked at again when its turn comes: a client may have fetched it meanwhile, or be fetching it
    // (its fetch needs no slot here). Synchronous up to fetch's join-or-start, like Registry.blob.
    if (this.d.has(digest) || this.d.fetching(digest)) return;
    try {
      const inf = await this.d.fetch(repo, digest);
      if (!inf) throw new Error(`no source has blob ${digest}`);
      // Every byte is in and verified: the link is free for the next blob (a client that reads one
      // at a time is syncing this one now). The commit's own sync and rename need no slot.
      await inf.done;
      free();
      await inf.stored;
      this.d.events?.fetched?.(digest);
    } catch (e) {
      this.d.events?.failed?.(digest, e);
    }
  }

  private settle(): void {
    if (this.pending !== 0) return;
    const w = this.idleWaiters;
    this.idleWaiters = [];
    for (const f of w) f();
  }
}
