/**
 * The cluster networks one node serves, from the claim plan and the
 * deployments in the state: every subnet in which the node holds a slice is
 * a network whose bridge (bridgeName, the same on every node) may exist
 * here. The firewall plan gets them (with `internal: true` from the
 * deployment's spec: no egress), the node's bridges get proxy ARP, and the
 * resolver listens on their gateways. Also every cluster network's subnet by
 * project, which scopes resolver askers the table does not know yet.
 */
import type { ClusterState } from "../state/cluster-state.ts";
import { formatIp, type Cidr } from "./cidr.ts";
import { NET_OWNER, slicesOf, type ClaimPlan } from "./claims.ts";
import type { NetworkSubnet } from "./dns-records.ts";
import type { LocalNetwork } from "./firewall-plan.ts";
import { bridgeName, gatewayOf } from "./ipam.ts";

export interface ServedNetwork extends LocalNetwork {
  readonly deploymentId: string;
  /** Compose network key. */
  readonly network: string;
  /** The gateway address on this node's bridge (where the resolver listens). */
  readonly gateway: string;
}

function splitOwner(owner: string): { deploymentId: string; network: string } | undefined {
  if (!owner.startsWith(NET_OWNER)) return undefined;
  const rest = owner.slice(NET_OWNER.length);
  const i = rest.indexOf("/");
  return i <= 0 ? undefined : { deploymentId: rest.slice(0, i), network: rest.slice(i + 1) };
}

function isInternal(state: ClusterState, deploymentId: string, network: string): boolean {
  const e = state.deployments[deploymentId];
  if (!e || e.deleted) return false;
  const nets = (e.value.spec as { networks?: Record<string, { internal?: boolean } | null> } | undefined)?.networks;
  return Boolean(nets && Object.hasOwn(nets, network) && nets[network]?.internal);
}

/** The networks this node holds slices of, sorted by subnet. */
export function servedNetworks(plan: ClaimPlan, state: ClusterState, nodeId: string): ServedNetwork[] {
  const out: ServedNetwork[] = [];
  for (const [owner, subnet] of plan.subnets) {
    const o = splitOwner(owner);
    if (!o || slicesOf(plan, subnet, nodeId).length === 0) continue;
    out.push({ ...o, subnet, bridge: bridgeName(o.deploymentId, o.network), internal: isInternal(state, o.deploymentId, o.network), gateway: formatIp(gatewayOf(subnet)) });
  }
  return out.sort((a, b) => a.subnet.base - b.subnet.base);
}

/** Every cluster network's subnet, by project (deployment) and network key. */
export function networkSubnets(plan: ClaimPlan): NetworkSubnet[] {
  const out: NetworkSubnet[] = [];
  for (const [owner, subnet] of plan.subnets) {
    const o = splitOwner(owner);
    if (o) out.push({ project: o.deploymentId, network: o.network, subnet: subnet as Cidr });
  }
  return out;
}
