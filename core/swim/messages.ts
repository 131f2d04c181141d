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

/**
 * Which part of the member table a push-pull covers: the members whose id
 * hashes (`bucketOf`) into one of `indices`, out of `buckets` buckets.
 */
export interface PushPullScope {
  readonly buckets: number;
  readonly indices: readonly number[];
}
/**
 * Initiator → responder: who I know (digest only) and my user-state digest.
 * Also the answer to a pp-sync, then with a `scope`: only the members of the
 * buckets whose hashes differed are listed, and only those are compared.
 */
export interface PushPullRequest {
  readonly type: "pp-request";
  readonly join: boolean;
  readonly from: string;
  readonly members: readonly DigestEntry[];
  readonly userDigest: Uint8Array;
  readonly scope?: PushPullScope;
}
/**
 * Periodic anti-entropy opener, digests first: one 32-bit hash per bucket of
 * the live (alive/suspect) members. The responder answers with a scoped
 * pp-request listing its members of the buckets that differ (none when the
 * tables agree), and the exchange continues as usual from there with the
 * roles swapped: pp-sync → pp-request → pp-response → pp-final.
 */
export interface PushPullSync {
  readonly type: "pp-sync";
  readonly from: string;
  readonly buckets: readonly number[];
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
export type StreamMessage = PushPullSync | PushPullRequest | PushPullResponse | PushPullFinal | TcpPing | TcpAck;
/** Stream messages that open a connection (the rest are replies on it). */
export type StreamRequest = PushPullSync | PushPullRequest | TcpPing;

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

/** Upper bound on pp-sync buckets (the codec refuses more). */
export const MAX_PUSH_PULL_BUCKETS = 4096;

/** 32-bit FNV-1a of a node id: the id part of every bucket hash. */
export function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The bucket of a member id, out of `buckets`. */
export function bucketOf(id: string, buckets: number): number {
  return mix32(idHash(id)) % buckets;
}

/**
 * Order-independent hashes of the live (alive/suspect) members per bucket:
 * the sum (mod 2^32) of a mix of (id, incarnation, state) over the bucket.
 * Dead and left members are left out, so a tombstone one side has already
 * reaped (or never heard of) does not keep a bucket different forever; a
 * member live on one side and dead on the other still differs.
 */
export function bucketHashes(entries: Iterable<DigestEntry>, buckets: number): number[] {
  const out = new Array<number>(buckets).fill(0);
  for (const e of entries) {
    if (e.state !== "alive" && e.state !== "suspect") continue;
    const h = idHash(e.node);
    const b = mix32(h) % buckets;
    const v = mix32(h ^ mix32((e.incarnation >>> 0) ^ Math.imul(stateRank(e.state) + 1, 0x9e3779b9)));
    out[b] = ((out[b] as number) + v) >>> 0;
  }
  return out;
}
