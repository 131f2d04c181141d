/**
 * ClusterState: the replicated desired and observed state of the cluster, as
 * an immutable value. Every collection is a CRDT (LWW-Maps keyed as in
 * schema.ts, and the IP claim table of ip.ts), so the state as a whole is a
 * CRDT: `mergeState` is commutative, associative and idempotent.
 *
 * A delta is a ClusterState with only some collections and keys present
 * (`ClusterDelta`). Mutators take the current state and an HLC timestamp from
 * the node's clock and return `{state, delta}`; the delta is what the gossip
 * layer piggybacks, and `applyDelta` is just the merge. Nothing is mutated in
 * place, so a caller can keep the previous state for diffing at no cost; the
 * price is one copy of each touched collection per change (O(entries)), which
 * is why the agent holds its state in a ClusterReplica (replica.ts) that
 * applies the same deltas in place.
 */
import {
  dictGet,
  emptyDict,
  encodeHlc,
  lwwDeleteDelta,
  lwwMapEmpty,
  lwwMapEntries,
  lwwMapGet,
  lwwMapMerge,
  lwwMapPurge,
  lwwPutDelta,
  newDict,
  decodeHlc,
  type Dict,
  type DriftError,
  type Hlc,
  type HlcClock,
  type HlcString,
  type Json,
  type LwwMap,
} from "../crdt/index.ts";
import { FizzError } from "../errors.ts";
import { claimOwner, mergeIpTable, type IpTable } from "./ip.ts";
import { appliedKey, type AppliedRecord } from "./applied.ts";
import {
  containerKey,
  isAddress,
  isId,
  parseContainerKey,
  serviceKey,
  type ContainerRecord,
  type DeploymentRecord,
  type IpClaim,
  type NodeInfo,
  type NodeState,
  type ServiceScale,
} from "./schema.ts";
import type { RegistryRecord } from "./registry-record.ts";
import type { SecretsRecord } from "./secrets.ts";
import type { IngressRecord } from "./ingress-record.ts";

export interface ClusterState {
  readonly nodes: LwwMap<NodeInfo>;
  readonly deployments: LwwMap<DeploymentRecord>;
  readonly services: LwwMap<ServiceScale>;
  readonly containers: LwwMap<ContainerRecord>;
  readonly secrets: LwwMap<SecretsRecord>;
  readonly ips: IpTable;
  /** Who holds which digest, registry peer addresses, pushed tags (registry.ts). */
  readonly registry: LwwMap<RegistryRecord>;
  /** The last deploy intent each node applied, per deployment (applied.ts). */
  readonly applied: LwwMap<AppliedRecord>;
  /** Draining marks, ACME accounts, certificates and challenge tokens (ingress.ts). */
  readonly ingress: LwwMap<IngressRecord>;
}

export const COLLECTIONS = ["nodes", "deployments", "services", "containers", "secrets", "ips", "registry", "applied", "ingress"] as const;
export type Collection = (typeof COLLECTIONS)[number];

export type ClusterDelta = { readonly [K in Collection]?: ClusterState[K] };

export interface Change {
  readonly state: ClusterState;
  readonly delta: ClusterDelta;
}

export type ChangeResult = ({ readonly ok: true } & Change) | { readonly ok: false; readonly error: FizzError };

export function emptyState(): ClusterState {
  return {
    nodes: lwwMapEmpty(),
    deployments: lwwMapEmpty(),
    services: lwwMapEmpty(),
    containers: lwwMapEmpty(),
    secrets: lwwMapEmpty(),
    ips: emptyDict(),
    registry: lwwMapEmpty(),
    applied: lwwMapEmpty(),
    ingress: lwwMapEmpty(),
  };
}

/** Join of a state with a delta (or another full state). Untouched collections are shared, not copied. */
export function applyDelta(state: ClusterState, delta: ClusterDelta): ClusterState {
  return {
    nodes: delta.nodes ? lwwMapMerge(state.nodes, delta.nodes) : state.nodes,
    deployments: delta.deployments ? lwwMapMerge(state.deployments, delta.deployments) : state.deployments,
    services: delta.services ? lwwMapMerge(state.services, delta.services) : state.services,
    containers: delta.containers ? lwwMapMerge(state.containers, delta.containers) : state.containers,
    secrets: delta.secrets ? lwwMapMerge(state.secrets, delta.secrets) : state.secrets,
    ips: delta.ips ? mergeIpTable(state.ips, delta.ips) : state.ips,
    registry: delta.registry ? lwwMapMerge(state.registry, delta.registry) : state.registry,
    applied: delta.applied ? lwwMapMerge(state.applied, delta.applied) : state.applied,
    ingress: delta.ingress ? lwwMapMerge(state.ingress, delta.ingress) : state.ingress,
  };
}

