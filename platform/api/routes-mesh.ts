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
}

export function meshRoutes(status: () => Promise<MeshStatus>): RouteModule {
  return (r) => {
    r.get("/v1/mesh", async (c) => {
      noQuery(c);
      return json(await status());
    });
  };
}
