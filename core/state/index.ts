/**
 * The cluster state of 001 "State Schema" (nodes, deployments, service scales,
 * containers, secrets, IP allocations) built on core/crdt, as an immutable
 * value with typed mutators that return `{state, delta}`, `applyDelta` (the
 * CRDT join), read helpers, canonical byte encodings for the store and the
 * wire, and bucketed digests for push-pull anti-entropy.
 */
export * from "./schema.ts";
export * from "./secrets.ts";
export * from "./ip.ts";
export * from "./applied.ts";
export * from "./cluster-state.ts";
export * from "./codec.ts";
export * from "./digest.ts";
export * from "./replica.ts";
export * from "./sync.ts";
export * from "./registry.ts";
export * from "./ingress.ts";
export * from "./delta-scope.ts";
