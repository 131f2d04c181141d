/** GET /v1/mesh: this node's end of the cluster mesh and every peer's state (`fizz net`). */
import { json } from "./reply.ts";
import type { RouteModule } from "./router.ts";
import { noQuery } from "./validate.ts";

export interface MeshPeerStatus {
  readonly node: string;
  readonly name: string;
  readonly endpoint: string;
  readonly allowedIps: string[];
  /** Seconds since the last WireGuard handshake; null = none yet. */
  readonly lastHandshakeSeconds: number | null;
  /** Gossip round trip to the node (SWIM ping), ms. */
  readonly rttMs: number | null;
  readonly rxBytes: number;
  readonly txBytes: number;
}

export interface MeshStatus {
  readonly enabled: boolean;
  readonly driver: string;
  readonly encrypted: boolean;
  /** kernel | wireguard-go, null when WireGuard is not available. */
  readonly implementation: string | null;
  readonly interface: string;
  readonly inCluster: boolean;
  readonly address: string | null;
  readonly publicKey: string | null;
  readonly port: number;
  readonly mtu: number | null;
  readonly underlayMtu: number;
  readonly peers: MeshPeerStatus[];
  readonly excluded: { id: string; reason: string }[];
  readonly warnings: string[];
  readonly problem: { code: string; message: string; hint?: string } | null;
  /** Every node that holds addresses in the cluster's claims: its mesh address and its slices (a node that left has none). */
  readonly holders: { node: string; address: string | null; slices: string[] }[];
  /** Cluster networks this node holds slices of: subnet, this node's slices, bridge, internal. */
  readonly networks: MeshNetworkStatus[];
  /** The cluster resolver on this node (null when there is no dns controller). */
  /** enabled; the gateways it listens on (host:53); where other names go; gateways it cannot listen on, and why. */
  readonly resolver: { enabled: boolean; listening: string[]; upstreams: string[]; problems: { address: string; message: string }[] } | null;
}

export interface MeshNetworkStatus {
  readonly deployment: string;
  readonly network: string;
  readonly subnet: string;
  readonly slices: string[];
  readonly bridge: string;
  readonly gateway: string;
  readonly internal: boolean;
  /** Whether the engine made the bridge on this node yet. */
  readonly bridgeUp: boolean;
}

export function meshRoutes(status: () => Promise<MeshStatus>): RouteModule {
  return (r) => {
    r.get("/v1/mesh", async (c) => {
      noQuery(c);
      return json(await status());
    });
  };
}
