/**
 * The digest of a blob's temp file while it is being written. A cold pull's
 * main thread receives, writes and serves every byte; sha256 was 0.75 ms of
 * its ~3.1 ms per MB. For a large blob the hash runs on a worker thread that
 * reads what was written back from the page cache (pread into one reused
 * buffer) as the writer reports progress, so the main thread only posts a
 * small message per MB. What is hashed is the file as stored, which is what
 * the commit renames into the store.
 *
 * One worker thread serves every blob of the process (file-hasher's
 * HashThread). The worker's source is a string run from a blob: URL, so it needs no file
 * of its own: the same code works under Bun, in the compiled executable and
 * under Deno. Runtimes without a global Worker (Node) and small blobs hash
 * in place, from the chunks as they are written.
 */
import { createHash, type Hash } from "node:crypto";
import { setTimeout as nodeTimeout } from "node:timers";

export interface FileHasher {
  /** `chunk` was written; the file now holds bytes [0, written). */
  wrote(chunk: Uint8Array, written: number): void;
  /** Every one of the file's `size` bytes is written: the hex digest of its bytes. */
  digest(size: number): Promise<string>;
  /** Stops (the fill failed or the digest was taken); idempotent. */
  close(): void;
}

/** A blob this large or larger is hashed on a worker thread (when the runtime has Worker). */
export const WORKER_HASH_MIN_BYTES = 4 * 1024 * 1024;
/** The worker is told about new bytes once this many more were written. */
const REPORT_BYTES = 1024 * 1024;

const WORKER_SOURCE = `
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync } from "node:fs";
const jobs = new Map();
const buf = new Uint8Array(1 << 20);
self.onmessage = (e) => {
  const m = e.data;
  let job = jobs.get(m.id);
  try {
    if (m.path !== undefined) {
      jobs.set(m.id, (job = { fd: openSync(m.path, "r"), hash: createHash(m.alg), pos: 0 }));
      return;
    }
    if (!job) return;
    if (m.close) {
      jobs.delete(m.id);
      closeSync(job.fd);
      return;
    }
    while (job.pos < m.upTo) {
      const n = readSync(job.fd, buf, 0, Math.min(buf.length, m.upTo - job.pos), job.pos);
      if (n === 0) throw new Error("the file ends at byte " + job.pos + " of " + m.upTo + " written");
      job.hash.update(buf.subarray(0, n));
      job.pos += n;
    }
    if (m.end) {
      jobs.delete(m.id);
      closeSync(job.fd);
      self.postMessage({ id: m.id, digest: job.hash.digest("hex") });
    }
  } catch (err) {
    if (job) {
      jobs.delete(m.id);
      try { closeSync(job.fd); } catch {}
    }
    self.postMessage({ id: m.id, error: String((err && err.message) || err) });
  }
};
`;

/** How long the hashing thread stays up with nothing to hash. */
const IDLE_MS = 2_000;

interface Answer {
  readonly id: number;
  readonly digest?: string;
  readonly error?: string;
}

/**
 * One hashing thread for the process, shared by every blob being fetched
 * (starting a worker costs ~16 ms of CPU, as much as hashing 20 MB), started
 * on first use and ended after IDLE_MS with no job. It never keeps the
 * process alive on its own (unref on Bun; the idle timer ends it elsewhere).
 */
class HashThread {
  private static url: string | undefined;
  private worker: Worker | undefined;
  private readonly waiting = new Map<number, (a: Answer) => void>();
  private readonly jobs = new Set<number>();
  private nextId = 1;
  private idle: ReturnType<typeof nodeTimeout> | undefined;

