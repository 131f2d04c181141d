/**
 * Blob upload sessions on disk: `<root>/uploads/<id>` holds the bytes
 * received so far, meta.db the session's repository and start time. Bytes
 * are hashed as they arrive, so closing a monolithic or chunked upload
 * costs no second read; after an agent restart the running hash is gone and
 * is rebuilt from the file once. A session survives restarts (a client can
 * GET its range and resume), and nothing in it is a blob until the closing
 * PUT's digest matches: then the file is fsynced and renamed into the blob
 * store, so a crash at any point leaves either no blob or the whole one.
 */
import { createHash, randomBytes, type Hash } from "node:crypto";
import { closeSync, mkdirSync, openSync, readdirSync, rmSync, statSync } from "node:fs";
import { open, truncate } from "node:fs/promises";
import { join } from "node:path";
import { checkChunkLength, digestAlgorithm, planChunk, regErr, RegistryError, sessionIdFrom, type ChunkHeaders, type Digest } from "../../core/registry/index.ts";
import { hashFile, type BlobStore } from "./blob-store.ts";
import type { RegistryMeta } from "./meta.ts";

/** Sessions untouched this long are dropped (distribution's default purge age is a week; a day is plenty for a push). */
export const UPLOAD_MAX_AGE_MS = 24 * 3_600_000;

interface Live {
  /** sha256 of the bytes so far, while it is known to match the file. */
  hash: Hash | undefined;
  received: number;
  busy: boolean;
}

export class Uploads {
  private readonly dir: string;
  private readonly live = new Map<string, Live>();

  constructor(
    private readonly store: BlobStore,
    private readonly meta: RegistryMeta,
    root: string,
    private readonly now: () => number = Date.now,
  ) {
    this.dir = join(root, "uploads");
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // Files without a session row (a crash between the two) are garbage.
    const known = new Set(this.meta.uploads().map((u) => u.id));
    for (const f of readdirSync(this.dir)) if (!known.has(f)) rmSync(join(this.dir, f), { force: true });
  }

  private file(id: string): string {
    return join(this.dir, id);
  }

  create(repo: string): string {
    const id = sessionIdFrom(randomBytes(16));
    // The file first: a session row always has its file.
    rmSync(this.file(id), { force: true });
    mkdirSync(this.dir, { recursive: true });
    closeSync(openSync(this.file(id), "w", 0o600));
    this.meta.addUpload({ id, repo, started: this.now() });
    this.live.set(id, { hash: createHash("sha256"), received: 0, busy: false });
    return id;
  }

  private session(repo: string, id: string): Live {
    const row = this.meta.upload(id);
    if (!row || row.repo !== repo) throw regErr("BLOB_UPLOAD_UNKNOWN", `upload ${id} is not in progress in ${repo} (finished, cancelled, expired, or never started)`);
    let l = this.live.get(id);
    if (!l) {
      let size = 0;
      try {
        size = statSync(this.file(id)).size;
      } catch {
        this.meta.deleteUpload(id);
        throw regErr("BLOB_UPLOAD_UNKNOWN", `upload ${id} lost its data; start the upload again`);
      }
      l = { hash: size === 0 ? createHash("sha256") : undefined, received: size, busy: false };
      this.live.set(id, l);
    }
    return l;
  }

  /** Bytes received so far (GET on the upload URL). */
  status(repo: string, id: string): number {
    return this.session(repo, id).received;
  }

  /**
   * Appends a chunk (PATCH, or the body of the closing PUT) and returns the
   * new size. On a broken or short body, the session keeps exactly the bytes
   * before the chunk, so the client can resume from the range it GETs.
   */
  async append(repo: string, id: string, body: AsyncIterable<Uint8Array>, headers: ChunkHeaders): Promise<number> {
    const l = this.session(repo, id);
    if (l.busy) throw new RegistryError("BLOB_UPLOAD_INVALID", `upload ${id} is receiving another chunk; send chunks one at a time`, { status: 416 });
    const plan = planChunk(l.received, headers);
    l.busy = true;
    const before = l.received;
    const fh = await open(this.file(id), "a");
    let n = 0;
    try {
      for await (const chunk of body) {
        if (plan.expect !== undefined && n + chunk.byteLength > plan.expect) throw regErr("SIZE_INVALID", `the chunk is longer than the ${plan.expect} bytes announced`);
        let off = 0;
        while (off < chunk.byteLength) off += (await fh.write(chunk, off, chunk.byteLength - off)).bytesWritten;
        l.hash?.update(chunk);
        n += chunk.byteLength;
      }
      checkChunkLength(plan, n);
      l.received = before + n;
      return l.received;
    } catch (e) {
      // Back to where the chunk started: file and hash agree again.
      await truncate(this.file(id), before).catch(() => {});
      if (n > 0) l.hash = undefined;
      l.received = before;
      throw e instanceof RegistryError ? e : regErr("BLOB_UPLOAD_INVALID", `the chunk did not arrive whole (${(e as Error).message}); GET the upload URL for its range and resume`);
    } finally {
      l.busy = false;
      await fh.close().catch(() => {});
    }
  }

  /**
   * Closes the session: the bytes must hash to `digest`. Then they become
   * that blob (atomically) and the session is gone. A mismatch refuses the
   * blob, stores nothing, and ends the session (DIGEST_INVALID).
   */
  async finish(repo: string, id: string, digest: Digest): Promise<number> {
    const l = this.session(repo, id);
    if (l.busy) throw new RegistryError("BLOB_UPLOAD_INVALID", `upload ${id} is still receiving a chunk`, { status: 416 });
    l.busy = true;
    try {
      const alg = digestAlgorithm(digest);
      let actual: string;
      if (alg === "sha256" && l.hash) {
        actual = `sha256:${l.hash.digest("hex")}`;
        l.hash = undefined;
      } else {
        actual = `${alg}:${await hashFile(this.file(id), alg)}`;
      }
      try {
        await this.store.commit(this.file(id), digest, actual, l.received);
      } finally {
        this.end(id);
      }
      return l.received;
    } finally {
      l.busy = false;
    }
  }

  cancel(repo: string, id: string): void {
    this.session(repo, id);
    this.end(id);
  }

  private end(id: string): void {
    this.live.delete(id);
    this.meta.deleteUpload(id);
    rmSync(this.file(id), { force: true });
  }

  /** Drops sessions started more than `maxAgeMs` ago; returns how many. */
  expire(maxAgeMs = UPLOAD_MAX_AGE_MS): number {
    let n = 0;
    for (const u of this.meta.uploads()) {
      if (u.started < this.now() - maxAgeMs && !this.live.get(u.id)?.busy) {
        this.end(u.id);
        n++;
      }
    }
    return n;
  }
}
