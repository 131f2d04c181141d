/**
 * Address claims in the replicated `ips` table (core/state/ip.ts), read as a
 * plan every node computes the same way from the same table. Three kinds of
 * claim share the table, told apart by owner and key:
 *
 *   key                owner                    what it is
 *   10.208.4.0/24      net:<deployment>/<net>   a compose network's subnet
 *   10.208.4.16/28     node:<id>                that node's slice of the subnet holding it
 *   10.223.252.7/32    node:<id>                the node's mesh address (in the node block)
 *
 * Same-key races are settled by the table's merge (first claim wins). Claims
 * with different keys that overlap (a /16 a user asked for against a /24, or
 * slices of a subnet that moved) are settled here with the same rule, first
 * timestamp wins, then the key, so every node agrees. What loses is listed,
 * so its owner can release it and claim again; nothing else moves.
 */
import type { Dict } from "../crdt/index.ts";
import type { IpClaim } from "../state/schema.ts";
import { containsIp, contains, formatCidr, overlaps, parseCidr, type Cidr } from "./cidr.ts";
import type { IpamConfig } from "./ipam-config.ts";

export const NET_OWNER = "net:";
export const NODE_OWNER = "node:";

export function netOwner(deploymentId: string, network: string): string {
  return `${NET_OWNER}${deploymentId}/${network}`;
}

export function nodeOwner(nodeId: string): string {
  return `${NODE_OWNER}${nodeId}`;
}

export interface LiveClaim {
  readonly key: string;
  readonly cidr: Cidr;
  readonly owner: string;
  readonly ts: string;
}

export type LostReason = "overlap" | "duplicate" | "orphan";

export interface LostClaim extends LiveClaim {
  readonly reason: LostReason;
  /** The claim it lost to (for overlaps). */
  readonly to?: string;
}

export interface ClaimPlan {
  /** network owner → its subnet */
  readonly subnets: ReadonlyMap<string, Cidr>;
  /** subnet key → node id → the node's slices of it, sorted */
  readonly slices: ReadonlyMap<string, ReadonlyMap<string, readonly Cidr[]>>;
  /** node id → mesh address */
  readonly nodeAddresses: ReadonlyMap<string, number>;
  /** Claims that lost or no longer mean anything; their owners release them. */
  readonly lost: readonly LostClaim[];
  /** Every accepted claim, for overlap checks when claiming more. */
  readonly accepted: readonly LiveClaim[];
}

function byAge(a: LiveClaim, b: LiveClaim): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1;
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0;
}

export function liveClaims(table: Dict<IpClaim>): LiveClaim[] {
  const out: LiveClaim[] = [];
  for (const key of Object.keys(table)) {
    const c = table[key]!;
    if (c.released) continue;
    const p = parseCidr(key.includes("/") ? key : `${key}/32`);
    if (!p.ok) continue;
    out.push({ key, cidr: p.value, owner: c.owner, ts: c.ts });
  }
  return out.sort(byAge);
}

/** The plan the table implies under `cfg`. Pure; O(claims²) in the worst case, claims are few. */
export function resolveClaims(table: Dict<IpClaim>, cfg: IpamConfig): ClaimPlan {
  const all = liveClaims(table);
  const lost: LostClaim[] = [];
  const accepted: LiveClaim[] = [];
  const subnets = new Map<string, Cidr>();
  const subnetKeys: LiveClaim[] = [];

  // 1. network subnets: oldest first; an overlap with an older one loses.
  for (const c of all) {
    if (!c.owner.startsWith(NET_OWNER)) continue;
    if (subnets.has(c.owner)) {
      lost.push({ ...c, reason: "duplicate" });
      continue;
    }
    const clash = subnetKeys.find((s) => overlaps(s.cidr, c.cidr));
    if (clash) {
      lost.push({ ...c, reason: "overlap", to: clash.key });
      continue;
    }
    if (overlaps(cfg.nodeBlock, c.cidr)) {
      lost.push({ ...c, reason: "overlap", to: formatCidr(cfg.nodeBlock) });
      continue;
    }
    subnets.set(c.owner, c.cidr);
    subnetKeys.push(c);
    accepted.push(c);
  }

  // 2. node addresses and slices.
  const nodeAddresses = new Map<string, number>();
  const slices = new Map<string, Map<string, Cidr[]>>();
  const acceptedSlices: LiveClaim[] = [];
  for (const c of all) {
    if (!c.owner.startsWith(NODE_OWNER)) continue;
    const node = c.owner.slice(NODE_OWNER.length);
    if (contains(cfg.nodeBlock, c.cidr) && c.cidr.prefix === 32) {
      if (nodeAddresses.has(node)) {
        lost.push({ ...c, reason: "duplicate" });
        continue;
      }
      nodeAddresses.set(node, c.cidr.base);
      accepted.push(c);
      continue;
    }
    const parent = subnetKeys.find((s) => contains(s.cidr, c.cidr));
    if (!parent) {
      lost.push({ ...c, reason: "orphan" });
      continue;
    }
    const clash = acceptedSlices.find((s) => overlaps(s.cidr, c.cidr));
    if (clash) {
      lost.push({ ...c, reason: "overlap", to: clash.key });
      continue;
    }
    acceptedSlices.push(c);
    accepted.push(c);
    const pk = formatCidr(parent.cidr);
    let m = slices.get(pk);
    if (!m) slices.set(pk, (m = new Map()));
    const list = m.get(node) ?? [];
    list.push(c.cidr);
    list.sort((a, b) => a.base - b.base);
    m.set(node, list);
  }
  return { subnets, slices, nodeAddresses, lost, accepted };
}

/** The node's slices of `subnet` in the plan. */
export function slicesOf(plan: ClaimPlan, subnet: Cidr, nodeId: string): readonly Cidr[] {
  return plan.slices.get(formatCidr(subnet))?.get(nodeId) ?? [];
}

/** Every block a node holds (mesh address and all slices), for routes and WireGuard allowed-ips. */
export function blocksOfNode(plan: ClaimPlan, nodeId: string): Cidr[] {
  const out: Cidr[] = [];
  const a = plan.nodeAddresses.get(nodeId);
  if (a !== undefined) out.push({ base: a, prefix: 32 });
  for (const m of plan.slices.values()) for (const c of m.get(nodeId) ?? []) out.push(c);
  return out.sort((x, y) => x.base - y.base || x.prefix - y.prefix);
}

/** Which node's slice holds `ip` (for PTR and diagnostics). */
export function nodeHolding(plan: ClaimPlan, ip: number): string | undefined {
  for (const m of plan.slices.values()) {
    for (const [node, list] of m) if (list.some((c) => containsIp(c, ip))) return node;
  }
  for (const [node, a] of plan.nodeAddresses) if (a === ip) return node;
  return undefined;
}

/** The subnet of a network owner, if it has one. */
export function subnetOf(plan: ClaimPlan, owner: string): Cidr | undefined {
  return plan.subnets.get(owner);
}
