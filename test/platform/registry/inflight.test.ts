import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobStore, Inflight, WRITEBACK_BYTES } from "../../../platform/registry/index.ts";
import type { Digest } from "../../../core/registry/index.ts";

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;

async function* chunked(data: Buffer, sizes: number[], pause: () => Promise<void>): AsyncGenerator<Uint8Array> {
  let off = 0;
  let i = 0;
  while (off < data.length) {
    const n = Math.max(1, sizes[i++ % sizes.length]!);
    yield data.subarray(off, Math.min(off + n, data.length));
    off += n;
    await pause();
  }
}

async function collect(it: AsyncIterable<Uint8Array>, slow: boolean): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) {
    parts.push(Buffer.from(c));
    if (slow) await new Promise((r) => setTimeout(r, 0));
  }
  return Buffer.concat(parts);
}

describe("Inflight: readers of a blob being fetched", () => {
  test("every reader gets exactly its bytes, live or from the file, whatever the chunking and timing (property)", async () => {
    const root = mkdtempSync(join(tmpdir(), "fizz-inflight-"));
    const store = new BlobStore(root);
    try {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 1, max: 200_000 }),
          fc.array(fc.integer({ min: 2_000, max: 70_000 }), { minLength: 1, maxLength: 5 }),
          fc.array(fc.record({ start: fc.nat(), len: fc.nat(), delay: fc.integer({ min: 0, max: 3 }), slow: fc.boolean() }), { minLength: 1, maxLength: 4 }),
          async (size, sizes, readers) => {
            const data = randomBytes(size);
            const inf = new Inflight(store, sha(data));
            const fill = inf.fill(chunked(data, sizes, () => new Promise((r) => setImmediate(r))), size);
            const reads = readers.map(async (r) => {
              for (let i = 0; i < r.delay; i++) await new Promise((res) => setImmediate(res));
              const start = r.start % size;
              const end = Math.min(size - 1, start + (r.len % size));
              const got = await collect(inf.read(start, end), r.slow);
              expect(got.equals(data.subarray(start, end + 1))).toBe(true);
            });
            await Promise.all([fill, ...reads]);
            expect(store.has(sha(data))).toBe(true);
            store.delete(sha(data));
          },
        ),
        { numRuns: 60 },
      );
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);

  test("a reader that opens the file while the commit renames it reads the stored blob (was: 'vanished from the store')", async () => {
    const root = mkdtempSync(join(tmpdir(), "fizz-inflight-"));
    const store = new BlobStore(root);
    try {
      const data = randomBytes(700);
      const inf = new Inflight(store, sha(data));
      let late: Promise<Buffer | string> | undefined;
      // A reader arriving after the commit renamed the temp file, before the Inflight is marked
      // committed, opens the temp path; that open fails only once the Inflight is marked.
      const commit = store.commit.bind(store);
      store.commit = async (...a: Parameters<BlobStore["commit"]>) => {
        const done = commit(...a);
        await done;
        late = collect(inf.read(0, data.length - 1), false).catch((e: Error) => e.message);
      };
      await inf.fill(chunked(data, [700], async () => {}), data.length);
      expect(inf.committed).toBe(true);
      const got = await late!;
      expect(typeof got === "string" ? got : got.equals(data)).toBe(true);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("a wrong digest fails the readers and stores nothing", async () => {
    const root = mkdtempSync(join(tmpdir(), "fizz-inflight-"));
    const store = new BlobStore(root);
    try {
      const data = randomBytes(100_000);
      const inf = new Inflight(store, sha(Buffer.from("something else")));
      const reader = collect(inf.read(0, data.length - 1), false).then(
        () => "completed",
        (e: Error) => e.message,
      );
      await expect(inf.fill(chunked(data, [10_000], async () => {}), data.length)).rejects.toThrow(/the content the source sent \(100000 bytes\) has digest/);
      expect(await reader).toMatch(/has digest/);
      expect(store.list()).toEqual([]);
      expect(readdirSync(join(root, "tmp"))).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("the temp file is written back to disk while the blob streams in, not all at its end", async () => {
    const root = mkdtempSync(join(tmpdir(), "fizz-inflight-"));
    const store = new BlobStore(root);
    try {
      const data = randomBytes(3 * WRITEBACK_BYTES + 123_456);
      const inf = new Inflight(store, sha(data));
      const at: { written: number; verified: boolean }[] = [];
      const writeBack = store.writeBack.bind(store);
      store.writeBack = (fd: number) => {
        at.push({ written: inf.written, verified: inf.verified });
        return writeBack(fd);
      };
      const reader = collect(inf.read(0, data.length - 1), false);
      await inf.fill(chunked(data, [256 * 1024], () => new Promise((r) => setTimeout(r, 1))), data.length);
      expect((await reader).equals(data)).toBe(true);
      expect(await store.verify(sha(data))).toBe(true);
      // One every WRITEBACK_BYTES at most (never two at once), all before the end.
      expect(at.length).toBeGreaterThanOrEqual(2);
      expect(at.every((a) => !a.verified && a.written < data.length)).toBe(true);
      for (let i = 1; i < at.length; i++) expect(at[i]!.written - at[i - 1]!.written).toBeGreaterThanOrEqual(WRITEBACK_BYTES);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  test("a write-back that fails (the disk) stores nothing and leaves no temp file", async () => {
    const root = mkdtempSync(join(tmpdir(), "fizz-inflight-"));
    const store = new BlobStore(root);
    try {
      const data = randomBytes(2 * WRITEBACK_BYTES);
      const inf = new Inflight(store, sha(data));
      store.writeBack = () => Promise.reject(Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" }));
      const failed = await inf.fill(chunked(data, [512 * 1024], () => new Promise((r) => setImmediate(r))), data.length).then(
        () => "committed",
        (e: Error) => e.message,
      );
      expect(failed).toMatch(/to disk failed: EIO/);
      expect(inf.committed).toBe(false);
      expect(store.list()).toEqual([]);
      expect(readdirSync(join(root, "tmp"))).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
