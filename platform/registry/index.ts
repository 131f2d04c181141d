/**
 * The registry's adapters: the content-addressed blob store on disk (atomic
 * appearance), upload sessions, metadata in SQLite, blobs fetched while they
 * are served (Inflight), the Registry operations, and the HTTP handler and
 * listener. Protocol rules come from core/registry.
 */
export * from "./blob-store.ts";
export * from "./meta.ts";
export * from "./uploads.ts";
export * from "./inflight.ts";
export * from "./registry.ts";
export * from "./http.ts";
export * from "./server.ts";
