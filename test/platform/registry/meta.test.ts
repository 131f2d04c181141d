import { afterEach, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RegistryMeta, type ManifestRow } from "../../../platform/registry/meta.ts";
import type { Digest } from "../../../core/registry/index.ts";

const d = (c: string) => `sha256:${c.repeat(64)}` as Digest;
const row = (repo: string, digest: Digest, refs: Digest[]): ManifestRow => ({ repo, digest, mediaType: "application/vnd.oci.image.manifest.v1+json", size: 100, refs, created: 1 });

const dirs: string[] = [];
afterEach(() => {
  for (const x of dirs.splice(0)) rmSync(x, { recursive: true, force: true });
});
function dbPath(): string {
  const dir = mkdtempSync(join(tmpdir(), "fizz-meta-"));
  dirs.push(dir);
  return join(dir, "meta.db");
}

describe("registry metadata: which manifests reference a digest", () => {
  test("found by index across repositories; a deleted or replaced manifest no longer counts", () => {
    const m = new RegistryMeta(dbPath());
    m.putManifest(row("a/one", d("1"), [d("c"), d("l")]), "v1");
    m.putManifest(row("b/two", d("2"), [d("c")]));
    expect(m.manifestsReferencing(d("c")).map((r) => `${r.repo}@${r.digest}`).sort()).toEqual([`a/one@${d("1")}`, `b/two@${d("2")}`]);
    expect(m.manifestsReferencing(d("l")).map((r) => r.repo)).toEqual(["a/one"]);
    expect(m.inUseByManifest(d("1"))?.repo).toBe("a/one");
    expect(m.inUseByManifest(d("l"))?.repo).toBe("a/one");
    expect(m.deleteManifest("a/one", d("1"))).toBe(true);
    expect(m.inUseByManifest(d("l"))).toBeUndefined();
    expect(m.manifestsReferencing(d("c")).map((r) => r.repo)).toEqual(["b/two"]);
    m.putManifest(row("b/two", d("2"), [d("x")]));
    expect(m.inUseByManifest(d("c"))).toBeUndefined();
    expect(m.manifestsReferencing(d("x")).map((r) => r.repo)).toEqual(["b/two"]);
    m.close();
  });

  test("a store written before the reference index existed is indexed when opened", () => {
    const path = dbPath();
    const old = new DatabaseSync(path);
    old.exec("CREATE TABLE manifests (repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL, refs TEXT NOT NULL, subject TEXT, referrer TEXT, created INTEGER NOT NULL, PRIMARY KEY (repo, digest))");
    old.prepare("INSERT INTO manifests VALUES (?, ?, ?, ?, ?, NULL, NULL, 1)").run("old/app", d("9"), "application/vnd.oci.image.manifest.v1+json", 10, JSON.stringify([d("e"), d("f")]));
    old.close();
    const m = new RegistryMeta(path);
    expect(m.manifestsReferencing(d("f")).map((r) => `${r.repo}@${r.digest}`)).toEqual([`old/app@${d("9")}`]);
    m.close();
  });
});