  private ensure(): Worker {
    if (this.idle) clearTimeout(this.idle);
    this.idle = undefined;
    if (this.worker) return this.worker;
    HashThread.url ??= URL.createObjectURL(new Blob([WORKER_SOURCE], { type: "application/javascript" }));
    const w = new Worker(HashThread.url, { type: "module" });
    (w as { unref?(): void }).unref?.();
    w.onmessage = (e: MessageEvent<Answer>) => this.answer(e.data);
    w.onerror = (e: ErrorEvent) => {
      e.preventDefault?.();
      // Every job on this thread is lost: each digest() hears why; the next job starts a new thread.
      if (this.worker === w) this.worker = undefined;
      w.terminate();
      for (const id of [...this.jobs]) this.answer({ id, error: `the hashing thread failed: ${e.message}` });
    };
    this.worker = w;
    return w;
  }

  open(path: string, alg: string): number {
    const id = this.nextId++;
    this.jobs.add(id);
    this.ensure().postMessage({ id, path, alg });
    return id;
  }

  post(id: number, m: { upTo: number; end?: boolean } | { close: true }): void {
    if (this.jobs.has(id)) this.ensure().postMessage({ id, ...m });
  }

  result(id: number, size: number): Promise<Answer> {
    if (!this.jobs.has(id)) return Promise.resolve({ id, error: "the hash job ended" });
    const got = new Promise<Answer>((resolve) => this.waiting.set(id, resolve));
    this.post(id, { upTo: size, end: true });
    return got;
  }

  done(id: number): void {
    if (!this.jobs.has(id)) return;
    this.post(id, { close: true });
    this.forget(id);
  }

  private answer(a: Answer): void {
    const w = this.waiting.get(a.id);
    this.forget(a.id);
    if (w) w(a);
    // An error before anyone waits: kept for the digest() to come.
    else if (a.error !== undefined) this.early.set(a.id, a);
  }

  /** Errors that arrived before digest() was called (the file could not be opened or read). */
  readonly early = new Map<number, Answer>();

  private forget(id: number): void {
    this.waiting.delete(id);
    this.jobs.delete(id);
    if (this.jobs.size > 0 || !this.worker || this.idle) return;
    this.idle = nodeTimeout(() => {
      this.idle = undefined;
      if (this.jobs.size > 0) return;
      this.worker?.terminate();
      this.worker = undefined;
    }, IDLE_MS);
    this.idle.unref();
  }
}

let thread: HashThread | undefined;

/** Hashes in place, from the chunks as they are written. */
class InlineHasher implements FileHasher {
  private readonly hash: Hash;
  constructor(alg: string) {
    this.hash = createHash(alg);
  }
  wrote(chunk: Uint8Array): void {
    this.hash.update(chunk);
  }
  digest(): Promise<string> {
    return Promise.resolve(this.hash.digest("hex"));
  }
  close(): void {}
}

/** Hashes on the shared hashing thread, which reads the file back. */
class WorkerHasher implements FileHasher {
  private readonly id: number;
  private reported = 0;
  private closed = false;

  constructor(
    private readonly path: string,
    alg: string,
    private readonly t: HashThread,
  ) {
    this.id = t.open(path, alg);
  }

  wrote(_chunk: Uint8Array, written: number): void {
    if (written - this.reported < REPORT_BYTES) return;
    this.reported = written;
    this.t.post(this.id, { upTo: written });
  }

  async digest(size: number): Promise<string> {
    if (this.closed) throw new Error("the hasher is closed");
    this.closed = true;
    const early = this.t.early.get(this.id);
    this.t.early.delete(this.id);
    const a = early ?? (await this.t.result(this.id, size));
    if (a.digest === undefined) throw new Error(`hashing ${this.path}: ${a.error ?? "no answer"}`);
    return a.digest;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.t.early.delete(this.id);
    this.t.done(this.id);
  }
}

/**
 * A hasher for a temp file about to be written with `size` bytes. `path`
 * must exist (the writer opened it) before the first `wrote`.
 */
export function fileHasher(path: string, alg: string, size: number, workerMinBytes = WORKER_HASH_MIN_BYTES): FileHasher {
  if (size >= workerMinBytes && typeof Worker === "function") return new WorkerHasher(path, alg, (thread ??= new HashThread()));
  return new InlineHasher(alg);
}