export const mergeState: (a: ClusterState, b: ClusterState) => ClusterState = applyDelta;

/** Join of two deltas (to batch several changes into one gossip payload). */
export function mergeDeltas(a: ClusterDelta, b: ClusterDelta): ClusterDelta {
  const out: { -readonly [K in Collection]?: ClusterState[K] } = {};
  if (a.nodes || b.nodes) out.nodes = lwwMapMerge(a.nodes ?? lwwMapEmpty(), b.nodes ?? lwwMapEmpty());
  if (a.deployments || b.deployments) out.deployments = lwwMapMerge(a.deployments ?? lwwMapEmpty(), b.deployments ?? lwwMapEmpty());
  if (a.services || b.services) out.services = lwwMapMerge(a.services ?? lwwMapEmpty(), b.services ?? lwwMapEmpty());
  if (a.containers || b.containers) out.containers = lwwMapMerge(a.containers ?? lwwMapEmpty(), b.containers ?? lwwMapEmpty());
  if (a.secrets || b.secrets) out.secrets = lwwMapMerge(a.secrets ?? lwwMapEmpty(), b.secrets ?? lwwMapEmpty());
  if (a.ips || b.ips) out.ips = mergeIpTable(a.ips ?? emptyDict(), b.ips ?? emptyDict());
  if (a.registry || b.registry) out.registry = lwwMapMerge(a.registry ?? lwwMapEmpty(), b.registry ?? lwwMapEmpty());
  if (a.applied || b.applied) out.applied = lwwMapMerge(a.applied ?? lwwMapEmpty(), b.applied ?? lwwMapEmpty());
  if (a.ingress || b.ingress) out.ingress = lwwMapMerge(a.ingress ?? lwwMapEmpty(), b.ingress ?? lwwMapEmpty());
  return out;
}

export function deltaIsEmpty(d: ClusterDelta): boolean {
  return COLLECTIONS.every((c) => !d[c] || Object.keys(d[c]!).length === 0);
}

/**
 * The new state is computed on first access: ClusterReplica (replica.ts) only
 * takes the delta and applies it in place, so it never pays for the copy.
 */
export function deltaChange(prev: ClusterState, delta: ClusterDelta): Change {
  let next: ClusterState | undefined;
  return {
    delta,
    get state() {
      return (next ??= applyDelta(prev, delta));
    },
  };
}

function okChange(prev: ClusterState, delta: ClusterDelta): ChangeResult {
  let next: ClusterState | undefined;
  return {
    ok: true,
    delta,
    get state() {
      return (next ??= applyDelta(prev, delta));
    },
  };
}

function invalid(code: string, message: string): { ok: false; error: FizzError } {
  return { ok: false, error: new FizzError({ code, message }) };
}

// ---- nodes ---------------------------------------------------------------

export function putNode(state: ClusterState, ts: Hlc, nodeId: string, info: NodeInfo): Change {
  return deltaChange(state, { nodes: lwwPutDelta(nodeId, info, ts) });
}

/** Change only the lifecycle state of a known node; undefined when the node is unknown. */
export function setNodeState(state: ClusterState, ts: Hlc, nodeId: string, nodeState: NodeState): Change | undefined {
  const cur = lwwMapGet(state.nodes, nodeId);
  if (!cur) return undefined;
  return putNode(state, ts, nodeId, { ...cur, state: nodeState });
}

export function removeNode(state: ClusterState, ts: Hlc, nodeId: string): Change {
  return deltaChange(state, { nodes: lwwDeleteDelta(nodeId, ts) });
}

export function getNode(state: ClusterState, nodeId: string): NodeInfo | undefined {
  return lwwMapGet(state.nodes, nodeId);
}

export function listNodes(state: ClusterState): [string, NodeInfo][] {
  return lwwMapEntries(state.nodes);
}

// ---- deployments and services ---------------------------------------------

