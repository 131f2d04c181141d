/**
 * The registry's adapters: the content-addressed blob store on disk (atomic
 * appearance), upload sessions, metadata in SQLite, blobs fetched while they
 * are served (Inflight), the Registry operations, and the HTTP handler and
 * listener, the upstream client (TLS verified, token auth) and the sources
 * a node fetches missing content from (peers, fetcher, upstream), and the
 * blobs fetched ahead of a client that read their manifest. Protocol
 * rules come from core/registry.
 */
export * from "./blob-store.ts";
export * from "./meta.ts";
export * from "./uploads.ts";
export * from "./inflight.ts";
export * from "./prefetch.ts";
export * from "./registry.ts";
export * from "./http.ts";
export * from "./server.ts";
export * from "./upstream.ts";
export * from "./remote.ts";
export * from "./peer-client.ts";
