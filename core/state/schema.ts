/**
 * The records of the cluster state (001 "State Schema") and their validators.
 * Every record is plain JSON so the whole state can be hashed, sent and stored
 * as is. Keys:
 *   nodes        nodeId
 *   deployments  deploymentId
 *   services     deploymentId/service                → desired replicas
 *   containers   deploymentId/service/index/nodeId   → what that node runs
 *   secrets      see secrets.ts                      → keyring, shares, secret versions (ciphertext only)
 *   ips          address                             → claim
 *   applied      deploymentId/nodeId                 → the last intent applied (applied.ts)
 * Containers carry the node in the key so each row has exactly one writer (the
 * node running it): after a partition both copies of a replica stay visible,
 * which is how duplicates are found and removed.
 */
import {
  at,
  fail,
  field,
  isHlcString,
  isNodeId,
  readDict,
  readInt,
  readJson,
  readRecord,
  readString,
  type Dict,
  type HlcString,
  type Json,
} from "../crdt/index.ts";

export const NODE_STATES = ["joining", "alive", "suspect", "dead", "left"] as const;
export type NodeState = (typeof NODE_STATES)[number];

export const CONTAINER_STATUSES = ["pending", "running", "healthy", "unhealthy", "stopped", "failed"] as const;
export type ContainerStatus = (typeof CONTAINER_STATUSES)[number];

export const HEALTH_STATES = ["none", "starting", "healthy", "unhealthy"] as const;
export type Health = (typeof HEALTH_STATES)[number];

export type Resources = {
  readonly cpuMillis: number;
  readonly memoryBytes: number;
};

export type NodeInfo = {
  readonly name: string;
  /** host:port the node's cluster transport listens on */
  readonly address: string;
  readonly labels: Dict<string>;
  readonly resources: Resources;
  readonly state: NodeState;
};

export type DeploymentRecord = {
  /** compose project name */
  readonly project: string;
  /** the normalised compose model, opaque here */
  readonly spec: Json;
  /** bumped on every put from the writer's view; informational (LWW decides) */
  readonly version: number;
  readonly created: HlcString;
  readonly updated: HlcString;
  /** The spec before the last change (what `fizz rollback` and an automatic rollback return to). */
  readonly previous?: Json;
  /** How the last change is to be applied (core/deploy/intent.ts); opaque here. */
  readonly intent?: Json;
};

export type ServiceScale = {
  readonly replicas: number;
};

export type ContainerRecord = {
  readonly deploymentId: string;
  readonly service: string;
  readonly index: number;
  readonly nodeId: string;
  readonly status: ContainerStatus;
  /** engine container id, once created */
  readonly containerId: string | null;
  readonly health: Health;
  /** The service config hash the container was created from (rolling updates compare it). */
  readonly specHash?: string;
  /** When the container was created, ms since the epoch (update_config.monitor counts from it). */
  readonly startedAt?: number;
  /** Its IPv4 address on each cluster network (compose network name → address): what the cluster resolver answers. */
  readonly addresses?: Dict<string>;
};

/** One claim on an address; see ip.ts for the ordering that resolves conflicts. */
export type IpClaim = {
  readonly epoch: number;
  readonly owner: string;
  readonly ts: HlcString;
  readonly released: boolean;
};

/** Ids used inside keys: deployment ids and service names. */
export const ID_RE = /^[A-Za-z0-9._-]{1,128}$/;
const ADDRESS_RE = /^[0-9A-Fa-f:.]{2,45}(\/[0-9]{1,3})?$/;
const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

export function isId(s: string): boolean {
  return ID_RE.test(s);
}

export function isAddress(s: string): boolean {
  return ADDRESS_RE.test(s);
}

export function serviceKey(deploymentId: string, service: string): string {
  return `${deploymentId}/${service}`;
}

export function containerKey(deploymentId: string, service: string, index: number, nodeId: string): string {
  return `${deploymentId}/${service}/${index}/${nodeId}`;
}

export function parseContainerKey(k: string): { deploymentId: string; service: string; index: number; nodeId: string } | undefined {
  const parts = k.split("/");
  if (parts.length !== 4) return undefined;
  const [deploymentId, service, idx, nodeId] = parts as [string, string, string, string];
  if (!isId(deploymentId) || !isId(service) || !/^(0|[1-9][0-9]{0,8})$/.test(idx) || !isNodeId(nodeId)) return undefined;
  return { deploymentId, service, index: Number(idx), nodeId };
}

function oneOf<T extends string>(v: unknown, path: string, options: readonly T[]): T {
  if (typeof v !== "string" || !(options as readonly string[]).includes(v)) fail(path, `expected one of ${options.join(", ")}`);
  return v as T;
}

