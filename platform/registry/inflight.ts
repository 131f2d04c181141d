/**
 * A blob being fetched (from an upstream or a peer) into a temp file, which
 * any number of readers stream from while it grows: the first client's pull
 * is not held until the fetch ends, and clients that ask for the same blob
 * meanwhile read the same bytes instead of starting a second fetch. The
 * bytes are hashed as they are written; only a blob whose digest matches is
 * committed to the store. On a mismatch or a broken source, readers get an
 * error (their connection is cut, never cleanly ended with bad bytes).
 *
 * Readers that keep up are handed each chunk as it arrives (no read back
 * from the file); a reader that starts late, asks for a range, or falls
 * more than a few MB behind reads from the file until it has caught up.
 * That keeps a cold pull through the cache at the upstream's own speed.
 */
import { closeSync, openSync, writeSync } from "node:fs";
import { open, rm, type FileHandle } from "node:fs/promises";
import { createHash } from "node:crypto";
import { checkClose, digestAlgorithm, type Digest } from "../../core/registry/index.ts";
import type { BlobStore } from "./blob-store.ts";

/**
 * Bytes written to the temp file between write-backs (BlobStore.writeBack:
 * an fdatasync on the thread pool, at most one at a time, not awaited by the
 * writer), so the disk takes the blob while it streams in and the commit's
 * own sync has only the tail left. Without them the whole blob went to disk
 * at its end, the very moment the client that read it syncs its own copy
 * (skopeo fsyncs each blob before asking for the next): the two flushes
 * shared the disk and skopeo's took twice as long, 50-59 ms against 27-29
 * for a 42 MB layer (docs/ENGINEERING.md, the registry's cold path).
 */
export const WRITEBACK_BYTES = 4 * 1024 * 1024;

/** Bytes queued for one live reader before it is left to read from the file. */
const LIVE_QUEUE_BYTES = 8 * 1024 * 1024;

interface Reader {
  /** Next byte this reader yields. */
  pos: number;
  /** Chunks handed over live, in order, starting at `pos`. */
  queue: Uint8Array[];
  queued: number;
}

export class Inflight {
  readonly digest: Digest;
  readonly tempPath: string;
  /** Bytes written to the temp file so far. */
  written = 0;
  /** The blob's size, once the source said. */
  size: number | undefined;
  /** Set once every byte arrived and they hash to the digest (readers may end; the commit is still flushing). */
  verified = false;
  /** Set once the blob is in the store. */
  committed = false;
  failure: Error | undefined;
  /** Resolves when the bytes are verified, rejects when the fetch failed. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (e: Error) => void;
  /** Resolves once the blob is in the store (after `done`), rejects when it will not be. */
  readonly stored: Promise<void>;
  private resolveStored!: () => void;
  private rejectStored!: (e: Error) => void;
  private wake: (() => void)[] = [];
  private readonly readers = new Set<Reader>();

  constructor(
    private readonly store: BlobStore,
    digest: Digest,
  ) {
    this.digest = digest;
    this.tempPath = store.tempPath("fetch");
    this.done = new Promise<void>((res, rej) => {
      this.resolveDone = res;
      this.rejectDone = rej;
    });
    this.stored = new Promise<void>((res, rej) => {
      this.resolveStored = res;
      this.rejectStored = rej;
    });
    // Nobody may be awaiting `done` (all readers left): never an unhandled rejection.
    this.done.catch(() => {});
    this.stored.catch(() => {});
  }

  private notify(): void {
    const w = this.wake;
    this.wake = [];
    for (const f of w) f();
  }

  private changed(): Promise<void> {
    return new Promise((r) => this.wake.push(r));
  }

  /** Waits until the size is known (or the fetch failed). */
  async sizeKnown(): Promise<number> {
    while (this.size === undefined && !this.failure) await this.changed();
    if (this.failure) throw this.failure;
    return this.size!;
  }

