/**
 * Compose: turns one or more compose files (plus .env and the process
 * environment) into the normalised `Project` model in model.ts, with every
 * problem reported at once as a located Diagnostic. Pure: file access goes
 * through the injected `FileReader` (load.ts); the real one is
 * platform/fs-reader.ts, and cmd/compose-load.ts wires both for the CLI.
 *
 * Pipeline (load.ts): discover files → .env → per file: parse (fastyaml.ts,
 * falling back to the yaml package in source.ts) → interpolate
 * (interpolate.ts) → extends/include → merge files (merge.ts, tags.ts) →
 * profiles → normalise (normalize.ts over the schema engine in schema.ts,
 * x-fizz in xfizz.ts) → cross-checks and unsupported-field warnings
 * (validate.ts, unsupported.ts). serialize.ts prints the result like
 * `docker compose config`; hash.ts gives each service's config hash.
 */
export * from "./model.ts";
export { serviceConfigHash, canonicalJson } from "./hash.ts";
export { loadProject, discoverFiles, normalizeProjectName, DEFAULT_FILES, type FileReader, type LoadOptions, type LoadResult } from "./load.ts";
export { formatDiagnostic, diagnosticsError } from "./diagnostics.ts";
export { projectDocument, projectYaml, serviceDocument } from "./serialize.ts";
export { parseDuration, formatDuration, parseBytes } from "./units.ts";
export { interpolate, escapeDollars } from "./interpolate.ts";
export { implicitDeps } from "./query.ts";
export { replicaCount, replicasOf, startOrder } from "./query.ts";
