/**
 * Freeing what nobody will use again, so the range does not fill with the
 * dead: the claims of a node that left the cluster (`fizz leave`: its mesh
 * address and every slice), the subnet of a network whose deployment was
 * removed cluster-wide, and every slice inside a subnet that is freed. Any
 * node may write these releases: a release keeps the claim's epoch and
 * timestamp (core/state/ip.ts), so every node writing it writes the same
 * value, and it can never free a newer claim on the same block.
 *
 * A node that is only dead keeps its claims: it may come back (a reboot, a
 * healed partition) and its containers keep their addresses when it does.
 * Its replicas that moved elsewhere got addresses in other nodes' slices.
 */
import type { Dict } from "../crdt/index.ts";
import type { IpClaim } from "../state/schema.ts";
import { contains, type Cidr } from "./cidr.ts";
import { liveClaims, NET_OWNER, NODE_OWNER } from "./claims.ts";

export interface Departed {
  /** Nodes that left the cluster. */
  readonly nodes: ReadonlySet<string>;
  /** Deployments removed cluster-wide (tombstoned in the state). */
  readonly deployments: ReadonlySet<string>;
}

/** Release writes for the claims of departed nodes and removed deployments (empty when there is nothing to free). */
export function departedReleases(table: Dict<IpClaim>, gone: Departed): Record<string, IpClaim> {
  const out: Record<string, IpClaim> = Object.create(null) as Record<string, IpClaim>;
  const live = liveClaims(table);
  const freed: Cidr[] = [];
  const kept: Cidr[] = [];
  for (const c of live) {
    if (!c.owner.startsWith(NET_OWNER)) continue;
    const dep = c.owner.slice(NET_OWNER.length).split("/")[0]!;
    if (!gone.deployments.has(dep)) {
      kept.push(c.cidr);
      continue;
    }
    out[c.key] = { ...table[c.key]!, released: true };
    freed.push(c.cidr);
  }
  for (const c of live) {
    if (!c.owner.startsWith(NODE_OWNER)) continue;
    const node = c.owner.slice(NODE_OWNER.length);
    // A slice inside a freed subnet goes with it, unless a subnet still held covers it too (a lost overlap).
    const orphaned = freed.some((s) => contains(s, c.cidr)) && !kept.some((s) => contains(s, c.cidr));
    if (gone.nodes.has(node) || orphaned) out[c.key] = { ...table[c.key]!, released: true };
  }
  return out;
}
