/**
 * Adapters for the mesh: shell-outs to `ip`, `wg`, `wireguard-go`,
 * `iptables(-restore)` and `sysctl` (exec.ts), tool detection with the
 * install hint (tools.ts), the node's WireGuard key file (keys.ts), the
 * WireGuard interface (wireguard.ts) and the firewall chains (firewall.ts).
 * No policy: core/net decides what to apply.
 */
export { toolRunner, must, type ToolResult, type ToolRunner } from "./exec.ts";
export { detectMeshTools, type MeshTools } from "./tools.ts";
export { loadOrCreateWgKey, type WgKeyPair } from "./keys.ts";
export { WgInterface, type WgInterfaceOptions } from "./wireguard.ts";
export { applyFirewall, enableBridgeRouting, removeFirewall } from "./firewall.ts";
export { hostAddresses, interfaceExists } from "./host-addresses.ts";