/** `intent`: how this change is to be applied (core/deploy/intent.ts), replaced with every put. */
export function putDeployment(state: ClusterState, ts: Hlc, id: string, project: string, spec: Json, intent?: Json, opts: { readonly revert?: boolean } = {}): ChangeResult {
  if (!isId(id)) return invalid("state.invalid_id", `deployment id ${JSON.stringify(id)} must match [A-Za-z0-9._-]{1,128}`);
  const prev = dictGet(state.deployments, id);
  const live = prev && !prev.deleted ? prev.value : undefined;
  const stamp = encodeHlc(ts);
  // The spec it replaces becomes `previous` (an unchanged put keeps the older one). A revert (a failed change or
  // update rolled back) keeps none: the spec it replaces is the one that failed, and `fizz rollback` must not bring
  // that back (as on one node).
  const previous = opts.revert ? undefined : live && JSON.stringify(live.spec) !== JSON.stringify(spec) ? live.spec : live?.previous;
  const rec: DeploymentRecord = {
    project,
    spec,
    version: (live?.version ?? 0) + 1,
    created: live?.created ?? stamp,
    updated: stamp,
    ...(previous !== undefined ? { previous } : {}),
    ...(intent !== undefined ? { intent } : {}),
  };
  return okChange(state, { deployments: lwwPutDelta(id, rec, ts) });
}

/** Tombstones the deployment, its service scales and the nodes' applied records. Containers are removed by the nodes that run them. */
export function deleteDeployment(state: ClusterState, ts: Hlc, id: string): Change {
  const services = newDict<LwwMap<ServiceScale>[string]>();
  const applied = newDict<LwwMap<AppliedRecord>[string]>();
  const prefix = `${id}/`;
  for (const k of Object.keys(state.services)) {
    if (k.startsWith(prefix) && !state.services[k]!.deleted) services[k] = lwwDeleteDelta<ServiceScale>(k, ts)[k]!;
  }
  for (const k of Object.keys(state.applied)) {
    if (k.startsWith(prefix) && !state.applied[k]!.deleted) applied[k] = lwwDeleteDelta<AppliedRecord>(k, ts)[k]!;
  }
  return deltaChange(state, { deployments: lwwDeleteDelta(id, ts), services, ...(Object.keys(applied).length ? { applied } : {}) });
}

export function getDeployment(state: ClusterState, id: string): DeploymentRecord | undefined {
  return lwwMapGet(state.deployments, id);
}

export function listDeployments(state: ClusterState): [string, DeploymentRecord][] {
  return lwwMapEntries(state.deployments);
}

export function setReplicas(state: ClusterState, ts: Hlc, deploymentId: string, service: string, replicas: number): ChangeResult {
  if (!isId(deploymentId) || !isId(service)) return invalid("state.invalid_id", `invalid deployment or service name ${JSON.stringify(`${deploymentId}/${service}`)}`);
  if (!Number.isSafeInteger(replicas) || replicas < 0 || replicas > 100_000) return invalid("state.invalid_replicas", `replicas must be an integer in [0, 100000], got ${replicas}`);
  const k = serviceKey(deploymentId, service);
  return okChange(state, { services: lwwPutDelta(k, { replicas }, ts) });
}

export function getReplicas(state: ClusterState, deploymentId: string, service: string): number | undefined {
  return lwwMapGet(state.services, serviceKey(deploymentId, service))?.replicas;
}

/** Drops a `fizz scale` override: the service runs what its spec says again. */
export function clearReplicas(state: ClusterState, ts: Hlc, deploymentId: string, service: string): Change {
  return deltaChange(state, { services: lwwDeleteDelta<ServiceScale>(serviceKey(deploymentId, service), ts) });
}

/** Desired replicas of every service of a deployment: service → count. */
export function servicesOf(state: ClusterState, deploymentId: string): [string, number][] {
  const prefix = `${deploymentId}/`;
  return lwwMapEntries(state.services)
    .filter(([k]) => k.startsWith(prefix))
    .map(([k, v]) => [k.slice(prefix.length), v.replicas]);
}

// ---- applied intents (applied.ts) ---------------------------------------------

/** What `nodeId` applied of a deployment's intents last. Only that node writes its row. */
export function recordApplied(state: ClusterState, ts: Hlc, deploymentId: string, nodeId: string, rec: AppliedRecord): ChangeResult {
  if (!isId(deploymentId)) return invalid("state.invalid_id", `invalid deployment id ${JSON.stringify(deploymentId)}`);
  return okChange(state, { applied: lwwPutDelta(appliedKey(deploymentId, nodeId), rec, ts) });
}

