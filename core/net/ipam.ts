/**
 * Choosing what to claim, without coordination. Subnets, node addresses and
 * container addresses start at a place derived from a stable hash of what is
 * being placed (the network's owner, the node, the replica), and probe
 * forward from there to the first free spot (Firework's deterministic
 * assignment): an agent that restarts, or a node that comes back, lands on
 * the same subnet and address as before, and two partitions rarely pick the
 * same spot for different things. Slices are different: every node that runs
 * a replica of a new network claims one at the same moment, and 3 nodes
 * hashing into 16 slices collide ~18% of the time; so a node's slices come
 * from its rank among the known members (preferredSlices), disjoint for every
 * node with the same view. When claims do collide (a partition, views that
 * differ), resolveClaims (claims.ts) decides, and only the loser's claim
 * moves.
 *
 * Each function returns the claim to write (a key and owner for the `ips`
 * table) or a FizzError that names the fix; none writes anything.
 */
import { hash32 } from "../hash32.ts";
import { FizzError } from "../errors.ts";
import { blockCount, blockIndex, contains, containsIp, formatCidr, formatIp, last, overlaps, subBlock, type Cidr } from "./cidr.ts";
import { blocksOfNode, netOwner, nodeOwner, slicesOf, type ClaimPlan } from "./claims.ts";
import type { IpamConfig } from "./ipam-config.ts";

export type Pick<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: FizzError };

export interface NewClaim {
  readonly key: string;
  readonly owner: string;
  readonly cidr: Cidr;
}

function ok<T>(value: T): Pick<T> {
  return { ok: true, value };
}

function err<T>(code: string, message: string, hint: string): Pick<T> {
  return { ok: false, error: new FizzError({ code, message, hint }) };
}

function claimOf(cidr: Cidr, owner: string): NewClaim {
  return { key: formatCidr(cidr), owner, cidr };
}

function takenBy(plan: ClaimPlan, c: Cidr, owner: string): string | undefined {
  return plan.accepted.find((a) => a.owner !== owner && overlaps(a.cidr, c) && a.owner.startsWith("net:"))?.owner;
}

/**
 * The subnet for a compose network: the one it holds, else the one it asks for
 * (`ipam.config[].subnet`) if free, else the first free block from its hash.
 */
export function pickSubnet(plan: ClaimPlan, cfg: IpamConfig, deploymentId: string, network: string, requested?: Cidr): Pick<NewClaim | Cidr> {
  const owner = netOwner(deploymentId, network);
  const held = plan.subnets.get(owner);
  if (held && (!requested || (held.base === requested.base && held.prefix === requested.prefix))) return ok(held);
  if (requested) {
    if (overlaps(requested, cfg.nodeBlock)) {
      return err("net.subnet_reserved", `subnet ${formatCidr(requested)} of network ${network} overlaps the cluster's node addresses ${formatCidr(cfg.nodeBlock)}`, "choose a subnet outside that block, or leave ipam.config.subnet out and Fizz picks one");
    }
    const other = takenBy(plan, requested, owner);
    if (other) {
      return err("net.subnet_taken", `subnet ${formatCidr(requested)} of network ${network} overlaps ${describeOwner(other)}`, "choose another subnet, or leave ipam.config.subnet out and Fizz picks a free one");
    }
    return ok(claimOf(requested, owner));
  }
  const n = blockCount(cfg.range, cfg.networkPrefix);
  const start = hash32(owner) % n;
  for (let k = 0; k < n; k++) {
    const c = subBlock(cfg.range, cfg.networkPrefix, (start + k) % n)!;
    if (overlaps(c, cfg.nodeBlock)) continue;
    if (takenBy(plan, c, owner)) continue;
    return ok(claimOf(c, owner));
  }
  return err(
    "net.range_exhausted",
    `the cluster address range ${formatCidr(cfg.range)} has no free /${cfg.networkPrefix} left for network ${network} (${plan.subnets.size} networks hold subnets)`,
    "remove deployments you no longer need (fizz down), or give the cluster a larger range (mesh.range in every node's config, the same on all of them)",
  );
}

