/**
 * CRDTs for the cluster state: a hybrid logical clock, LWW-Register and
 * LWW-Map, an add-wins OR-Set with dots and causal-stability GC, G- and
 * PN-Counters, version vectors. All state is plain JSON data (null-prototype
 * dicts); merges are pure functions; every mutator returns `{…, delta}` where
 * the delta is itself a state of the same type (delta-state CRDTs); every
 * `decode*` validates untrusted input and returns a typed `crdt.decode` error.
 */
export * from "./json.ts";
export * from "./dict.ts";
export * from "./decode.ts";
export * from "./hlc.ts";
export * from "./version-vector.ts";
export * from "./lww-register.ts";
export * from "./lww-map.ts";
export * from "./or-set.ts";
export * from "./g-counter.ts";
export * from "./pn-counter.ts";