function readHlc(v: unknown, path: string): HlcString {
  if (!isHlcString(v)) fail(path, "expected an HLC timestamp string");
  return v;
}

export function readNodeInfo(v: unknown, path: string): NodeInfo {
  const o = readRecord(v, path, ["name", "address", "labels", "resources", "state"]);
  const r = readRecord(o.resources, at(path, "resources"), ["cpuMillis", "memoryBytes"]);
  return {
    name: readString(o.name, at(path, "name"), 256),
    address: readString(o.address, at(path, "address"), 256),
    labels: readDict(o.labels, at(path, "labels"), (x, p) => readString(x, p, 4096)),
    resources: { cpuMillis: readInt(r.cpuMillis, at(path, "resources.cpuMillis")), memoryBytes: readInt(r.memoryBytes, at(path, "resources.memoryBytes")) },
    state: oneOf(o.state, at(path, "state"), NODE_STATES),
  };
}

export function readDeployment(v: unknown, path: string): DeploymentRecord {
  const o = readRecord(v, path, ["project", "spec", "version", "created", "updated"], ["previous", "intent"]);
  const previous = field(o, "previous");
  const intent = field(o, "intent");
  return {
    project: readString(o.project, at(path, "project"), 256),
    spec: readJson(o.spec, at(path, "spec")),
    version: readInt(o.version, at(path, "version")),
    created: readHlc(o.created, at(path, "created")),
    updated: readHlc(o.updated, at(path, "updated")),
    ...(previous !== undefined ? { previous: readJson(previous, at(path, "previous")) } : {}),
    ...(intent !== undefined ? { intent: readJson(intent, at(path, "intent")) } : {}),
  };
}

export function readServiceScale(v: unknown, path: string): ServiceScale {
  const o = readRecord(v, path, ["replicas"]);
  return { replicas: readInt(o.replicas, at(path, "replicas"), 0, 100_000) };
}

export function readContainer(v: unknown, path: string): ContainerRecord {
  const o = readRecord(v, path, ["deploymentId", "service", "index", "nodeId", "status", "containerId", "health"], ["specHash", "startedAt", "addresses"]);
  const cid = field(o, "containerId");
  const specHash = field(o, "specHash");
  const startedAt = field(o, "startedAt");
  const addresses = field(o, "addresses");
  return {
    ...(addresses !== undefined
      ? {
          addresses: readDict(
            addresses,
            at(path, "addresses"),
            (x, p) => {
              const a = readString(x, p, 15);
              if (!IPV4_RE.test(a)) fail(p, "expected an IPv4 address");
              return a;
            },
            (k, p) => {
              if (!isId(k)) fail(p, "invalid network name");
            },
          ),
        }
      : {}),
    ...(specHash !== undefined ? { specHash: readString(specHash, at(path, "specHash"), 128) } : {}),
    ...(startedAt !== undefined ? { startedAt: readInt(startedAt, at(path, "startedAt")) } : {}),
    deploymentId: readString(o.deploymentId, at(path, "deploymentId"), 128),
    service: readString(o.service, at(path, "service"), 128),
    index: readInt(o.index, at(path, "index"), 0, 999_999_999),
    nodeId: readString(o.nodeId, at(path, "nodeId"), 64),
    status: oneOf(o.status, at(path, "status"), CONTAINER_STATUSES),
    containerId: cid === null ? null : readString(cid, at(path, "containerId"), 256),
    health: oneOf(o.health, at(path, "health"), HEALTH_STATES),
  };
}

export function readIpClaim(v: unknown, path: string): IpClaim {
  const o = readRecord(v, path, ["epoch", "owner", "ts", "released"]);
  if (typeof o.released !== "boolean") fail(at(path, "released"), "expected a boolean");
  return {
    epoch: readInt(o.epoch, at(path, "epoch")),
    owner: readString(o.owner, at(path, "owner"), 512),
    ts: readHlc(o.ts, at(path, "ts")),
    released: o.released,
  };
}

/** Key validators per collection (used by the decoders). */
export function checkNodeKey(k: string, p: string): void {
  if (!isNodeId(k)) fail(p, "invalid node id");
}
export function checkIdKey(k: string, p: string): void {
  if (!isId(k)) fail(p, "invalid id");
}
export function checkServiceKey(k: string, p: string): void {
  const parts = k.split("/");
  if (parts.length !== 2 || !isId(parts[0]!) || !isId(parts[1]!)) fail(p, "expected deploymentId/service");
}
export function checkContainerKey(k: string, p: string): void {
  if (!parseContainerKey(k)) fail(p, "expected deploymentId/service/index/nodeId");
}
export function checkAddressKey(k: string, p: string): void {
  if (!isAddress(k)) fail(p, "invalid address");
}
