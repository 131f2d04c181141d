/**
 * Cross-node networking, pure: IPv4 blocks (cidr), the cluster address plan
 * (ipam-config), claims in the replicated `ips` table and how conflicts
 * resolve (claims), what to claim and which address a container gets
 * (ipam, assign), what a node gossips about its mesh end (mesh-meta), the
 * WireGuard peers and routes a node should have and the diff to get there
 * (mesh-plan), the host firewall and NAT rules (firewall-plan), and
 * `wg show dump` parsing (wg-dump), and the cluster resolver: names from
 * state, scoped to the asker (dns-records), one query to one answer or a
 * forward (dns-answer, on the dns-packet codec), upstreams (resolv-conf).
 * No I/O: platform/net applies the plans, platform/dns serves the answers.
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
export * from "./dns-records.ts";
export * from "./dns-answer.ts";
export * from "./resolv-conf.ts";
export * from "./dns-fast.ts";
export * from "./dns-from-state.ts";
export * from "./engine-network.ts";
export * from "./compose-networks.ts";
export * from "./release.ts";
export * from "./deploy-shape.ts";
export * from "./local-networks.ts";
export * from "./admit.ts";
