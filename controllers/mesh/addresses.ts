/**
 * Addresses for a deployment's replicas on this node, asked for by the
 * reconciler before it plans (the `network` hook): which networks span the
 * cluster, an address for each replica placed here on each of them
 * (core/net/assign.ts, kept while the node's slices hold it, so an agent
 * restart converges to the same addresses; new slices from the node's rank
 * among the known members, so the nodes of one deploy, claiming at the same
 * moment, never take the same slice), the claims that takes written to
 * the replicated table in one change, and the desired state shaped with the
 * answers (core/net/deploy-shape.ts).
 *
 * Nothing is half-applied: when any replica cannot have an address (a taken
 * or misplaced ipv4_address, an exhausted range or subnet), no claim is
 * written and the pass fails with every reason, each naming its fix.
 */
import type { ServiceTemplate } from "../../core/deploy/container-spec.ts";
import { encodeHlc } from "../../core/crdt/index.ts";
import { FizzError } from "../../core/errors.ts";
import { assignAddresses, type AssignResult } from "../../core/net/assign.ts";
import { formatCidr } from "../../core/net/cidr.ts";
import { netOwner } from "../../core/net/claims.ts";
import { addressWants, shapeDeployment, spanningNetworks } from "../../core/net/deploy-shape.ts";
import type { IpamConfig } from "../../core/net/ipam-config.ts";
import type { ActualState, DesiredProject } from "../../core/reconcile/types.ts";
import { applyDelta, type ClusterDelta } from "../../core/state/index.ts";
import type { ClusterAgent } from "../cluster/membership.ts";

export interface Shaped {
  readonly desired: DesiredProject<ServiceTemplate>;
  /** Networks left to the engine on this node, and why. */
  readonly warnings: readonly string[];
  /** Whether claims were written (the mesh converges again to route them). */
  readonly claimed: boolean;
}

export function shapeForMesh(
  membership: ClusterAgent,
  cfg: IpamConfig,
  nodeId: string,
  mtu: number,
  deployment: string,
  desired: DesiredProject<ServiceTemplate>,
  actual: Pick<ActualState, "containers" | "networks">,
): Shaped {
  const node = membership.current;
  if (!node) return { desired, warnings: [], claimed: false };
  const span = spanningNetworks(desired, actual);
  const warnings = span.local.map((l) => l.why);
  if (span.spanning.length === 0) return { desired, warnings, claimed: false };
  const wants = addressWants(deployment, desired, actual, span.spanning);
  // Every node planning this deploy claims its slices now, from the same membership view: ranks keep them apart.
  const members = rankedMembers(node.members(), nodeId);
  let assigned: AssignResult | undefined;
  node.mutate((s, ts) => {
    const a = assignAddresses(s.ips, cfg, nodeId, wants, () => encodeHlc(ts), { members });
    assigned = a;
    if (a.errors.size > 0 || Object.keys(a.writes).length === 0) return undefined;
    const delta: ClusterDelta = { ips: a.writes };
    return {
      delta,
      get state() {
        return applyDelta(s, delta);
      },
    };
  });
  const a = assigned!;
  if (a.errors.size > 0) throw addressErrors(deployment, a);
  // A network made here before its subnet moved (a claim that lost after a partition) cannot take the new addresses.
  for (const n of span.spanning) {
    const found = actual.networks.find((x) => x.name === n.name);
    const subnet = a.plan.subnets.get(netOwner(deployment, n.key));
    if (found?.subnet && subnet && found.subnet !== formatCidr(subnet)) {
      throw new FizzError({
        code: "net.subnet_moved",
        message: `network ${n.name} on this node has subnet ${found.subnet}, but the cluster now gives network ${n.key} of ${deployment} ${formatCidr(subnet)} (two nodes claimed overlapping subnets while apart, and this one lost)`,
        hint: `take the deployment down and up again (fizz down ${deployment}; fizz up) to recreate the network here`,
      });
    }
  }
  return { desired: shapeDeployment(desired, span.spanning, a, { deploymentId: deployment, nodeId, mtu }), warnings, claimed: Object.keys(a.writes).length > 0 };
}

/**
 * The membership view slices are ranked in: every member SWIM knows that has
 * not left (alive, suspect or dead; dead ones stay known for a day), self
 * included. Dead members count so that both sides of a partition, each seeing
 * the other dead, still rank the same list and keep to disjoint slices.
 */
export function rankedMembers(members: readonly { readonly id: string; readonly state: string }[], self: string): string[] {
  const ids = members.filter((m) => m.state !== "left").map((m) => m.id);
  if (!ids.includes(self)) ids.push(self);
  return ids.sort();
}

/** One error naming every replica that has no address, with the first reason's code and hint. */
function addressErrors(deployment: string, a: AssignResult): FizzError {
  const list = [...a.errors.entries()].sort(([x], [y]) => (x < y ? -1 : 1));
  const [, first] = list[0]!;
  const lines = list.map(([id, e]) => {
    const [key, network] = id.split("@");
    const [, service, number] = (key ?? "").split("/");
    return `${service} (replica ${number}) on network ${network}: ${e.message}`;
  });
  const unique = [...new Set(lines)];
  return new FizzError({
    code: first.code,
    message: `no address for ${unique.length === 1 ? "a replica" : `${unique.length} replicas`} of ${deployment}; nothing was changed: ${unique.slice(0, 5).join("; ")}${unique.length > 5 ? `; and ${unique.length - 5} more` : ""}`,
    ...(first.hint ? { hint: first.hint } : {}),
  });
}
