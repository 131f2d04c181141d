/**
 * Cross-node networking, pure: IPv4 blocks (cidr), the cluster address plan
 * (ipam-config), claims in the replicated `ips` table and how conflicts
 * resolve (claims), what to claim and which address a container gets
 * (ipam, assign), what a node gossips about its mesh end (mesh-meta), the
 * WireGuard peers and routes a node should have and the diff to get there
 * (mesh-plan), the host firewall and NAT rules (firewall-plan), and
 * `wg show dump` parsing (wg-dump). No I/O: platform/net applies the plans.
 */
export * from "./cidr.ts";
export * from "./ipam-config.ts";
export * from "./claims.ts";
export * from "./ipam.ts";
export * from "./assign.ts";
export * from "./mesh-meta.ts";
export * from "./mesh-plan.ts";
export * from "./wg-dump.ts";
export * from "./firewall-plan.ts";