/** A node's mesh address: the one it holds, else the first free /32 of the node block from its hash. */
export function pickNodeAddress(plan: ClaimPlan, cfg: IpamConfig, nodeId: string): Pick<NewClaim | number> {
  const held = plan.nodeAddresses.get(nodeId);
  if (held !== undefined) return ok(held);
  const taken = new Set(plan.nodeAddresses.values());
  const n = blockCount(cfg.nodeBlock, 32);
  const start = hash32(nodeId) % n;
  for (let k = 0; k < n; k++) {
    const ip = cfg.nodeBlock.base + ((start + k) % n);
    // Skip the block's first and last address: they look like network and broadcast addresses to people.
    if (ip === cfg.nodeBlock.base || ip === last(cfg.nodeBlock) || taken.has(ip)) continue;
    return ok(claimOf({ base: ip, prefix: 32 }, nodeOwner(nodeId)));
  }
  return err("net.node_addresses_exhausted", `all ${n - 2} node addresses in ${formatCidr(cfg.nodeBlock)} are taken`, "a cluster holds at most that many nodes; remove departed nodes (fizz nodes) to free theirs");
}

/** Whether an address is usable by a container in `subnet`: not the network address, the gateway or the broadcast. */
export function usableInSubnet(subnet: Cidr, ip: number): boolean {
  return containsIp(subnet, ip) && ip !== subnet.base && ip !== gatewayOf(subnet) && ip !== last(subnet);
}

/** Every node uses the subnet's first host address as the gateway on its own bridge. */
export function gatewayOf(subnet: Cidr): number {
  return subnet.base + 1;
}

/**
 * Which slices of a subnet cut into `n` a node claims first, from its rank in
 * the sorted `members` (a stride: rank r of m gets r, r + m, r + 2m, …
 * below n). Every node with the same membership view computes the same
 * partition, so nodes claiming slices of a new network at the same moment
 * (they plan one deploy within milliseconds) pick disjoint slices, whatever
 * each has seen of the others' claims. Empty when the node is not in the
 * view or ranks past the last slice (more members than slices): it then
 * probes from its hash, as without a view.
 */
export function preferredSlices(n: number, members: readonly string[], nodeId: string): number[] {
  const ranked = [...new Set(members)].sort();
  const r = ranked.indexOf(nodeId);
  if (r < 0) return [];
  const out: number[] = [];
  for (let i = r; i < n; i += ranked.length) out.push(i);
  return out;
}

export interface SliceOptions {
  /** ipv4_address: the slice that holds it. */
  readonly want?: number;
  /** The members as this node sees them (ids, self included): slices come from the node's rank (preferredSlices). */
  readonly members?: readonly string[];
}

/**
 * A new slice of `subnet` for `nodeId`, when its slices have no free address
 * left. With `want`, the slice that holds that address (for ipv4_address).
 * Otherwise the first free slice of the node's stride (preferredSlices), then
 * the first free one from the hash of node and subnet: with the same
 * membership view, concurrent claimants never collide unless a stride is
 * used up; when they do (a partition, views that differ), resolveClaims
 * settles it and only the later claim moves.
 */
export function pickSlice(plan: ClaimPlan, cfg: IpamConfig, subnet: Cidr, nodeId: string, network: string, opts: SliceOptions = {}): Pick<NewClaim> {
  const owner = nodeOwner(nodeId);
  if (subnet.prefix > 30) {
    return err("net.subnet_too_small", `network ${network}'s subnet ${formatCidr(subnet)} is too small to give containers addresses (it has no room beside its network, gateway and broadcast addresses)`, "give the network a /29 or larger subnet (networks.<name>.ipam.config[0].subnet), or leave it out and Fizz picks a /24");
  }
  // Always smaller than the subnet: a slice with the subnet's own key would overwrite its claim in the table.
  const prefix = Math.max(cfg.slicePrefix, subnet.prefix + 1);
  const n = blockCount(subnet, prefix);
  const taken = (c: Cidr) => plan.accepted.find((a) => a.owner.startsWith("node:") && overlaps(a.cidr, c) && contains(subnet, a.cidr));
  const want = opts.want;
  if (want !== undefined) {
    const c = subBlock(subnet, prefix, blockIndex(subnet, prefix, want))!;
    const t = taken(c);
    if (t && t.owner !== owner) {
      return err("net.address_unavailable", `ipv4_address ${formatIp(want)} on network ${network} is in ${formatCidr(c)}, which node ${t.owner.slice(5)} holds`, "pin the service to that node (deploy.placement.constraints), pick an address in this node's slice, or leave ipv4_address out");
    }
    return ok(claimOf(c, owner));
  }
  for (const i of opts.members ? preferredSlices(n, opts.members, nodeId) : []) {
    const c = subBlock(subnet, prefix, i)!;
    if (!taken(c)) return ok(claimOf(c, owner));
  }
  const start = hash32(`${nodeId}|${formatCidr(subnet)}`) % n;
  for (let k = 0; k < n; k++) {
    const c = subBlock(subnet, prefix, (start + k) % n)!;
    if (!taken(c)) return ok(claimOf(c, owner));
  }
  return err(
    "net.subnet_exhausted",
    `network ${network} (${formatCidr(subnet)}) has no free /${prefix} slice left for node ${nodeId}: all ${n} are held by nodes`,
    "give the network a larger subnet (networks.<name>.ipam.config[0].subnet), or free slices by removing departed nodes",
  );
}

