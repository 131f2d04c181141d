import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createHash, randomBytes } from "node:crypto";
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileHasher } from "../../../platform/registry/file-hasher.ts";
import { BlobStore, Inflight } from "../../../platform/registry/index.ts";
import type { Digest } from "../../../core/registry/index.ts";

const hex = (alg: string, b: Uint8Array) => createHash(alg).update(b).digest("hex");

/** Writes `data` to `path` in chunks of `sizes` (cycled), telling the hasher after each. */
function writeThrough(path: string, data: Buffer, sizes: number[], h: ReturnType<typeof fileHasher>): void {
  const fd = openSync(path, "w", 0o600);
  try {
    let off = 0;
    for (let i = 0; off < data.length; i++) {
      const n = Math.min(Math.max(1, sizes[i % sizes.length]!), data.length - off);
      const chunk = data.subarray(off, off + n);
      writeSync(fd, chunk, 0, n, off);
      off += n;
      h.wrote(chunk, off);
    }
  } finally {
    closeSync(fd);
  }
}

describe("fileHasher: the digest of a temp file as it is written", () => {
  test("the worker thread's digest is the file's, whatever the chunking (property)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fizz-hasher-"));
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 3_000_000 }),
          fc.array(fc.integer({ min: 1, max: 1_500_000 }), { minLength: 1, maxLength: 4 }),
          fc.constantFrom("sha256", "sha512"),
          async (size, sizes, alg) => {
            const data = randomBytes(size);
            const path = join(dir, "blob");
            // workerMinBytes 0: every size goes to the worker thread.
            const h = fileHasher(path, alg, size, 0);
            writeThrough(path, data, sizes, h);
            expect(await h.digest(size)).toBe(hex(alg, data));
          },
        ),
        { numRuns: 25 },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("a file shorter than announced is an error, not a digest of what is there", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fizz-hasher-"));
    try {
      const path = join(dir, "blob");
      const data = randomBytes(50_000);
      const h = fileHasher(path, "sha256", 0, 0);
      writeThrough(path, data, [20_000], h);
      await expect(h.digest(60_000)).rejects.toThrow(/ends at byte 50000 of 60000/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a missing file is an error; close() is idempotent and a later digest() fails", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fizz-hasher-"));
    try {
      const h = fileHasher(join(dir, "absent"), "sha256", 0, 0);
      await expect(h.digest(10)).rejects.toThrow(/absent|no such file|ENOENT/i);
      h.close();
      const g = fileHasher(join(dir, "absent"), "sha256", 0, 0);
      g.close();
      g.close();
      await expect(g.digest(0)).rejects.toThrow(/closed/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("Inflight with the worker thread: readers get the bytes, the blob is stored; a wrong digest stores nothing", async () => {
    const root = mkdtempSync(join(tmpdir(), "fizz-inflight-worker-"));
    const store = new BlobStore(root);
    async function* chunks(data: Buffer, n: number): AsyncGenerator<Uint8Array> {
      for (let off = 0; off < data.length; off += n) {
        yield data.subarray(off, Math.min(off + n, data.length));
        await new Promise((r) => setImmediate(r));
      }
    }
    const collect = async (it: AsyncIterable<Uint8Array>) => {
      const parts: Buffer[] = [];
      for await (const c of it) parts.push(Buffer.from(c));
      return Buffer.concat(parts);
    };
    try {
      const data = randomBytes(5_000_000);
      const digest = `sha256:${hex("sha256", data)}` as Digest;
      const inf = new Inflight(store, digest, 1);
      const fill = inf.fill(chunks(data, 300_000), data.length);
      const [got] = await Promise.all([collect(inf.read(0, data.length - 1)), fill]);
      expect(got.equals(data)).toBe(true);
      expect(store.has(digest)).toBe(true);

      const wrong = new Inflight(store, `sha256:${hex("sha256", Buffer.from("other"))}` as Digest, 1);
      const reader = collect(wrong.read(0, data.length - 1)).then(
        () => "completed",
        (e: Error) => e.message,
      );
      // Not expect().rejects: bun test's rejects polls the loop slowly while a worker runs (8 s here).
      const failed = await wrong.fill(chunks(data, 300_000), data.length).then(
        () => "stored",
        (e: Error) => e.message,
      );
      expect(failed).toMatch(/has digest/);
      expect(await reader).toMatch(/has digest/);
      expect(store.list().map((b) => b.digest)).toEqual([digest]);
      expect(readdirSync(join(root, "tmp"))).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 30_000);
});