  /**
   * Writes the source's body into the temp file, hashing it, then commits
   * it to the store. `size` is what the source announced. Returns when the
   * blob is committed; throws (and fails every reader) otherwise.
   */
  async fill(body: AsyncIterable<Uint8Array>, size: number, onBytes?: (n: number) => void): Promise<void> {
    this.size = size;
    this.notify();
    const hash = createHash(digestAlgorithm(this.digest));
    let fd: number | undefined;
    // Write-back in flight (at most one), how far the last one started, and its error.
    let flushing: Promise<void> | undefined;
    let flushedTo = 0;
    let flushError: Error | undefined;
    try {
      fd = openSync(this.tempPath, "w", 0o600);
      for await (const chunk of body) {
        const at = this.written;
        if (at + chunk.byteLength > size) throw new Error(`the source sent more than the ${size} bytes it announced`);
        // Page-cache writes: a synchronous write costs less than a thread-pool round trip per chunk.
        let off = 0;
        while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off, at + off);
        hash.update(chunk);
        for (const r of this.readers) {
          if (r.pos + r.queued === at && r.queued < LIVE_QUEUE_BYTES) {
            r.queue.push(chunk);
            r.queued += chunk.byteLength;
          }
        }
        this.written = at + chunk.byteLength;
        if (!flushing && this.written - flushedTo >= WRITEBACK_BYTES) {
          flushedTo = this.written;
          flushing = this.store
            .writeBack(fd)
            .catch((e: Error) => void (flushError ??= e))
            .finally(() => (flushing = undefined));
        }
        onBytes?.(chunk.byteLength);
        this.notify();
      }
      if (this.written !== size) throw new Error(`the source sent ${this.written} of the ${size} bytes it announced`);
      const actual = `${digestAlgorithm(this.digest)}:${hash.digest("hex")}`;
      checkClose(this.digest, actual, size, "the content the source sent");
      // Readers have the right bytes now; making them durable (fsync, rename) need not hold them.
      this.verified = true;
      this.resolveDone();
      this.notify();
      // The descriptor stays open until no write-back uses it (its number could be reused).
      await flushing;
      if (flushError) throw new Error(`writing blob ${this.digest} to disk failed: ${flushError.message}`);
      closeSync(fd);
      fd = undefined;
      await this.store.commit(this.tempPath, this.digest, actual, size, "the content the source sent");
      this.committed = true;
      this.resolveStored();
      this.notify();
    } catch (e) {
      await flushing;
      if (fd !== undefined) closeSync(fd);
      await rm(this.tempPath, { force: true }).catch(() => {});
      this.fail(e as Error);
      throw e;
    }
  }

  fail(e: Error): void {
    if (this.failure || this.committed) return;
    this.failure = e;
    // Readers that already ended have their (verified) bytes; those still reading the file stop.
    if (!this.verified) this.rejectDone(e);
    this.rejectStored(e);
    this.notify();
  }

  /**
   * Streams bytes [start, end] (inclusive) as they arrive: chunks handed
   * over live while this reader keeps up, else read from the temp file (or
   * the stored blob once committed: an open descriptor keeps reading across
   * the rename).
   */
  async *read(start: number, end: number): AsyncGenerator<Uint8Array> {
    const r: Reader = { pos: start, queue: [], queued: 0 };
    this.readers.add(r);
    let fh: FileHandle | undefined;
    try {
      while (r.pos <= end) {
        if (this.failure) throw this.failure;
        // Small pieces make many small socket writes: gather a few hundred kB unless the blob is complete.
        if (r.queue.length && r.queued < 256 * 1024 && !this.verified && r.pos + r.queued <= end && !this.failure) {
          await this.changed();
          if (r.queued < 256 * 1024 && !this.verified) continue;
        }
        if (r.queue.length) {
          // Many small network chunks make many small socket writes: hand them on in one piece (up to 1 MB).
          let n = 0;
          let k = 0;
          while (k < r.queue.length && (k === 0 || n + r.queue[k]!.byteLength <= 1 << 20)) n += r.queue[k++]!.byteLength;
          const taken = r.queue.splice(0, k);
          r.queued -= n;
          const joined = taken.length === 1 ? taken[0]! : Buffer.concat(taken, n);
          const part = r.pos + joined.byteLength > end + 1 ? joined.subarray(0, end + 1 - r.pos) : joined;
          r.pos += part.byteLength;
          yield part;
          continue;
        }
        const avail = this.verified ? end + 1 : Math.min(this.written, end + 1);
        if (r.pos >= avail) {
          await this.changed();
          continue;
        }
        fh ??= await this.openFile();
        const buf = Buffer.allocUnsafe(Math.min(1 << 20, avail - r.pos));
        const { bytesRead } = await fh.read(buf, 0, buf.length, r.pos);
        if (bytesRead === 0) throw new Error(`blob ${this.digest} is shorter than expected`);
        r.pos += bytesRead;
        // No chunk was queued meanwhile: any that arrived starts at or past what this read covered.
        yield bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      }
      // The last bytes were only verified when the whole blob was: wait for the verdict.
      if (!this.verified) await this.done;
    } finally {
      this.readers.delete(r);
      await fh?.close().catch(() => {});
    }
  }

  private async openFile(): Promise<FileHandle> {
    for (;;) {
      if (this.failure) throw this.failure;
      const stored = this.committed;
      try {
        return await open(stored ? this.store.path(this.digest) : this.tempPath, "r");
      } catch {
        // Only the stored blob missing is an error. The temp file missing means the commit
        // renamed it while the open was under way (`committed` may already be set by the time
        // the open fails): the next loop opens the stored blob.
        if (stored) throw new Error(`blob ${this.digest} vanished from the store`);
        if (!this.committed) await Promise.race([this.changed(), new Promise((r) => setTimeout(r, 5))]);
      }
    }
  }
}
