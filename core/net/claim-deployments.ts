/**
 * Which deployments a change to some IP claims concerns (the agent wakes only
 * those for a peer's `ips` delta): a network subnet claim concerns its own
 * deployment and every deployment whose subnet it overlaps (one of them loses
 * it); a node's slice of a subnet concerns the deployments whose subnets hold
 * or overlap it. A claim no deployment accounts for (a node's mesh address, a
 * slice of no known subnet, a key not in the table) makes the answer
 * `undefined`: anything may be concerned.
 */
import type { Dict } from "../crdt/index.ts";
import type { IpClaim } from "../state/schema.ts";
import { overlaps, parseCidr, type Cidr } from "./cidr.ts";
import { NET_OWNER } from "./claims.ts";

function cidrOf(key: string): Cidr | undefined {
  const p = parseCidr(key.includes("/") ? key : `${key}/32`);
  return p.ok ? p.value : undefined;
}

function deploymentOf(owner: string): string | undefined {
  if (!owner.startsWith(NET_OWNER)) return undefined;
  const rest = owner.slice(NET_OWNER.length);
  const i = rest.indexOf("/");
  return i > 0 ? rest.slice(0, i) : undefined;
}

export function claimDeployments(table: Dict<IpClaim>, keys: Iterable<string>): string[] | undefined {
  // Every network's subnet, released ones included (a release still names its network).
  const subnets: { cidr: Cidr; deployment: string }[] = [];
  for (const k of Object.keys(table)) {
    const deployment = deploymentOf(table[k]!.owner);
    const cidr = deployment !== undefined ? cidrOf(k) : undefined;
    if (deployment !== undefined && cidr) subnets.push({ cidr, deployment });
  }
  const out = new Set<string>();
  for (const key of keys) {
    const c = table[key];
    const cidr = cidrOf(key);
    if (!c || !cidr) return undefined;
    const own = deploymentOf(c.owner);
    if (own !== undefined) out.add(own);
    let found = own !== undefined;
    for (const s of subnets) {
      if (!overlaps(s.cidr, cidr)) continue;
      out.add(s.deployment);
      found = true;
    }
    if (!found) return undefined;
  }
  return [...out];
}
