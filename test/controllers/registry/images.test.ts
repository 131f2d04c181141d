// pin and ensure (controllers/registry/images.ts) on a real Registry with a
// fake upstream and a fake engine: a tag is resolved once, on the node that
// receives the deploy; every node then pulls that digest through its loopback
// registry, even after the tag moved upstream, and tags it with the compose name.
import { afterEach, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "../../../core/compose/load.ts";
import type { Digest, RepoName } from "../../../core/registry/index.ts";
import { DeploymentImages, PIN_KEY, pinOf } from "../../../controllers/registry/images.ts";
import type { EngineImages } from "../../../platform/registry/engine-images.ts";
import { Registry } from "../../../platform/registry/registry.ts";

const REF = "10.0.0.5:5000/team/app:1";
const REPO = "10.0.0.5_5000/team/app" as RepoName;
const sha = (b: Uint8Array | string) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;

function manifest(seed: string): { bytes: string; digest: Digest; config: Digest } {
  const config = sha(`config ${seed}`);
  const bytes = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: 10 },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: sha(`layer ${seed}`), size: 10 }],
  });
  return { bytes, digest: sha(bytes), config };
}

function project(yaml: string) {
  return loadProject({ cwd: "/p", env: {}, reader: { read: (p) => (p === "/p/compose.yaml" ? yaml : undefined) } }).project!;
}

const dirs: string[] = [];
const registries: Registry[] = [];
afterEach(() => {
  for (const r of registries.splice(0)) r.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A node: its registry (the upstream's tag is `upstreamTag`), and an engine that records what it was asked. */
function node(upstreamTag: { digest: Digest }, o: { engineHas?: Record<string, string> } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "fizz-images-"));
  dirs.push(dir);
  const registry = new Registry({ root: dir });
  registries.push(registry);
  const resolved: string[] = [];
  registry.remote = {
    resolveTag: async (repo, tag) => {
      resolved.push(`${repo}:${tag}`);
      return upstreamTag.digest;
    },
    fetchManifest: async () => false,
    fetchBlob: async () => undefined,
  };
  const images = new Map<string, string>(Object.entries(o.engineHas ?? {}));
  const calls: string[] = [];
  const engine = {
    kind: "docker",
    id: async (ref: string) => images.get(ref),
    architecture: async () => "amd64",
    pull: async (ref: string) => {
      calls.push(`pull ${ref}`);
      const digest = ref.slice(ref.indexOf("@") + 1);
      const m = [m1, m2].find((x) => x.digest === digest);
      if (!m) throw new Error(`no such manifest ${digest}`);
      images.set(ref, m.config);
    },
    tag: async (id: string, ref: string) => {
      calls.push(`tag ${ref}`);
      images.set(ref, id);
    },
    untag: async (ref: string) => {
      calls.push(`untag ${ref}`);
      images.delete(ref);
    },
    push: async (ref: string) => {
      calls.push(`push ${ref}`);
    },
  } as unknown as EngineImages;
  const d = new DeploymentImages({
    registry,
    engine,
    address: () => "127.0.0.1:5050",
    ownHosts: () => ["127.0.0.1:5050", "localhost:5050"],
    clustered: () => true,
    build: async () => {
      throw new Error("no builds here");
    },
    announce: () => {},
    log: () => {},
  });
  // Both manifests are in the cache (as after a pull through it).
  for (const m of [m1, m2]) registry.storeManifest(REPO, new TextEncoder().encode(m.bytes), "application/vnd.oci.image.manifest.v1+json", { checkBlobs: false });
  return { registry, d, resolved, calls, images };
}

const m1 = manifest("one");
const m2 = manifest("two");

describe("pin: the tag is resolved once per deploy", () => {
  test("the deploying node resolves the tag and records the digest in the service", async () => {
    const up = { digest: m1.digest };
    const n = node(up);
    const pinned = await n.d.pin(project(`services:\n  web:\n    image: ${REF}\n`));
    expect(n.resolved).toEqual([`${REPO}:1`]);
    expect(pinOf(pinned.services.web!)).toEqual({ ref: REF, repo: REPO, digest: m1.digest });
    expect(pinned.services.web!.extensions?.[PIN_KEY]).toBeDefined();
  });

  test("every node runs the pinned bytes: ensure pulls the digest through the loopback registry, not the tag, after the tag moved", async () => {
    const up = { digest: m1.digest };
    const deployer = node(up);
    const pinned = await deployer.d.pin(project(`services:\n  web:\n    image: ${REF}\n`));
    up.digest = m2.digest; // the tag moves upstream after the deploy
    const other = node(up);
    await other.d.ensure(pinned, ["web"]);
    expect(other.resolved).toEqual([]);
    expect(other.calls).toEqual([`pull 127.0.0.1:5050/${REPO}@${m1.digest}`, `tag ${REF}`, `untag 127.0.0.1:5050/${REPO}@${m1.digest}`]);
    expect(other.images.get(REF)).toBe(m1.config);
    // Already right: nothing is pulled again.
    await other.d.ensure(pinned, ["web"]);
    expect(other.calls).toHaveLength(3);
    // The next deploy pins the moved tag, and the engine's image follows.
    const again = await deployer.d.pin(project(`services:\n  web:\n    image: ${REF}\n`));
    expect(pinOf(again.services.web!)?.digest).toBe(m2.digest);
    await other.d.ensure(again, ["web"]);
    expect(other.images.get(REF)).toBe(m2.config);
  });

  test("an image the engine already has is pinned to the manifest it came from, without asking the upstream", async () => {
    const n = node({ digest: m2.digest }, { engineHas: { [REF]: m1.config } });
    const pinned = await n.d.pin(project(`services:\n  web:\n    image: ${REF}\n`));
    expect(n.resolved).toEqual([]);
    expect(pinOf(pinned.services.web!)?.digest).toBe(m1.digest);
  });

  test("pull_policy: never pins nothing; always asks the upstream even when the engine has the image", async () => {
    const n = node({ digest: m2.digest }, { engineHas: { [REF]: m1.config } });
    const never = await n.d.pin(project(`services:\n  web:\n    image: ${REF}\n    pull_policy: never\n`));
    expect(pinOf(never.services.web!)).toBeUndefined();
    const always = await n.d.pin(project(`services:\n  web:\n    image: ${REF}\n    pull_policy: always\n`));
    expect(n.resolved).toEqual([`${REPO}:1`]);
    expect(pinOf(always.services.web!)?.digest).toBe(m2.digest);
  });
});
