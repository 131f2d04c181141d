/**
 * Byte encodings of the cluster state and of deltas: canonical JSON (sorted
 * keys) in UTF-8, wrapped as `{"v":1,...collections}`. Canonical means equal
 * states give equal bytes, which the SQLite store and the digest rely on.
 * Decoders validate every field and key and return a `crdt.decode` error for
 * anything else; they never throw.
 */
import { at, canonical, decodeJsonBytes, emptyDict, fail, lwwMapEmpty, readDict, readInt, readLwwMap, readRecord, type Decoded } from "../crdt/index.ts";
import { COLLECTIONS, type ClusterDelta, type ClusterState, type Collection } from "./cluster-state.ts";
import { checkAppliedKey, readApplied } from "./applied.ts";
import {
  checkAddressKey,
  checkContainerKey,
  checkIdKey,
  checkNodeKey,
  checkServiceKey,
  parseContainerKey,
  readContainer,
  readDeployment,
  readIpClaim,
  readNodeInfo,
  readServiceScale,
} from "./schema.ts";
import { checkRegistryKey, readRegistryRecord } from "./registry-record.ts";
import { checkIngressEntry, checkIngressKey, readIngressRecord } from "./ingress-record.ts";
import { checkSecretsEntry, checkSecretsKey, readSecretsRecord } from "./secrets.ts";

export const STATE_FORMAT_VERSION = 1;

const enc = new TextEncoder();

export function encodeState(state: ClusterState): Uint8Array {
  return enc.encode(canonical({ v: STATE_FORMAT_VERSION, ...state }));
}

export function encodeDelta(delta: ClusterDelta): Uint8Array {
  return enc.encode(canonical({ v: STATE_FORMAT_VERSION, ...delta }));
}

/** Parse one collection by name (shared by state and delta decoders). */
export function readCollection(name: Collection, v: unknown, path: string): ClusterState[Collection] {
  switch (name) {
    case "nodes":
      return readLwwMap(v, path, readNodeInfo, checkNodeKey);
    case "deployments":
      return readLwwMap(v, path, readDeployment, checkIdKey);
    case "services":
      return readLwwMap(v, path, readServiceScale, checkServiceKey);
    case "containers": {
      const m = readLwwMap(v, path, readContainer, checkContainerKey);
      // The key names the writer; a row whose body disagrees with its key is forged or corrupt.
      for (const k of Object.keys(m)) {
        const e = m[k]!;
        if (e.deleted) continue;
        const p = parseContainerKey(k)!;
        const r = e.value;
        if (r.deploymentId !== p.deploymentId || r.service !== p.service || r.index !== p.index || r.nodeId !== p.nodeId) {
          fail(at(path, k), "container record does not match its key");
        }
      }
      return m;
    }
    case "secrets": {
      const m = readLwwMap(v, path, readSecretsRecord, checkSecretsKey);
      for (const k of Object.keys(m)) {
        const e = m[k]!;
        if (!e.deleted) checkSecretsEntry(k, e.value, path);
      }
      return m;
    }
    case "ips":
      return readDict(v, path, readIpClaim, checkAddressKey);
    case "registry":
      return readLwwMap(v, path, readRegistryRecord, checkRegistryKey);
    case "applied":
      return readLwwMap(v, path, readApplied, checkAppliedKey);
    case "ingress": {
      const m = readLwwMap(v, path, readIngressRecord, checkIngressKey);
      for (const k of Object.keys(m)) {
        const e = m[k]!;
        if (!e.deleted) checkIngressEntry(k, e.value, path);
      }
      return m;
    }
  }
}

function readVersion(o: Record<string, unknown>): void {
  readInt(o.v, "v", STATE_FORMAT_VERSION, STATE_FORMAT_VERSION);
}

export function readState(v: unknown, path: string): ClusterState {
  const o = readRecord(v, path, ["v"], COLLECTIONS);
  readVersion(o);
  const get = <K extends Collection>(c: K): ClusterState[K] =>
    (Object.prototype.hasOwnProperty.call(o, c) ? readCollection(c, o[c], at(path, c)) : c === "ips" ? emptyDict() : lwwMapEmpty()) as ClusterState[K];
  return {
    nodes: get("nodes"),
    deployments: get("deployments"),
    services: get("services"),
    containers: get("containers"),
    secrets: get("secrets"),
    ips: get("ips"),
    registry: get("registry"),
    applied: get("applied"),
    ingress: get("ingress"),
  };
}

export function readDelta(v: unknown, path: string): ClusterDelta {
  const o = readRecord(v, path, ["v"], COLLECTIONS);
  readVersion(o);
  const out: { -readonly [K in Collection]?: ClusterState[K] } = {};
  for (const c of COLLECTIONS) {
    if (Object.prototype.hasOwnProperty.call(o, c)) (out as Record<string, unknown>)[c] = readCollection(c, o[c], at(path, c));
  }
  return out;
}

export function decodeState(input: Uint8Array | string): Decoded<ClusterState> {
  return decodeJsonBytes(input, readState);
}

export function decodeDelta(input: Uint8Array | string): Decoded<ClusterDelta> {
  return decodeJsonBytes(input, readDelta);
}
