/**
 * Content-addressed blobs on disk: `<root>/blobs/sha256/ab/abcd…`. A blob
 * appears only by rename(2) of a complete, fsynced file whose bytes were
 * hashed on the way in and matched the digest, so a reader sees the whole
 * blob or no blob, and a `kill -9` at any moment leaves at worst a file in
 * `<root>/tmp/`, which the next start removes. Manifests are blobs too (the
 * exact bytes a client pushed); metadata lives in meta.ts.
 */
import { createHash, randomBytes, type Hash } from "node:crypto";
import { closeSync, fdatasync, fsyncSync, mkdirSync, openSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeSync, readFileSync } from "node:fs";
import { open, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { checkClose, digestRelPath, isDigest, type Digest, type DigestAlgorithm } from "../../core/registry/index.ts";

export interface BlobInfo {
  readonly digest: Digest;
  readonly size: number;
  /** mtime of the file: when it was stored, ms. */
  readonly stored: number;
}

export class BlobStore {
  readonly root: string;
  private readonly blobs: string;
  readonly tmp: string;

  constructor(root: string) {
    this.root = root;
    this.blobs = join(root, "blobs");
    this.tmp = join(root, "tmp");
    mkdirSync(this.blobs, { recursive: true, mode: 0o700 });
    // Leftovers of writes a crash interrupted: never blobs, safe to drop.
    rmSync(this.tmp, { recursive: true, force: true });
    mkdirSync(this.tmp, { recursive: true, mode: 0o700 });
  }

  path(d: Digest): string {
    return join(this.blobs, digestRelPath(d));
  }

  /** A fresh path in tmp/ for a file being written (uploads and fetches). */
  tempPath(prefix: string): string {
    return join(this.tmp, `${prefix}-${randomBytes(8).toString("hex")}`);
  }

  async stat(d: Digest): Promise<BlobInfo | undefined> {
    try {
      const s = await stat(this.path(d));
      return { digest: d, size: s.size, stored: s.mtimeMs };
    } catch {
      return undefined;
    }
  }

  statSync(d: Digest): BlobInfo | undefined {
    try {
      const s = statSync(this.path(d));
      return { digest: d, size: s.size, stored: s.mtimeMs };
    } catch {
      return undefined;
    }
  }

  has(d: Digest): boolean {
    return this.statSync(d) !== undefined;
  }

  readSync(d: Digest): Buffer | undefined {
    try {
      return readFileSync(this.path(d));
    } catch {
      return undefined;
    }
  }

  /**
   * Moves a complete temp file into place as blob `d`, after checking that
   * `actual` (the digest computed while it was written) matches. The file is
   * fsynced first so the rename never publishes a blob whose bytes are not
   * on disk. A blob that already exists is kept (same digest, same bytes).
   */
  async commit(tempPath: string, d: Digest, actual: string, size: number, what?: string): Promise<void> {
    try {
      checkClose(d, actual, size, what);
    } catch (e) {
      await rm(tempPath, { force: true });
      throw e;
    }
    const fh = await open(tempPath, "r+");
    try {
      await fh.datasync();
    } finally {
      await fh.close();
    }
    const dest = this.path(d);
    mkdirSync(dirname(dest), { recursive: true, mode: 0o700 });
    await rename(tempPath, dest);
  }

  /**
   * Starts putting what was written so far to a temp file on disk
   * (fdatasync on the thread pool), for writers that flush as they go so
   * that `commit`'s own sync has only the tail left.
   */
  writeBack(fd: number): Promise<void> {
    return new Promise((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve())));
  }

  /** Stores small content (manifests) atomically; returns its digest. */
  putBytesSync(bytes: Uint8Array, algorithm: DigestAlgorithm = "sha256"): Digest {
    const d = `${algorithm}:${createHash(algorithm).update(bytes).digest("hex")}` as Digest;
    if (this.has(d)) return d;
    const tmp = this.tempPath("put");
    const fd = openSync(tmp, "w", 0o600);
    try {
      let off = 0;
      while (off < bytes.byteLength) off += writeSync(fd, bytes, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    const dest = this.path(d);
    mkdirSync(dirname(dest), { recursive: true, mode: 0o700 });
    renameSync(tmp, dest);
    return d;
  }

  delete(d: Digest): boolean {
    try {
      unlinkSync(this.path(d));
      return true;
    } catch {
      return false;
    }
  }

  /** Every blob on disk (for GC and `fizz registry ls`). */
  list(): BlobInfo[] {
    const out: BlobInfo[] = [];
    for (const alg of safeReaddir(this.blobs)) {
      for (const fan of safeReaddir(join(this.blobs, alg))) {
        for (const hex of safeReaddir(join(this.blobs, alg, fan))) {
          const d = `${alg}:${hex}`;
          if (!isDigest(d)) continue;
          try {
            const s = statSync(join(this.blobs, alg, fan, hex));
            out.push({ digest: d, size: s.size, stored: s.mtimeMs });
          } catch {
            // removed meanwhile
          }
        }
      }
    }
    return out;
  }

  /** Re-hashes a stored blob; true when its bytes still match its name. */
  async verify(d: Digest): Promise<boolean> {
    const alg = d.slice(0, d.indexOf(":"));
    return `${alg}:${await hashFile(this.path(d), alg)}` === d;
  }
}

/** The hex digest of a file's bytes with `alg` (sha256, sha512), read 1 MB at a time. */
export async function hashFile(path: string, alg: string): Promise<string> {
  const h = createHash(alg);
  const fh = await open(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (;;) {
      const { bytesRead } = await fh.read(buf, 0, buf.length, null);
      if (bytesRead === 0) break;
      h.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await fh.close();
  }
  return h.digest("hex");
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** A hash for a digest algorithm (sha256 unless the client asked for sha512). */
export function hasherFor(d: Digest | undefined): Hash {
  return createHash(d?.startsWith("sha512:") ? "sha512" : "sha256");
}
