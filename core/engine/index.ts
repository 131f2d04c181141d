/**
 * Pure pieces of talking to a container engine: the multiplexed stdout/stderr
 * frame codec (logs, attach, exec), the concatenated-JSON stream splitter
 * (events, pull/build progress), API version negotiation, `.dockerignore`
 * matching for build contexts, the mapping of engine failures to
 * FizzErrors, and what identifies one engine instance (`identity.ts`). No
 * sockets here; platform/engine does the I/O.
 */
export * from "./frames.ts";
export * from "./json-stream.ts";
export * from "./api-version.ts";
export * from "./dockerignore.ts";
export * from "./errors.ts";
export * from "./identity.ts";