export function getApplied(state: ClusterState, deploymentId: string, nodeId: string): AppliedRecord | undefined {
  return lwwMapGet(state.applied, appliedKey(deploymentId, nodeId));
}

// ---- containers ---------------------------------------------------------

/** Record what `rec.nodeId` runs for one replica. Only that node should write its rows. */
export function recordContainer(state: ClusterState, ts: Hlc, rec: ContainerRecord): ChangeResult {
  const k = containerKey(rec.deploymentId, rec.service, rec.index, rec.nodeId);
  if (!parseContainerKey(k)) return invalid("state.invalid_id", `invalid container key ${JSON.stringify(k)}`);
  return okChange(state, { containers: lwwPutDelta(k, rec, ts) });
}

export function removeContainer(state: ClusterState, ts: Hlc, deploymentId: string, service: string, index: number, nodeId: string): Change {
  const k = containerKey(deploymentId, service, index, nodeId);
  return deltaChange(state, { containers: lwwDeleteDelta(k, ts) });
}

/** Container rows, optionally for one deployment (and service), sorted by key. */
export function listContainers(state: ClusterState, deploymentId?: string, service?: string): ContainerRecord[] {
  const prefix = deploymentId === undefined ? "" : service === undefined ? `${deploymentId}/` : `${deploymentId}/${service}/`;
  return lwwMapEntries(state.containers)
    .filter(([k]) => k.startsWith(prefix))
    .map(([, v]) => v);
}

/** Every node that reports running replica `index`: more than one means a duplicate (e.g. after a partition). */
export function replicaHolders(state: ClusterState, deploymentId: string, service: string, index: number): ContainerRecord[] {
  return listContainers(state, deploymentId, service).filter((c) => c.index === index);
}

export function containersOnNode(state: ClusterState, nodeId: string): ContainerRecord[] {
  return lwwMapEntries(state.containers)
    .map(([, v]) => v)
    .filter((c) => c.nodeId === nodeId);
}

// ---- secrets --------------------------------------------------------------

/** Writes one record of the secrets collection (secrets.ts says which keys hold what). */
export function putSecretsRecord(state: ClusterState, ts: Hlc, key: string, rec: SecretsRecord): Change {
  return deltaChange(state, { secrets: lwwPutDelta(key, rec, ts) });
}

export function deleteSecretsRecord(state: ClusterState, ts: Hlc, key: string): Change {
  return deltaChange(state, { secrets: lwwDeleteDelta(key, ts) });
}

/**
 * Writes (a record) and deletes (null) several records of the secrets
 * collection in one delta with one timestamp: a node that receives it sees
 * all of them or none (a new version's ciphertext and the metadata naming it).
 */
export function putSecretsRecords(state: ClusterState, ts: Hlc, entries: readonly (readonly [string, SecretsRecord | null])[]): Change {
  const delta = Object.assign(Object.create(null) as Record<string, unknown>, ...entries.map(([k, r]) => (r ? lwwPutDelta(k, r, ts) : lwwDeleteDelta(k, ts))));
  return deltaChange(state, { secrets: delta as ReturnType<typeof lwwPutDelta<SecretsRecord>> });
}

export function getSecretsRecord(state: ClusterState, key: string): SecretsRecord | undefined {
  return lwwMapGet(state.secrets, key);
}

/** Live records whose key starts with `prefix`, sorted by key. */
export function listSecretsRecords(state: ClusterState, prefix = ""): [string, SecretsRecord][] {
  return lwwMapEntries(state.secrets).filter(([k]) => k.startsWith(prefix));
}

// ---- IP allocations -------------------------------------------------------

/**
 * Claim `address` for `owner`. Fails locally when the address is already held.
 * Concurrent claims on different nodes both succeed here; after merge the
 * lowest timestamp owns it and the loser must notice (`ipOwner(...) !== me`)
 * and claim another address.
 */
export function allocateIp(state: ClusterState, ts: Hlc, address: string, owner: string): ChangeResult {
  if (!isAddress(address)) return invalid("state.invalid_address", `invalid address ${JSON.stringify(address)}`);
  const cur = dictGet(state.ips, address);
  if (cur && !cur.released) {
    return invalid("state.ip_taken", `${address} is already allocated to ${cur.owner}`);
  }
  const claim: IpClaim = { epoch: cur ? cur.epoch + 1 : 0, owner, ts: encodeHlc(ts), released: false };
  const ips = newDict<IpClaim>();
  ips[address] = claim;
  return okChange(state, { ips });
}

