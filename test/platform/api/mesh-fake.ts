/** A mesh status for the API contract tests: one peer with a handshake, one member that cannot be a peer. */
import type { MeshStatus } from "../../../platform/api/routes-mesh.ts";

export async function fakeMeshStatus(): Promise<MeshStatus> {
  return {
    enabled: true,
    driver: "wireguard",
    encrypted: true,
    implementation: "wireguard-go",
    interface: "fizz0",
    inCluster: true,
    address: "10.223.252.7/32",
    publicKey: `${"a".repeat(42)}A=`,
    port: 51820,
    mtu: 1420,
    underlayMtu: 1500,
    peers: [{ node: "n2", name: "node-b", endpoint: "10.0.0.6:51820", allowedIps: ["10.223.252.9/32"], lastHandshakeSeconds: 12, rttMs: 0.4, rxBytes: 1024, txBytes: 2048 }],
    excluded: [{ id: "n3", reason: "runs no mesh (WireGuard tools missing or mesh disabled)" }],
    warnings: [],
    problem: null,
    holders: [{ node: "n1", address: "10.223.252.7/32", slices: ["10.208.4.16/28"] }],
    networks: [{ deployment: "shop", network: "default", subnet: "10.208.4.0/24", slices: ["10.208.4.16/28"], bridge: "fz0011aabb", gateway: "10.208.4.1", internal: false, bridgeUp: true }],
    resolver: { enabled: true, listening: ["10.208.4.1:53"], upstreams: ["127.0.0.53:53"], problems: [] },
  };
}
