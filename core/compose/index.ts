/**
 * Compose: turns one or more compose files (plus .env and the process
 * environment) into the normalised `Project` model in model.ts, with every
 * problem reported at once as a located Diagnostic. Pure: file access goes
 * through the injected `FileReader` (see load.ts); the real one lives in
 * platform/fs-reader.ts.
 */
export * from "./model.ts";
export { serviceConfigHash, canonicalJson } from "./hash.ts";
