/**
 * What `fizz net` / GET /v1/mesh shows beyond the live WireGuard peers: which
 * node holds which addresses (every claim holder), the cluster networks this
 * node serves; and the mesh's metrics (peers, handshake age, bytes per peer).
 */
import { Gauge, type Registry } from "prom-client";
import { blocksOfNode, slicesOf, type ClaimPlan } from "../../core/net/claims.ts";
import { formatCidr, formatIp } from "../../core/net/cidr.ts";
import { servedNetworks } from "../../core/net/local-networks.ts";
import type { ClusterState } from "../../core/state/index.ts";
import { interfaceExists } from "../../platform/net/index.ts";
import type { MeshStatus } from "../../platform/api/routes-mesh.ts";

/** Every node holding a mesh address or a slice, with them. */
export function claimHolders(plan: ClaimPlan): MeshStatus["holders"] {
  const ids = new Set<string>(plan.nodeAddresses.keys());
  for (const m of plan.slices.values()) for (const id of m.keys()) ids.add(id);
  return [...ids].sort().map((id) => {
    const a = plan.nodeAddresses.get(id);
    return { node: id, address: a === undefined ? null : `${formatIp(a)}/32`, slices: blocksOfNode(plan, id).filter((c) => c.prefix < 32 || c.base !== a).map(formatCidr) };
  });
}

/** The cluster networks this node serves, with its slices and whether the engine made the bridge here. */
export function servedNetworkStatus(plan: ClaimPlan, state: ClusterState, nodeId: string): MeshStatus["networks"] {
  return servedNetworks(plan, state, nodeId).map((n) => ({
    deployment: n.deploymentId,
    network: n.network,
    subnet: formatCidr(n.subnet),
    slices: slicesOf(plan, n.subnet, nodeId).map(formatCidr),
    bridge: n.bridge,
    gateway: n.gateway,
    internal: n.internal,
    bridgeUp: interfaceExists(n.bridge),
  }));
}

/** The gauges; scraping the first one refreshes all three from `wg show` (prom-client collects in order). */
export function registerMetrics(registry: Registry, refresh: () => Promise<void>): { peers: Gauge; handshakeAge: Gauge; bytes: Gauge } {
  const existing = registry.getSingleMetric("fizz_mesh_peers");
  if (existing) registry.removeSingleMetric("fizz_mesh_peers");
  for (const n of ["fizz_mesh_handshake_age_seconds", "fizz_mesh_bytes"]) if (registry.getSingleMetric(n)) registry.removeSingleMetric(n);
  return {
    peers: new Gauge({ name: "fizz_mesh_peers", help: "WireGuard peers this node has (live members with a mesh)", registers: [registry], collect: refresh }),
    handshakeAge: new Gauge({ name: "fizz_mesh_handshake_age_seconds", help: "Seconds since the last WireGuard handshake with each peer", labelNames: ["peer"], registers: [registry] }),
    bytes: new Gauge({ name: "fizz_mesh_bytes", help: "Bytes received from / sent to each peer over the mesh (WireGuard counters)", labelNames: ["peer", "direction"], registers: [registry] }),
  };
}
