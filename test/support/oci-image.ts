/**
 * Generated container images for registry tests and benches: real
 * tar+gzip layers (a file of random or patterned bytes, so docker and
 * podman can extract them), a config with matching diff_ids, and an OCI
 * or Docker schema 2 manifest. Built in memory or streamed to disk, then
 * pushed over the distribution API to any registry (Fizz's or
 * docker-registry) with plain HTTP requests.
 */
import { createHash, randomBytes } from "node:crypto";
import { gzipSync, constants } from "node:zlib";
import { pack } from "tar-stream";
import * as fs from "node:fs";

export interface Blob {
  readonly digest: string;
  readonly size: number;
  readonly mediaType: string;
  readonly bytes: Buffer;
}

export interface GeneratedImage {
  readonly config: Blob;
  readonly layers: readonly Blob[];
  readonly manifest: { readonly bytes: Buffer; readonly digest: string; readonly mediaType: string };
  readonly totalBytes: number;
}

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

async function tarOf(files: { name: string; bytes: Buffer }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((r) => p.on("end", () => r()));
  for (const f of files) await new Promise<void>((res, rej) => p.entry({ name: f.name, size: f.bytes.byteLength, mode: 0o644, mtime: new Date(0) }, f.bytes, (e) => (e ? rej(e) : res())));
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface ImageSpec {
  /** Bytes of payload per layer (random, so gzip cannot shrink it). */
  readonly layerSizes: readonly number[];
  /** Distinguishes images with the same sizes. */
  readonly seed?: string;
  readonly format?: "oci" | "docker";
  readonly architecture?: string;
  /** Layer payload: random (default) or a repeated pattern (fast to make, compresses). */
  readonly random?: boolean;
}

export async function generateImage(spec: ImageSpec): Promise<GeneratedImage> {
  const docker = spec.format === "docker";
  const layers: Blob[] = [];
  const diffIds: string[] = [];
  for (const [i, size] of spec.layerSizes.entries()) {
    const payload = spec.random === false ? Buffer.alloc(size, `${spec.seed ?? ""}-${i}-`) : randomBytes(size);
    const tar = await tarOf([{ name: `data/layer-${i}.bin`, bytes: payload }, { name: `data/seed-${i}.txt`, bytes: Buffer.from(`${spec.seed ?? "x"} ${i}\n`) }]);
    diffIds.push(sha(tar));
    const gz = gzipSync(tar, { level: constants.Z_BEST_SPEED });
    layers.push({ digest: sha(gz), size: gz.byteLength, mediaType: docker ? "application/vnd.docker.image.rootfs.diff.tar.gzip" : "application/vnd.oci.image.layer.v1.tar+gzip", bytes: gz });
  }
  const cfgBytes = Buffer.from(
    JSON.stringify({
      architecture: spec.architecture ?? "amd64",
      os: "linux",
      created: "2024-01-01T00:00:00Z",
      config: { Cmd: ["/data/none"], Labels: { "io.fizz.test": spec.seed ?? "x" } },
      rootfs: { type: "layers", diff_ids: diffIds },
      history: diffIds.map(() => ({ created: "2024-01-01T00:00:00Z", created_by: "fizz test generator" })),
    }),
  );
  const config: Blob = { digest: sha(cfgBytes), size: cfgBytes.byteLength, mediaType: docker ? "application/vnd.docker.container.image.v1+json" : "application/vnd.oci.image.config.v1+json", bytes: cfgBytes };
  const mediaType = docker ? "application/vnd.docker.distribution.manifest.v2+json" : "application/vnd.oci.image.manifest.v1+json";
  const mBytes = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType,
      config: { mediaType: config.mediaType, digest: config.digest, size: config.size },
      layers: layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.size })),
    }),
  );
  return { config, layers, manifest: { bytes: mBytes, digest: sha(mBytes), mediaType }, totalBytes: config.size + layers.reduce((a, l) => a + l.size, 0) + mBytes.byteLength };
}

/** Pushes an image's blobs and manifest to `base` (http://host:port) as `repo:tag`. */
export async function pushGenerated(base: string, repo: string, tag: string, img: GeneratedImage, init: RequestInit = {}): Promise<void> {
  const given = (init.headers ?? {}) as Record<string, string>;
  for (const b of [img.config, ...img.layers]) {
    const head = await fetch(`${base}/v2/${repo}/blobs/${b.digest}`, { ...init, method: "HEAD" });
    if (head.status === 200) continue;
    const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { ...init, method: "POST" });
    if (start.status !== 202) throw new Error(`upload start ${start.status}: ${await start.text()}`);
    const loc = new URL(start.headers.get("location")!, base);
    loc.searchParams.set("digest", b.digest);
    const put = await fetch(loc, { ...init, method: "PUT", body: b.bytes, headers: { ...given, "content-type": "application/octet-stream" } });
    if (put.status !== 201) throw new Error(`blob PUT ${put.status}: ${await put.text()}`);
  }
  const r = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { ...init, method: "PUT", body: img.manifest.bytes, headers: { ...given, "content-type": img.manifest.mediaType } });
  if (r.status !== 201) throw new Error(`manifest PUT ${r.status}: ${await r.text()}`);
}

/** An index over several pushed images (multi-arch), pushed as `repo:tag`; returns its digest. */
export async function pushIndex(base: string, repo: string, tag: string, images: { img: GeneratedImage; architecture: string }[]): Promise<string> {
  const body = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: images.map(({ img, architecture }) => ({ mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.bytes.byteLength, platform: { architecture, os: "linux" } })),
    }),
  );
  const r = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { method: "PUT", body, headers: { "content-type": "application/vnd.oci.image.index.v1+json" } });
  if (r.status !== 201) throw new Error(`index PUT ${r.status}: ${await r.text()}`);
  return sha(body);
}

/** Writes images as an OCI image layout (`skopeo copy oci:<dir>:<tag> …` reads it). */
export function writeOciLayout(dir: string, images: { img: GeneratedImage; tag: string }[]): void {
  const { mkdirSync, writeFileSync } = fs;
  const blobs = `${dir}/blobs/sha256`;
  mkdirSync(blobs, { recursive: true });
  const put = (digest: string, bytes: Buffer) => writeFileSync(`${blobs}/${digest.slice("sha256:".length)}`, bytes);
  for (const { img } of images) {
    put(img.config.digest, img.config.bytes);
    for (const l of img.layers) put(l.digest, l.bytes);
    put(img.manifest.digest, img.manifest.bytes);
  }
  writeFileSync(`${dir}/oci-layout`, JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(
    `${dir}/index.json`,
    JSON.stringify({
      schemaVersion: 2,
      manifests: images.map(({ img, tag }) => ({ mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.bytes.byteLength, annotations: { "org.opencontainers.image.ref.name": tag } })),
    }),
  );
}

/** Re-hashes every blob of a Fizz registry store; returns the names whose bytes do not match. */
export function corruptBlobs(root: string): { checked: number; bad: string[] } {
  const { readdirSync, readFileSync } = fs;
  const bad: string[] = [];
  let checked = 0;
  const base = `${root}/blobs/sha256`;
  let fans: string[] = [];
  try {
    fans = readdirSync(base);
  } catch {
    return { checked, bad };
  }
  for (const fan of fans) {
    for (const hex of readdirSync(`${base}/${fan}`)) {
      checked++;
      const actual = createHash("sha256").update(readFileSync(`${base}/${fan}/${hex}`)).digest("hex");
      if (actual !== hex) bad.push(hex);
    }
  }
  return { checked, bad };
}
