/**
 * The cluster's address plan: one range (chosen at `fizz init`), carved into
 * compose-network subnets, each carved into per-node slices, plus a block of
 * node mesh addresses at the end of the range. The default range,
 * 10.208.0.0/12, stays clear of the ranges home and office LANs, Docker
 * (172.17-31.x, 192.168.x), Kubernetes distributions (10.42-43.x, 10.96.x,
 * 10.244.x) and VPNs (10.8.x, 100.64/10) usually take.
 */
import { FizzError } from "../errors.ts";
import { blockCount, formatCidr, parseCidr, subBlock, type Cidr } from "./cidr.ts";

export const DEFAULT_CLUSTER_RANGE = "10.208.0.0/12";
/** A compose network's subnet unless it names one: 256 addresses. */
export const DEFAULT_NETWORK_PREFIX = 24;
/** A node's slice of one network: 16 addresses; a node claims more when it needs them. */
export const DEFAULT_SLICE_PREFIX = 28;
/** The node-address block at the end of the range: 1,024 nodes. */
export const NODE_BLOCK_PREFIX = 22;

export interface IpamConfig {
  readonly range: Cidr;
  readonly networkPrefix: number;
  readonly slicePrefix: number;
  /** Mesh addresses of the nodes (a /32 each), excluded from network subnets. */
  readonly nodeBlock: Cidr;
}

export type IpamConfigResult = { readonly ok: true; readonly value: IpamConfig } | { readonly ok: false; readonly error: FizzError };

/** Validates a cluster range ("10.208.0.0/12") into the plan; the error names the fix. */
export function ipamConfig(range = DEFAULT_CLUSTER_RANGE, networkPrefix = DEFAULT_NETWORK_PREFIX, slicePrefix = DEFAULT_SLICE_PREFIX): IpamConfigResult {
  const r = parseCidr(range, "cluster address range");
  if (!r.ok) return r;
  const bad = (message: string, hint: string): IpamConfigResult => ({ ok: false, error: new FizzError({ code: "net.invalid_range", message, hint }) });
  if (r.value.prefix > 20) {
    return bad(`cluster address range ${range} is too small: it needs room for node addresses (a /${NODE_BLOCK_PREFIX}) and at least one network`, "use a /20 or larger, e.g. 10.208.0.0/16");
  }
  if (!isPrivate(r.value)) {
    return bad(`cluster address range ${range} is not a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16 or 100.64.0.0/10)`, `use the default ${DEFAULT_CLUSTER_RANGE} or another private block your LANs do not use`);
  }
  if (networkPrefix < r.value.prefix + 1 || networkPrefix > 29) return bad(`network subnet size /${networkPrefix} does not fit the range ${range}`, "use /16 to /29");
  if (slicePrefix < networkPrefix || slicePrefix > 32) return bad(`slice size /${slicePrefix} is larger than a network subnet /${networkPrefix}`, "use a slice prefix at least as long as the network prefix");
  const nodeBlock = subBlock(r.value, NODE_BLOCK_PREFIX, blockCount(r.value, NODE_BLOCK_PREFIX) - 1)!;
  return { ok: true, value: { range: r.value, networkPrefix, slicePrefix, nodeBlock } };
}

const PRIVATE = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"].map((s) => parseCidr(s) as { ok: true; value: Cidr });

export function isPrivate(c: Cidr): boolean {
  return PRIVATE.some((p) => c.base >= p.value.base && c.base + 2 ** (32 - c.prefix) - 1 <= p.value.base + 2 ** (32 - p.value.prefix) - 1);
}

export function describeConfig(c: IpamConfig): string {
  return `range ${formatCidr(c.range)}, networks /${c.networkPrefix}, slices /${c.slicePrefix}, node addresses ${formatCidr(c.nodeBlock)}`;
}

/** The default plan (the default range always validates). */
export function defaultIpamConfig(): IpamConfig {
  const r = ipamConfig();
  if (!r.ok) throw r.error;
  return r.value;
}