/**
 * A container's address inside the node's slices of `subnet`: `want` when the
 * service asks for one (ipv4_address), else the first free address from the
 * replica key's hash. Undefined when the slices are full (claim another).
 */
export function pickAddress(plan: ClaimPlan, subnet: Cidr, nodeId: string, replicaKey: string, used: ReadonlySet<number>): number | undefined {
  const mine = slicesOf(plan, subnet, nodeId);
  const total = mine.reduce((s, c) => s + 2 ** (32 - c.prefix), 0);
  if (total === 0) return undefined;
  const start = hash32(replicaKey) % total;
  for (let k = 0; k < total; k++) {
    const ip = nth(mine, (start + k) % total);
    if (usableInSubnet(subnet, ip) && !used.has(ip)) return ip;
  }
  return undefined;
}

function nth(blocks: readonly Cidr[], i: number): number {
  let rest = i;
  for (const b of blocks) {
    const s = 2 ** (32 - b.prefix);
    if (rest < s) return b.base + rest;
    rest -= s;
  }
  throw new RangeError("index past the blocks");
}

/** Whether `ip` is an address this node may give a container on `subnet` (its slices hold it). */
export function nodeMayUse(plan: ClaimPlan, subnet: Cidr, nodeId: string, ip: number): boolean {
  return usableInSubnet(subnet, ip) && slicesOf(plan, subnet, nodeId).some((c) => containsIp(c, ip));
}

/** Checks an ipv4_address against the network's subnet (the rest is pickSlice's). */
export function checkFixedAddress(subnet: Cidr, ip: number, network: string, service: string): FizzError | undefined {
  if (!containsIp(subnet, ip)) {
    return new FizzError({
      code: "net.address_outside_subnet",
      message: `ipv4_address ${formatIp(ip)} of service ${service} is outside network ${network}'s subnet ${formatCidr(subnet)}`,
      hint: `pick an address in ${formatCidr(subnet)}, or set networks.${network}.ipam.config[0].subnet to a subnet that holds it`,
    });
  }
  if (!usableInSubnet(subnet, ip)) {
    return new FizzError({
      code: "net.address_reserved",
      message: `ipv4_address ${formatIp(ip)} of service ${service} is the network, gateway or broadcast address of ${formatCidr(subnet)}`,
      hint: `pick an address between ${formatIp(subnet.base + 2)} and ${formatIp(last(subnet) - 1)}`,
    });
  }
  return undefined;
}

export function describeOwner(owner: string): string {
  if (owner.startsWith("net:")) {
    const [dep, net] = owner.slice(4).split("/");
    return `network ${net} of deployment ${dep}`;
  }
  if (owner.startsWith("node:")) return `node ${owner.slice(5)}`;
  return owner;
}

export { blocksOfNode };

/**
 * The host bridge of a compose network on every node: "fz" + 8 hex digits of
 * the network owner's hash (10 characters; Linux allows 15). Same name on
 * every node, distinct per network, and recognisable in `ip link`.
 */
export function bridgeName(deploymentId: string, network: string): string {
  return `fz${hash32(netOwner(deploymentId, network)).toString(16).padStart(8, "0")}`;
}
