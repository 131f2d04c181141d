/**
 * Manifest validation for PUT (and for what a pull-through cache receives):
 * the bytes must be one JSON object of schema version 2 whose type (the
 * `mediaType` field, else the request's Content-Type, else its shape) is an
 * image manifest or an index this registry serves, with well-formed
 * descriptors. What comes back names every blob and child manifest it
 * references, so the store can refuse a manifest whose blobs it lacks
 * (MANIFEST_BLOB_UNKNOWN) and GC can walk from tags to blobs. The bytes
 * themselves are never re-encoded: the digest is of what the client sent.
 */
import { LIMITS, limitMessage } from "../limits.ts";
import { isDigest, type Digest } from "./digest.ts";
import { regErr } from "./errors.ts";
import { bareMediaType, isForeignLayer, manifestKind, MT, type ManifestKind } from "./media-types.ts";

/** distribution's limit, and the spec's "at least 4 megabytes" (core/limits.ts). */
export const MAX_MANIFEST_BYTES = LIMITS.manifestBytes.max;
/** Descriptors in one manifest or index: far above any real image, bounds the work per PUT. */
export const MAX_DESCRIPTORS = 10_000;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: Digest;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly urls?: readonly string[];
  readonly platform?: Readonly<{ architecture: string; os: string; variant?: string }>;
}

