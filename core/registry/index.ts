/**
 * The OCI distribution protocol's rules (spec v1.1), pure: digests, names,
 * tags and references, the endpoints, media types and manifest validation,
 * upload sessions, byte ranges, paged lists, referrers, spec error codes,
 * garbage-collection decisions, docker-style image references and which
 * repositories mirror which upstream, upstream auth challenges and
 * config.json credentials, and which source (peer, fetcher, upstream) a node
 * gets missing content from, and the TLS identity peers derive from the
 * cluster key and where a member's peer listener is, and which blobs to
 * fetch ahead when a client reads an image manifest. platform/registry
 * puts these on disk and HTTP.
 */
export * from "./errors.ts";
export * from "./digest.ts";
export * from "./name.ts";
export * from "./media-types.ts";
export * from "./manifest.ts";
export * from "./range.ts";
export * from "./upload.ts";
export * from "./paginate.ts";
export * from "./routes.ts";
export * from "./referrers.ts";
export * from "./gc.ts";
export * from "./image-ref.ts";
export * from "./namespace.ts";
export * from "./auth.ts";
export * from "./sources.ts";
export * from "./peer-cert.ts";
export * from "./peer-address.ts";
export * from "./prefetch.ts";
