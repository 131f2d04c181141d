/**
 * The host firewall and NAT rules that let a compose network span hosts, as
 * data (iptables-restore text plus the jumps into Fizz's own chains). Proven
 * by hand on two harness hosts with Docker before this was written (see
 * docs/ENGINEERING.md, "cross-node networking"):
 *
 *  - the engines' FORWARD rules drop new connections that arrive from another
 *    interface (Docker: only RELATED/ESTABLISHED and published ports reach a
 *    bridge; its isolation chains drop everything leaving an internal
 *    network), so FIZZ-FWD, jumped to first from FORWARD and from Docker's
 *    DOCKER-USER, accepts exactly: the same network's subnet to itself between
 *    bridge and mesh, node mesh addresses to containers (a node reaching a
 *    remote container, e.g. ingress), and replies; everything else to or from
 *    the mesh is dropped, so networks and projects stay isolated across hosts;
 *  - Docker's own masquerade (`-s subnet ! -o bridge`) would rewrite traffic
 *    leaving over the mesh, so Fizz creates its bridges with Docker's
 *    masquerade off and masquerades in FIZZ-NAT only what leaves for the world
 *    (not the mesh, not the bridge); internal networks get no egress at all.
 */
import { formatCidr, type Cidr } from "./cidr.ts";

export const FORWARD_CHAIN = "FIZZ-FWD";
export const NAT_CHAIN = "FIZZ-NAT";

export interface LocalNetwork {
  /** Host bridge of the engine network on this node. */
  readonly bridge: string;
  readonly subnet: Cidr;
  readonly internal: boolean;
}

export interface FirewallPlan {
  /** iptables-restore --noflush input: declares (and so flushes) Fizz's chains and fills them. */
  readonly restore: string;
  /** Jumps into Fizz's chains, each inserted at position 1 of its parent when missing. */
  readonly jumps: readonly { readonly table: "filter" | "nat"; readonly parent: string; readonly target: string; readonly optional: boolean }[];
}

export function firewallPlan(meshIf: string, nodeBlock: Cidr, networks: readonly LocalNetwork[]): FirewallPlan {
  const nb = formatCidr(nodeBlock);
  const f: string[] = ["*filter", `:${FORWARD_CHAIN} - [0:0]`];
  f.push(`-A ${FORWARD_CHAIN} -i ${meshIf} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
  f.push(`-A ${FORWARD_CHAIN} -o ${meshIf} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);
  const sorted = [...networks].sort((a, b) => a.subnet.base - b.subnet.base);
  for (const n of sorted) {
    const s = formatCidr(n.subnet);
    f.push(`-A ${FORWARD_CHAIN} -i ${meshIf} -o ${n.bridge} -s ${s} -d ${s} -j ACCEPT`);
    f.push(`-A ${FORWARD_CHAIN} -i ${n.bridge} -o ${meshIf} -s ${s} -d ${s} -j ACCEPT`);
    f.push(`-A ${FORWARD_CHAIN} -i ${meshIf} -o ${n.bridge} -s ${nb} -d ${s} -j ACCEPT`);
  }
  f.push(`-A ${FORWARD_CHAIN} -i ${meshIf} -j DROP`);
  f.push(`-A ${FORWARD_CHAIN} -o ${meshIf} -j DROP`);
  f.push("COMMIT");
  const n: string[] = ["*nat", `:${NAT_CHAIN} - [0:0]`];
  for (const x of sorted) {
    if (x.internal) continue;
    // Over the mesh, containers keep their own source address (the far side filters on it).
    n.push(`-A ${NAT_CHAIN} -s ${formatCidr(x.subnet)} -o ${meshIf} -j RETURN`);
    n.push(`-A ${NAT_CHAIN} -s ${formatCidr(x.subnet)} ! -o ${x.bridge} -j MASQUERADE`);
  }
  n.push("COMMIT");
  return {
    restore: [...f, ...n].join("\n") + "\n",
    jumps: [
      { table: "filter", parent: "FORWARD", target: FORWARD_CHAIN, optional: false },
      { table: "filter", parent: "DOCKER-USER", target: FORWARD_CHAIN, optional: true },
      { table: "nat", parent: "POSTROUTING", target: NAT_CHAIN, optional: false },
    ],
  };
}

/** iptables-restore input that empties Fizz's chains (the jumps are removed separately). */
export function firewallFlush(): string {
  return ["*filter", `:${FORWARD_CHAIN} - [0:0]`, "COMMIT", "*nat", `:${NAT_CHAIN} - [0:0]`, "COMMIT", ""].join("\n");
}
