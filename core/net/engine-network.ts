/**
 * What a cluster network looks like to the engine on one node, as pure
 * transforms of what core/reconcile and core/deploy already produce:
 *
 *  - the network: the cluster-wide subnet and gateway, the node's first slice
 *    as the IP range, Fizz's bridge name (same on every node), the engine's
 *    own masquerade off (FIZZ-NAT masquerades only what leaves for the world;
 *    Docker's rule would rewrite traffic leaving over the mesh) and the mesh
 *    MTU, so a container's packets fit a WireGuard packet on the underlay;
 *  - a service's endpoint: no engine aliases (the engine's own DNS would
 *    answer a service name with this node's replicas only; the cluster
 *    resolver answers for every node) and no fixed address; each replica's
 *    address from assignAddresses is set as it is created (core/deploy's
 *    instantiate, from DesiredService.addresses);
 *  - its DNS server: the cluster resolver on the gateway of its first network.
 *
 * Docker and Podman take the same compat-API fields; Podman's netavark does
 * not masquerade traffic to the network's own subnet, so the option it
 * ignores costs nothing.
 */
import type { EndpointConfig, HostConfig } from "../deploy/engine-body.ts";
import type { DesiredNetwork } from "../reconcile/types.ts";
import { formatCidr, formatIp, type Cidr } from "./cidr.ts";
import { gatewayOf } from "./ipam.ts";

export const BRIDGE_NAME_OPTION = "com.docker.network.bridge.name";
export const MASQUERADE_OPTION = "com.docker.network.bridge.enable_ip_masquerade";
export const MTU_OPTION = "com.docker.network.driver.mtu";

export function clusterNetwork(n: DesiredNetwork, bridge: string, subnet: Cidr, slices: readonly Cidr[], mtu: number): DesiredNetwork {
  return {
    ...n,
    driver: "bridge",
    driverOpts: { ...(n.driverOpts ?? {}), [BRIDGE_NAME_OPTION]: bridge, [MASQUERADE_OPTION]: "false", [MTU_OPTION]: String(mtu) },
    ipam: { driver: "default", config: [{ subnet: formatCidr(subnet), gateway: formatIp(gatewayOf(subnet)), ...(slices[0] ? { ip_range: formatCidr(slices[0]) } : {}) }] },
  };
}

export function clusterEndpoint(e: EndpointConfig): EndpointConfig {
  const { Aliases: _aliases, IPAMConfig, ...rest } = e;
  const { IPv4Address: _fixed, ...ipam } = IPAMConfig ?? {};
  return Object.keys(ipam).length ? { ...rest, IPAMConfig: ipam } : rest;
}


/** The resolver address a container on `firstSubnet` uses (the node's gateway on that bridge). */
export function clusterDns(h: HostConfig, firstSubnet: Cidr): HostConfig {
  return { ...h, Dns: [formatIp(gatewayOf(firstSubnet))] };
}
