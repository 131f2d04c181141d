// A blob whose fetch commits while a reader's store lookup is under way: the
// lookup misses it, the fetch has already left the in-flight map, and before
// the fix the reader started a second fetch — from the upstream when this node
// was the digest's fetcher, so a blob could leave the upstream twice in the
// 3-host e2e (test/cluster/registry.test.ts). The race is made deterministic
// here: the blob lands in the store during the (async) lookup, which reports
// a miss.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Digest, RepoName } from "../../../core/registry/index.ts";
import { Registry, type RemoteContent } from "../../../platform/registry/index.ts";
import { sha } from "./support.ts";

describe("a blob committed during the store lookup", () => {
  const root = mkdtempSync(join(tmpdir(), "fizz-commit-race-"));
  const registry = new Registry({ root });
  const fetches: string[] = [];
  const remote: RemoteContent = {
    resolveTag: async () => undefined,
    fetchManifest: async () => false,
    fetchBlob: async (_repo, d) => {
      fetches.push(d);
      return undefined;
    },
  };
  registry.remote = remote;

  afterAll(() => {
    registry.close();
    rmSync(root, { recursive: true, force: true });
  });

  test("is served from the store, and no second fetch starts", async () => {
    const bytes = Buffer.from("a layer whose fetch commits right now");
    const d = sha(bytes) as Digest;
    const store = registry.store;
    const realStat = store.stat.bind(store);
    store.stat = async (x: Digest) => {
      const seen = await realStat(x);
      // The in-flight fetch commits (renames its temp file into the store) while this lookup is on its way back.
      store.putBytesSync(bytes);
      return seen;
    };
    try {
      const src = await registry.blob("team/app" as RepoName, d);
      expect(src.kind).toBe("stored");
      expect(src.kind === "stored" ? src.size : -1).toBe(bytes.byteLength);
      expect(fetches).toEqual([]);
    } finally {
      store.stat = realStat;
    }
  });

  test("a blob that is really missing is still asked of the remote", async () => {
    const d = sha("nowhere") as Digest;
    await expect(registry.blob("team/app" as RepoName, d)).rejects.toThrow(/not in this registry/);
    expect(fetches.at(-1)).toBe(d);
  });
});