export interface ParsedManifest {
  readonly kind: ManifestKind;
  /** The type the manifest is served with (its `mediaType`, else the PUT's Content-Type). */
  readonly mediaType: string;
  /** Image manifests: config. */
  readonly config?: Descriptor;
  /** Image manifests: layers (may be empty for artifacts). */
  readonly layers: readonly Descriptor[];
  /** Indexes: the manifests they list. */
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

function invalid(message: string, detail?: unknown): never {
  throw regErr("MANIFEST_INVALID", message, detail);
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function stringMap(v: unknown, path: string): Record<string, string> {
  if (!isPlainObject(v)) invalid(`${path} must be an object of strings`);
  for (const [k, x] of Object.entries(v)) if (typeof x !== "string") invalid(`${path}.${k} must be a string`);
  return v as Record<string, string>;
}

export function parseDescriptor(v: unknown, path: string): Descriptor {
  if (!isPlainObject(v)) invalid(`${path} must be a descriptor object`);
  const { mediaType, digest, size, artifactType, annotations, urls, platform } = v;
  if (typeof mediaType !== "string" || mediaType.length === 0 || mediaType.length > 255) invalid(`${path}.mediaType must be a media type string`);
  if (typeof digest !== "string" || !isDigest(digest)) invalid(`${path}.digest is not a valid digest`, { digest: typeof digest === "string" ? digest.slice(0, 160) : digest });
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) invalid(`${path}.size must be a non-negative integer`);
  if (artifactType !== undefined && typeof artifactType !== "string") invalid(`${path}.artifactType must be a string`);
  if (urls !== undefined && (!Array.isArray(urls) || !urls.every((u) => typeof u === "string"))) invalid(`${path}.urls must be a list of strings`);
  let plat: Descriptor["platform"];
  if (platform !== undefined) {
    if (!isPlainObject(platform) || typeof platform.architecture !== "string" || typeof platform.os !== "string") invalid(`${path}.platform needs string architecture and os`);
    if (platform.variant !== undefined && typeof platform.variant !== "string") invalid(`${path}.platform.variant must be a string`);
    plat = { architecture: platform.architecture, os: platform.os, ...(typeof platform.variant === "string" ? { variant: platform.variant } : {}) };
  }
  return {
    mediaType,
    digest,
    size,
    ...(artifactType !== undefined ? { artifactType: artifactType as string } : {}),
    ...(annotations !== undefined ? { annotations: stringMap(annotations, `${path}.annotations`) } : {}),
    ...(urls !== undefined ? { urls: urls as string[] } : {}),
    ...(plat ? { platform: plat } : {}),
  };
}

function descriptorList(v: unknown, path: string): Descriptor[] {
  if (!Array.isArray(v)) invalid(`${path} must be a list of descriptors`);
  if (v.length > MAX_DESCRIPTORS) invalid(`${path} has ${v.length} descriptors, over the limit of ${MAX_DESCRIPTORS}`);
  return v.map((d, i) => parseDescriptor(d, `${path}[${i}]`));
}

/**
 * Parses and checks manifest bytes. `contentType` is the request's (PUT) or
 * the upstream response's header; it must agree with the `mediaType` field
 * when both are there (the spec's rule for clients, enforced here so nobody
 * is served a type the document contradicts).
 */
export function parseManifest(bytes: Uint8Array, contentType?: string): ParsedManifest {
  if (bytes.byteLength > MAX_MANIFEST_BYTES) {
    throw regErr("MANIFEST_INVALID", limitMessage("manifestBytes", "the manifest", bytes.byteLength), { size: bytes.byteLength, limit: MAX_MANIFEST_BYTES }, 413);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    invalid(`manifest is not valid UTF-8 JSON: ${(e as Error).message.slice(0, 200)}`);
  }
  if (!isPlainObject(doc)) invalid("manifest must be a JSON object");
  const header = bareMediaType(contentType);
  const field = doc.mediaType;
  if (field !== undefined && typeof field !== "string") invalid("mediaType must be a string");
  if (field === MT.dockerSchema1 || field === MT.dockerSchema1Signed || header === MT.dockerSchema1 || header === MT.dockerSchema1Signed || doc.schemaVersion === 1) {
    throw regErr("MANIFEST_INVALID", "Docker schema 1 manifests are not supported (deprecated since 2017); push with a current client, which sends schema 2 or OCI");
  }
  if (doc.schemaVersion !== 2) invalid(`schemaVersion must be 2, got ${JSON.stringify(doc.schemaVersion)?.slice(0, 40)}`);

  const typed = header !== "" && manifestKind(header) !== undefined ? header : undefined;
  if (typeof field === "string" && typed !== undefined && field !== typed) {
    invalid(`the manifest's mediaType '${field.slice(0, 120)}' does not match its Content-Type '${typed}'`);
  }
  const mediaType = (field as string | undefined) ?? typed ?? ("manifests" in doc ? MT.ociIndex : "config" in doc ? MT.ociManifest : undefined);
  if (mediaType === undefined) invalid("cannot tell the manifest's type: it has no mediaType, the Content-Type is not a manifest type, and it has neither config nor manifests");
  const kind = manifestKind(mediaType);
  if (kind === undefined) throw regErr("MANIFEST_INVALID", `unsupported manifest media type '${mediaType.slice(0, 120)}'`, { mediaType: mediaType.slice(0, 120) });

  const subject = doc.subject === undefined ? undefined : parseDescriptor(doc.subject, "subject");
  const artifactType = doc.artifactType;
  if (artifactType !== undefined && typeof artifactType !== "string") invalid("artifactType must be a string");
  const annotations = doc.annotations === undefined ? undefined : stringMap(doc.annotations, "annotations");
  const common = {
    kind,
    mediaType,
    ...(subject ? { subject } : {}),
    ...(typeof artifactType === "string" ? { artifactType } : {}),
    ...(annotations ? { annotations } : {}),
  };
  if (kind === "index") {
    if ("config" in doc || "layers" in doc) invalid("an index has manifests, not config or layers");
    return { ...common, layers: [], manifests: descriptorList(doc.manifests, "manifests") };
  }
  if ("manifests" in doc) invalid("an image manifest has config and layers, not manifests");
  const config = parseDescriptor(doc.config, "config");
  const layers = doc.layers === undefined && mediaType === MT.ociManifest ? [] : descriptorList(doc.layers, "layers");
  return { ...common, config, layers, manifests: [] };
}

/** Blobs the registry must hold for this manifest (config and layers; foreign layers live elsewhere). */
export function requiredBlobs(m: ParsedManifest): Descriptor[] {
  if (m.kind === "index") return [];
  return [...(m.config ? [m.config] : []), ...m.layers.filter((l) => !isForeignLayer(l.mediaType))];
}

/** Every digest this manifest keeps alive: blobs, child manifests and (for GC) nothing else: a subject is not owned. */
export function referencedDigests(m: ParsedManifest): Digest[] {
  return [...(m.config ? [m.config.digest] : []), ...m.layers.map((l) => l.digest), ...m.manifests.map((c) => c.digest)];
}

/** The descriptor a referrers list shows for this manifest (spec "Listing Referrers"). */
export function referrerDescriptor(m: ParsedManifest, digest: Digest, size: number): Descriptor {
  const artifactType = m.artifactType ?? (m.kind === "image" ? m.config?.mediaType : undefined);
  return {
    mediaType: m.mediaType,
    digest,
    size,
    ...(artifactType ? { artifactType } : {}),
    ...(m.annotations ? { annotations: m.annotations } : {}),
  };
}
