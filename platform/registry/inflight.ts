/**
 * A blob being fetched (from an upstream or a peer) into a temp file, which
 * any number of readers stream from while it grows: the first client's pull
 * is not held until the fetch ends, and clients that ask for the same blob
 * meanwhile read the same bytes instead of starting a second fetch. The
 * bytes are hashed as they are written; only a blob whose digest matches is
 * committed to the store. On a mismatch or a broken source, readers get an
 * error (their connection is cut, never cleanly ended with bad bytes).
 */
import { open, rm, type FileHandle } from "node:fs/promises";
import { createHash } from "node:crypto";
import { digestAlgorithm, type Digest } from "../../core/registry/index.ts";
import type { BlobStore } from "./blob-store.ts";

export class Inflight {
  readonly digest: Digest;
  readonly tempPath: string;
  /** Bytes written to the temp file so far. */
  written = 0;
  /** The blob's size, once the source said. */
  size: number | undefined;
  /** Set once the blob is in the store. */
  committed = false;
  failure: Error | undefined;
  /** Resolves when the blob is committed, rejects when the fetch failed. */
  readonly done: Promise<void>;
  private resolveDone!: () => void;
  private rejectDone!: (e: Error) => void;
  private wake: (() => void)[] = [];

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
    // Nobody may be awaiting `done` (all readers left): never an unhandled rejection.
    this.done.catch(() => {});
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
    let fh: FileHandle | undefined;
    try {
      fh = await open(this.tempPath, "w", 0o600);
      for await (const chunk of body) {
        if (this.written + chunk.byteLength > size) throw new Error(`the source sent more than the ${size} bytes it announced`);
        let off = 0;
        while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off, this.written + off)).bytesWritten;
        hash.update(chunk);
        this.written += chunk.byteLength;
        onBytes?.(chunk.byteLength);
        this.notify();
      }
      if (this.written !== size) throw new Error(`the source sent ${this.written} of the ${size} bytes it announced`);
      await fh.close();
      fh = undefined;
      await this.store.commit(this.tempPath, this.digest, `${digestAlgorithm(this.digest)}:${hash.digest("hex")}`, size);
      this.committed = true;
      this.resolveDone();
      this.notify();
    } catch (e) {
      await fh?.close().catch(() => {});
      await rm(this.tempPath, { force: true }).catch(() => {});
      this.fail(e as Error);
      throw e;
    }
  }

  fail(e: Error): void {
    if (this.failure || this.committed) return;
    this.failure = e;
    this.rejectDone(e);
    this.notify();
  }

  /**
   * Streams bytes [start, end] (inclusive) as they arrive. Opens the temp
   * file while the fetch runs, or the stored blob once it is committed (an
   * open descriptor keeps reading across the rename).
   */
  async *read(start: number, end: number): AsyncGenerator<Uint8Array> {
    let fh: FileHandle | undefined;
    try {
      while (!fh) {
        if (this.failure) throw this.failure;
        const path = this.committed ? this.store.path(this.digest) : this.tempPath;
        try {
          fh = await open(path, "r");
        } catch {
          // Not created yet, or renamed between the check and the open.
          if (!this.committed) await Promise.race([this.changed(), new Promise((r) => setTimeout(r, 50))]);
          else throw new Error(`blob ${this.digest} vanished from the store`);
        }
      }
      let pos = start;
      const buf = Buffer.allocUnsafe(1 << 20);
      while (pos <= end) {
        if (this.failure) throw this.failure;
        const avail = this.committed ? end + 1 : Math.min(this.written, end + 1);
        if (pos >= avail) {
          await this.changed();
          continue;
        }
        const want = Math.min(buf.length, avail - pos);
        const { bytesRead } = await fh.read(buf, 0, want, pos);
        if (bytesRead === 0) {
          if (this.committed) throw new Error(`blob ${this.digest} is shorter than expected`);
          await this.changed();
          continue;
        }
        pos += bytesRead;
        // A copy: the buffer is reused for the next read.
        yield Buffer.from(buf.subarray(0, bytesRead));
      }
      // The last bytes were only verified when the whole blob was: wait for the verdict.
      if (!this.committed) await this.done;
    } finally {
      await fh?.close().catch(() => {});
    }
  }
}