/** Release an address held by `owner`; fails if someone else holds it (e.g. we lost a conflict). */
export function releaseIp(state: ClusterState, address: string, owner: string): ChangeResult {
  const cur = dictGet(state.ips, address);
  if (!cur || cur.released) return invalid("state.ip_not_allocated", `${address} is not allocated`);
  if (cur.owner !== owner) return invalid("state.ip_not_owner", `${address} is held by ${cur.owner}, not ${owner}`);
  const ips = newDict<IpClaim>();
  ips[address] = { ...cur, released: true };
  return okChange(state, { ips });
}

export function ipOwner(state: ClusterState, address: string): string | undefined {
  return claimOwner(state.ips, address);
}

/** Addresses currently held by `owner`, sorted. */
export function ipsOf(state: ClusterState, owner: string): string[] {
  return Object.keys(state.ips)
    .filter((a) => claimOwner(state.ips, a) === owner)
    .sort();
}

// ---- helpers --------------------------------------------------------------

/**
 * Standard padded base64, with the platform's `btoa` (Bun, Deno and Node alike). A
 * character-at-a-time encoder was ~2% of an agent's CPU in a deploy: the whole
 * state is encoded each time it is persisted.
 */
export function toBase64(b: Uint8Array): string {
  let bin = "";
  for (let i = 0; i < b.length; i += 0x8000) bin += String.fromCharCode.apply(null, b.subarray(i, i + 0x8000) as unknown as number[]);
  return btoa(bin);
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

export function fromBase64(s: string): Uint8Array {
  const clean = s.replace(/=+$/, "");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let acc = 0;
  let j = 0;
  for (const ch of clean) {
    const v = B64.indexOf(ch);
    if (v < 0) throw new RangeError("invalid base64");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[j++] = (acc >> bits) & 0xff;
    }
  }
  return out.subarray(0, j);
}

// ---- clocks ----------------------------------------------------------------

/** The latest timestamp written in a delta (entries' `ts`), or undefined for an empty delta. */
export function deltaMaxTs(delta: ClusterDelta): HlcString | undefined {
  let max: HlcString | undefined;
  for (const c of COLLECTIONS) {
    const d = delta[c] as Dict<{ readonly ts: HlcString }> | undefined;
    if (!d) continue;
    for (const k of Object.keys(d)) {
      const t = d[k]!.ts;
      if (max === undefined || t > max) max = t;
    }
  }
  return max;
}

/**
 * Gate for incoming deltas: advances the local clock past the delta's latest
 * stamp (so our next write orders after what we have seen), or refuses the
 * delta when that stamp is further in the future than the clock's max drift —
 * a node with a runaway clock would otherwise win every LWW conflict.
 */
export function admitDelta(clock: HlcClock, delta: ClusterDelta, wallMs: number): { readonly ok: true } | { readonly ok: false; readonly error: DriftError } {
  const max = deltaMaxTs(delta);
  if (max === undefined) return { ok: true };
  const d = decodeHlc(max);
  if (!d.ok) return { ok: true }; // decoded deltas are validated; an unparsable stamp cannot reach here
  const r = clock.receive(d.value, wallMs);
  return r.ok ? { ok: true } : { ok: false, error: r.error };
}

/**
 * Drop LWW tombstones stamped before `before` from every collection. Safe once
 * no write older than `before` can still arrive from anywhere — pick a horizon
 * well beyond the longest partition you intend to heal from (e.g. 7 days).
 * IP claims are kept: a released claim's epoch is what orders re-allocations.
 */
export function purgeTombstones(state: ClusterState, before: HlcString): ClusterState {
  return {
    nodes: lwwMapPurge(state.nodes, before),
    deployments: lwwMapPurge(state.deployments, before),
    services: lwwMapPurge(state.services, before),
    containers: lwwMapPurge(state.containers, before),
    applied: lwwMapPurge(state.applied, before),
    secrets: lwwMapPurge(state.secrets, before),
    ips: state.ips,
    registry: lwwMapPurge(state.registry, before),
    ingress: lwwMapPurge(state.ingress, before),
  };
}
