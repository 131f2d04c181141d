/**
 * Wire messages as a discriminated union. UDP packets carry `Message`; the
 * push-pull exchange over TCP carries `StreamMessage`. Node ids and addresses
 * are opaque strings (the agent uses "host:port" addresses).
 */

export interface NodeMeta {
  readonly labels: Readonly<Record<string, string>>;
  readonly resources: { readonly cpuMilli: number; readonly memoryMb: number };
  readonly ports: Readonly<Record<string, number>>;
}

export const emptyMeta: NodeMeta = { labels: {}, resources: { cpuMilli: 0, memoryMb: 0 }, ports: {} };

export type MemberState = "alive" | "suspect" | "dead" | "left";

export interface Ping {
  readonly type: "ping";
  readonly seq: number;
  /** The id the prober believes lives at this address; a mismatch is ignored (address reuse). */
  readonly target: string;
}
export interface PingReq {
  readonly type: "ping-req";
  readonly seq: number;
  readonly target: string;
  readonly targetAddr: string;
  /** Lifeguard: the relay answers with a nack if the target stays silent, proving the path to the relay works. */
  readonly nack: boolean;
}
export interface Ack {
  readonly type: "ack";
  readonly seq: number;
}
export interface Nack {
  readonly type: "nack";
  readonly seq: number;
}
export interface Alive {
  readonly type: "alive";
  readonly node: string;
  readonly incarnation: number;
  readonly addr: string;
  readonly meta: NodeMeta;
}
export interface Suspect {
  readonly type: "suspect";
  readonly node: string;
  readonly incarnation: number;
  readonly from: string;
}
/** Dead; `from === node` means the node left gracefully. */
export interface Dead {
  readonly type: "dead";
  readonly node: string;
  readonly incarnation: number;
  readonly from: string;
}
/** Opaque bytes from the layer above (CRDT deltas), disseminated epidemically. */
export interface User {
  readonly type: "user";
  readonly origin: string;
  readonly seq: number;
  readonly payload: Uint8Array;
}
export interface Compound {
  readonly type: "compound";
  readonly parts: readonly Message[];
}

export type Message = Ping | PingReq | Ack | Nack | Alive | Suspect | Dead | User | Compound;
/** Messages that can be piggybacked as gossip. */
export type Broadcast = Alive | Suspect | Dead | User;

/** One row of a membership digest: enough to decide who has the newer view. */
export interface DigestEntry {
  readonly node: string;
  readonly incarnation: number;
  readonly state: MemberState;
}
/** A full member record sent when the digests differ. */
export interface MemberRecord extends DigestEntry {
  readonly addr: string;
  readonly meta: NodeMeta;
}

/** Initiator → responder: who I know (digest only) and my user-state digest. */
export interface PushPullRequest {
  readonly type: "pp-request";
  readonly join: boolean;
  readonly from: string;
  readonly members: readonly DigestEntry[];
  readonly userDigest: Uint8Array;
}
/** Responder → initiator: records where I am newer, ids where you are newer, user diff for you and my user digest. */
export interface PushPullResponse {
  readonly type: "pp-response";
  readonly from: string;
  readonly updates: readonly MemberRecord[];
  readonly want: readonly string[];
  readonly userDiff: Uint8Array;
  readonly userDigest: Uint8Array;
}
/** Initiator → responder: the wanted records and the user diff for you. */
export interface PushPullFinal {
  readonly type: "pp-final";
  readonly from: string;
  readonly updates: readonly MemberRecord[];
  readonly userDiff: Uint8Array;
}
/** memberlist's TCP fallback probe: sent alongside indirect probes when a UDP ping went unanswered. */
export interface TcpPing {
  readonly type: "tcp-ping";
  readonly from: string;
  readonly seq: number;
  readonly target: string;
}
export interface TcpAck {
  readonly type: "tcp-ack";
  readonly from: string;
  readonly seq: number;
}
export type StreamMessage = PushPullRequest | PushPullResponse | PushPullFinal | TcpPing | TcpAck;
/** Stream messages that open a connection (the rest are replies on it). */
export type StreamRequest = PushPullRequest | TcpPing;

/** Order of states at equal incarnation: a stronger claim wins. */
export function stateRank(s: MemberState): number {
  switch (s) {
    case "alive":
      return 0;
    case "suspect":
      return 1;
    case "dead":
      return 2;
    case "left":
      return 3;
  }
}

/** True when (incA, stateA) is strictly newer than (incB, stateB). */
export function newer(incA: number, stateA: MemberState, incB: number, stateB: MemberState): boolean {
  return incA > incB || (incA === incB && stateRank(stateA) > stateRank(stateB));
}
