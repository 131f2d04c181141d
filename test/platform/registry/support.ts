/** A registry on a loopback port over a temp directory, for tests. */
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Registry, registryHandler, listenRegistry, type RegistryListener, type RegistryHttpOptions, type RegistryOptions } from "../../../platform/registry/index.ts";

export const sha = (b: Uint8Array | string) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export interface TestRegistry {
  readonly root: string;
  readonly registry: Registry;
  readonly listener: RegistryListener;
  readonly base: string;
  stop(keep?: boolean): Promise<void>;
}

export async function startTestRegistry(o: { root?: string; http?: RegistryHttpOptions; setup?: (r: Registry) => void; options?: Partial<RegistryOptions> } = {}): Promise<TestRegistry> {
  const root = o.root ?? mkdtempSync(join(tmpdir(), "fizz-reg-"));
  const registry = new Registry({ ...o.options, root });
  o.setup?.(registry);
  const listener = await listenRegistry(registryHandler(registry, o.http), { host: "127.0.0.1", port: 0 });
  return {
    root,
    registry,
    listener,
    base: `http://127.0.0.1:${listener.port}`,
    async stop(keep = false) {
      await listener.close();
      registry.close();
      if (!keep) rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Pushes a blob monolithically (POST + PUT); returns its digest. */
export async function pushBlob(base: string, repo: string, bytes: Uint8Array): Promise<string> {
  const d = sha(bytes);
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  if (start.status !== 202) throw new Error(`POST ${start.status}`);
  const loc = start.headers.get("location")!;
  const put = await fetch(`${base}${loc}?digest=${d}`, { method: "PUT", body: bytes, headers: { "content-type": "application/octet-stream" } });
  if (put.status !== 201) throw new Error(`PUT ${put.status} ${await put.text()}`);
  return d;
}

export function imageManifest(config: string, configSize: number, layers: { digest: string; size: number }[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: config, size: configSize },
    layers: layers.map((l) => ({ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...l })),
    ...extra,
  });
}

/** Pushes a config + one layer + manifest under `tag`; returns the digests. */
export async function pushImage(base: string, repo: string, tag: string, seed: string, extra: Record<string, unknown> = {}): Promise<{ manifest: string; config: string; layer: string; bytes: string }> {
  const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", seed }));
  const layer = new TextEncoder().encode(`layer ${seed} `.repeat(100));
  const c = await pushBlob(base, repo, config);
  const l = await pushBlob(base, repo, layer);
  const body = imageManifest(c, config.byteLength, [{ digest: l, size: layer.byteLength }], extra);
  const r = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: "PUT", body, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
  if (r.status !== 201) throw new Error(`manifest PUT ${r.status} ${await r.text()}`);
  return { manifest: r.headers.get("docker-content-digest")!, config: c, layer: l, bytes: body };
}

export async function errorCode(r: Response): Promise<string | undefined> {
  const t = await r.text();
  try {
    return (JSON.parse(t) as { errors: { code: string }[] }).errors[0]?.code;
  } catch {
    return undefined;
  }
}
