// A node asked as a holder answers with what it has and never joins a fetch
// in flight: two nodes that missed pushed content at once (before any holder
// row arrived) ask each other as holders, and each one's fetch waits on the
// other's answer; joining made both wait for the peer headers timeout (60 s,
// seen in test/cluster/registry.test.ts 'a build: service ...').
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Digest, RepoName } from "../../../core/registry/index.ts";
import { Registry, RemoteSources, type PeerNetwork } from "../../../platform/registry/index.ts";
import { sha } from "./support.ts";

describe("a holder ask never joins a fetch in flight", () => {
  const root = mkdtempSync(join(tmpdir(), "fizz-holder-"));
  const registry = new Registry({ root });
  const asked: string[] = [];
  const release: (() => void)[] = [];
  // The other node: it never answers until released (it is waiting on us).
  const pending = <T>(what: string) =>
    new Promise<T | undefined>((resolve) => {
      asked.push(what);
      release.push(() => resolve(undefined));
    });
  const peers: PeerNetwork = {
    self: "a",
    alive: () => ["a", "b"],
    holders: () => [],
    blob: (_n, _r, d) => pending(`blob ${d}`),
    manifest: (_n, _r, d) => pending(`manifest ${d}`),
  };
  registry.remote = new RemoteSources(registry, undefined, peers);
  const repo = "team/app" as RepoName;
  const timeout = <T>(p: Promise<T>) => Promise.race([p, new Promise<string>((r) => setTimeout(() => r("still waiting"), 2000))]);

  afterAll(() => {
    for (const r of release) r();
    registry.close();
    rmSync(root, { recursive: true, force: true });
  });

  test("manifest: this node's own fetch waits on the peer; the peer's holder ask is answered 'not here' at once", async () => {
    const d = sha("a pushed manifest") as Digest;
    const own = registry.remote!.fetchManifest(repo, d);
    await new Promise((r) => setTimeout(r, 10));
    expect(asked).toContain(`manifest ${d}`);
    expect(await timeout(registry.remote!.fetchManifest(repo, d, "holder"))).toBe(false);
    for (const r of release.splice(0)) r();
    expect(await own).toBe(false);
  });

  test("blob: the same for a blob being fetched from that peer", async () => {
    const d = sha("a pushed layer") as Digest;
    const own = await registry.remote!.fetchBlob(repo, d);
    expect(own).toBeDefined();
    await new Promise((r) => setTimeout(r, 10));
    expect(asked).toContain(`blob ${d}`);
    expect(await timeout(registry.remote!.fetchBlob(repo, d, "holder"))).toBeUndefined();
    // A fetcher ask (content with an upstream) still joins it: one fetch per digest.
    expect(await registry.remote!.fetchBlob(repo, d, "fetcher")).toBe(own);
    for (const r of release.splice(0)) r();
    await own!.done.catch(() => {});
  });
});
