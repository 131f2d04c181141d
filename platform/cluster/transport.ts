/**
 * What a cluster node needs from the network: datagrams to any member and
 * streams (push-pull, join) to and from them, sealed with the cluster
 * keyring. The agent binds the real one (platform/transport ClusterEndpoint:
 * UDP + TCP on one port); the cluster simulator binds one in virtual time
 * with loss, partitions and delay.
 */
import type { Keyring } from "../../core/cluster-crypto/keyring.ts";
import type { HostPort } from "../../core/address.ts";
import { ClusterEndpoint } from "../transport/cluster.ts";
import type { TcpLimits, TcpServerCounters } from "../transport/tcp.ts";
import type { UdpCounters } from "../transport/udp.ts";

export type StreamIntent = "join" | "push-pull";

/** One framed, authenticated stream to or from a member. */
export interface ClusterStream {
  readonly peer: { readonly nodeId: string; readonly host: string; readonly port: number };
  send(payload: Uint8Array): Promise<void>;
  /** The next frame; null when the peer closed its side. */
  receive(): Promise<Uint8Array | null>;
  /** Half-close: the peer's receive() gets null once it read what was sent. */
  end(): void;
  close(): void;
}

export interface ClusterTransport {
  /** Where it is bound (port 0 resolved). */
  readonly address: HostPort;
  send(to: string, plaintext: Uint8Array): void;
  openStream(to: string, intent: StreamIntent, limits?: { readonly connectTimeoutMs: number }): Promise<ClusterStream>;
  setKeyring(ring: Keyring): void;
  counters(): { readonly udp: UdpCounters; readonly tcp: TcpServerCounters };
  close(): Promise<void>;
}

export interface BindOptions {
  readonly host: string;
  readonly port: number;
  readonly keyring: Keyring;
  readonly clusterId: Uint8Array;
  readonly nodeId: string;
  readonly limits?: Partial<TcpLimits> | undefined;
  readonly onPacket: (plaintext: Uint8Array, from: HostPort) => void;
  /** A datagram the transport refused (unknown key, failed authentication, malformed, oversize). */
  readonly onDrop?: (reason: string, from: HostPort) => void;
  readonly onStream: (s: ClusterStream) => void;
}

export type BindTransport = (o: BindOptions) => Promise<ClusterTransport>;

/** The real network: UDP + TCP on one port (ClusterEndpoint). */
export const bindEndpoint: BindTransport = async (o) => {
  const ep = await ClusterEndpoint.bind({ host: o.host, port: o.port, keyring: o.keyring, clusterId: o.clusterId, nodeId: o.nodeId, limits: o.limits, onPacket: o.onPacket, onStream: o.onStream, ...(o.onDrop ? { onDrop: o.onDrop } : {}) });
  return {
    get address() {
      return ep.address;
    },
    send: (to, bytes) => ep.send(to, bytes),
    openStream: (to, intent, limits) => ep.openStream(to, intent, limits),
    setKeyring: (ring) => ep.setKeyring(ring),
    counters: () => ({ udp: structuredClone(ep.udp.counters), tcp: structuredClone(ep.tcp.counters) }),
    close: () => ep.close(),
  };
};
