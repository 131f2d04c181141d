/**
 * A cluster network (core/net/engine-network.ts) in Podman's own terms. The
 * compat API always turns on Podman's DNS (aardvark-dns with netavark,
 * dnsname's dnsmasq with CNI), which binds the gateway's port 53 where the
 * cluster resolver listens, and it ignores Docker's masquerade option
 * (netavark and CNI do not masquerade traffic to the network's own subnet,
 * which is all the mesh carries). The slice becomes the lease range, for the
 * rare container Fizz does not give an address itself.
 */
import { cidr, formatIp, last } from "../../core/net/cidr.ts";
import { BRIDGE_NAME_OPTION, MTU_OPTION } from "../../core/net/engine-network.ts";
import type { DesiredNetwork } from "../../core/reconcile/types.ts";
import type { LibpodNetworkCreate } from "../engine/networks.ts";

export function libpodClusterNetwork(n: DesiredNetwork, c: { subnet?: string; gateway?: string; ip_range?: string }): LibpodNetworkCreate {
  const range = c.ip_range ? cidr(c.ip_range) : undefined;
  const subnet = cidr(c.subnet!);
  // Never the subnet's network, gateway or broadcast address, even when the slice holds them.
  const lease = range ? { start_ip: formatIp(Math.max(range.base, subnet.base + 2)), end_ip: formatIp(Math.min(last(range), last(subnet) - 1)) } : undefined;
  const bridge = n.driverOpts?.[BRIDGE_NAME_OPTION];
  const mtu = n.driverOpts?.[MTU_OPTION];
  return {
    name: n.name,
    driver: "bridge",
    ...(bridge ? { network_interface: bridge } : {}),
    subnets: [{ subnet: c.subnet!, ...(c.gateway ? { gateway: c.gateway } : {}), ...(lease ? { lease_range: lease } : {}) }],
    ...(n.internal ? { internal: true } : {}),
    dns_enabled: false,
    ...(n.labels ? { labels: { ...n.labels } } : {}),
    ...(mtu ? { options: { mtu } } : {}),
  };
}
