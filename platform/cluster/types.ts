/** The cluster node's options, member views, events and counters (node.ts). */
import type { Keyring } from "../../core/cluster-crypto/keyring.ts";
import type { Clock } from "../../core/clock.ts";
import type { ClusterDelta } from "../../core/state/index.ts";
import type { MemberEventType, MemberState, SwimConfig } from "../../core/swim/index.ts";
import type { TcpLimits, TcpServerCounters } from "../transport/tcp.ts";
import type { UdpCounters } from "../transport/udp.ts";
import type { Logger } from "../log.ts";
import type { MemberMeta, NodeMetaInput } from "../../core/state/membership-rows.ts";
import type { BindTransport } from "./transport.ts";

export type ClusterLogger = Pick<Logger, "debug" | "info" | "warn">;

export interface ClusterNodeOptions {
  /** Stable node id ([A-Za-z0-9._:-]{1,64}); keep it across restarts. */
  readonly nodeId: string;
  /** "host:port" for UDP and TCP, e.g. "0.0.0.0:7946"; port 0 picks a free one. */
  readonly bind: string;
  /** "host:port" other nodes reach us at; default: the bound address (must then not be 0.0.0.0). */
  readonly advertise?: string;
  readonly keyring: Keyring;
  readonly clusterId: Uint8Array;
  readonly meta: NodeMetaInput;
  /** `encodeState` bytes from a previous run (what `persist` was given). */
  readonly initialState?: Uint8Array;
  /** Every non-empty effective change (local, gossip or push-pull), after it is applied. */
  readonly onStateChange?: (effectiveDelta: ClusterDelta) => void;
  /** Receives the whole encoded state after changes, at most every `persistDebounceMs`, and on stop. */
  readonly persist?: (encodedState: Uint8Array) => void;
  readonly persistDebounceMs?: number;
  readonly logger?: ClusterLogger;
  /** SWIM/Lifeguard knobs (core/swim/config.ts); tests use short timings. */
  readonly swim?: Partial<SwimConfig>;
  /** `join` gives up after this long (default 10 s). */
  readonly joinTimeoutMs?: number;
  /** Peers pushed to at once when a delta is too big for a packet (default 3). */
  readonly fanout?: number;
  readonly tcpLimits?: Partial<TcpLimits>;
  /** PRNG seed for SWIM (default: random). */
  readonly seed?: number;
  /** The network (default: UDP + TCP on `bind`; the simulator passes its own). */
  readonly transport?: BindTransport;
  /** Time (default: the system clock; the simulator passes virtual time). */
  readonly clock?: Clock;
}

export interface ClusterMember {
  readonly id: string;
  readonly address: string;
  readonly state: MemberState;
  readonly incarnation: number;
  readonly meta: MemberMeta;
  /** Last direct UDP ping round trip we measured to this member (undefined for self or before the first ack). */
  readonly rttMs: number | undefined;
  readonly self: boolean;
}

export interface ClusterMemberEvent {
  readonly type: MemberEventType;
  readonly member: ClusterMember;
  /** For "dead": this node's own suspicion timer declared it. */
  readonly local: boolean;
}

export type StateSource = "local" | "gossip" | "sync";

export interface ClusterCounters {
  readonly udp: UdpCounters;
  readonly tcp: TcpServerCounters;
  readonly streams: { opened: number; failed: number; served: number; badMessages: number };
  readonly gossip: { broadcasts: number; tooBigForPacket: number; delivered: number; badPayloads: number; refusedDrift: number; fanoutPushPulls: number };
  readonly packets: { badSwim: number; blocked: number };
}

