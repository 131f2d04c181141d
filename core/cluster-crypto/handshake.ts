/**
 * The handshake that opens every TCP stream (join and push-pull).
 *
 *   client → server  ClientHello, sealed (purpose "handshake") under the client's primary key
 *   server → client  ServerHello, sealed under the key the client used, context = client nonce
 *                    or, if the server cannot open the hello, a plaintext Rejection frame
 *
 * Knowing the cluster key is the proof: only a holder of an installed key can
 * produce a ClientHello the server opens, and only the server can answer it
 * (the answer is bound to the client's fresh nonce, so an old answer cannot be
 * replayed). Both nonces and the cluster id feed the session id that binds
 * every later frame (see stream.ts).
 *
 * What a rejection reveals: only a fixed reason code from a tiny set
 * ("wrong cluster key", "unsupported protocol version", "malformed
 * handshake"). It never echoes key ids, the cluster id, node names or
 * members. Anyone who can reach the port can learn "a fizz agent is here and
 * my key is wrong" by probing anyway; revealing that lets a real user with a
 * stale or mistyped token be told why. Rejections are unauthenticated, so a
 * client treats one only as a message to show the user, never as state.
 * On UDP nothing is ever answered to an unopenable packet (no probing oracle,
 * no amplification).
 */
import { sha256 } from "@noble/hashes/sha2.js";

export const CLUSTER_ID_BYTES = 16;
export const HELLO_NONCE_BYTES = 16;
export const SESSION_ID_BYTES = 32;
export const MAX_NODE_ID_BYTES = 128;

export type Intent = "join" | "push-pull";

export interface ClientHello {
  readonly clusterId: Uint8Array;
  readonly clientNonce: Uint8Array;
  readonly intent: Intent;
  readonly nodeId: string;
}

export type HelloStatus = "accepted" | "wrong-cluster-id" | "busy";

export interface ServerHello {
  readonly serverNonce: Uint8Array;
  readonly status: HelloStatus;
  readonly nodeId: string;
}

export type RejectReason = "wrong-cluster-key" | "unsupported-version" | "malformed-handshake";

const CLIENT_HELLO = 1;
const SERVER_HELLO = 2;
const INTENTS: readonly Intent[] = ["join", "push-pull"];
const STATUSES: readonly HelloStatus[] = ["accepted", "wrong-cluster-id", "busy"];
const REASONS: readonly RejectReason[] = ["wrong-cluster-key", "unsupported-version", "malformed-handshake"];
const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

function nodeIdBytes(nodeId: string): Uint8Array {
  const b = enc.encode(nodeId);
  if (b.length > MAX_NODE_ID_BYTES) throw new Error(`node id is ${b.length} bytes, at most ${MAX_NODE_ID_BYTES}`);
  return b;
}

export function encodeClientHello(h: ClientHello): Uint8Array {
  if (h.clusterId.length !== CLUSTER_ID_BYTES) throw new Error("cluster id must be 16 bytes");
  if (h.clientNonce.length !== HELLO_NONCE_BYTES) throw new Error("client nonce must be 16 bytes");
  const id = nodeIdBytes(h.nodeId);
  const out = new Uint8Array(1 + CLUSTER_ID_BYTES + HELLO_NONCE_BYTES + 1 + 1 + id.length);
  out[0] = CLIENT_HELLO;
  out.set(h.clusterId, 1);
  out.set(h.clientNonce, 1 + CLUSTER_ID_BYTES);
  let at = 1 + CLUSTER_ID_BYTES + HELLO_NONCE_BYTES;
  out[at++] = INTENTS.indexOf(h.intent);
  out[at++] = id.length;
  out.set(id, at);
  return out;
}

export function decodeClientHello(b: Uint8Array): ClientHello | undefined {
  const fixed = 1 + CLUSTER_ID_BYTES + HELLO_NONCE_BYTES + 2;
  if (b.length < fixed || b[0] !== CLIENT_HELLO) return undefined;
  const intent = INTENTS[b[fixed - 2]!];
  const len = b[fixed - 1]!;
  if (intent === undefined || len > MAX_NODE_ID_BYTES || b.length !== fixed + len) return undefined;
  const nodeId = utf8(b.subarray(fixed));
  if (nodeId === undefined) return undefined;
  return {
    clusterId: b.slice(1, 1 + CLUSTER_ID_BYTES),
    clientNonce: b.slice(1 + CLUSTER_ID_BYTES, 1 + CLUSTER_ID_BYTES + HELLO_NONCE_BYTES),
    intent,
    nodeId,
  };
}

export function encodeServerHello(h: ServerHello): Uint8Array {
  if (h.serverNonce.length !== HELLO_NONCE_BYTES) throw new Error("server nonce must be 16 bytes");
  const id = nodeIdBytes(h.nodeId);
  const out = new Uint8Array(1 + HELLO_NONCE_BYTES + 2 + id.length);
  out[0] = SERVER_HELLO;
  out.set(h.serverNonce, 1);
  out[1 + HELLO_NONCE_BYTES] = STATUSES.indexOf(h.status);
  out[2 + HELLO_NONCE_BYTES] = id.length;
  out.set(id, 3 + HELLO_NONCE_BYTES);
  return out;
}

export function decodeServerHello(b: Uint8Array): ServerHello | undefined {
  const fixed = 1 + HELLO_NONCE_BYTES + 2;
  if (b.length < fixed || b[0] !== SERVER_HELLO) return undefined;
  const status = STATUSES[b[fixed - 2]!];
  const len = b[fixed - 1]!;
  if (status === undefined || len > MAX_NODE_ID_BYTES || b.length !== fixed + len) return undefined;
  const nodeId = utf8(b.subarray(fixed));
  if (nodeId === undefined) return undefined;
  return { serverNonce: b.slice(1, 1 + HELLO_NONCE_BYTES), status, nodeId };
}

/** Binds stream frames to this connection: both fresh nonces and the cluster. */
export function sessionId(clusterId: Uint8Array, clientNonce: Uint8Array, serverNonce: Uint8Array): Uint8Array {
  const label = enc.encode("fizz-session/v1");
  const buf = new Uint8Array(label.length + clusterId.length + clientNonce.length + serverNonce.length);
  let at = 0;
  for (const part of [label, clusterId, clientNonce, serverNonce]) {
    buf.set(part, at);
    at += part.length;
  }
  return sha256(buf);
}

/** 0x00 can never start a sealed message (whose first byte is its version, ≥ 1). */
const REJECT_MAGIC = enc.encode("\u0000FIZZ-REJECT");

export function encodeRejection(reason: RejectReason): Uint8Array {
  const out = new Uint8Array(REJECT_MAGIC.length + 1);
  out.set(REJECT_MAGIC, 0);
  out[REJECT_MAGIC.length] = REASONS.indexOf(reason) + 1;
  return out;
}

export function decodeRejection(body: Uint8Array): RejectReason | undefined {
  if (body.length !== REJECT_MAGIC.length + 1) return undefined;
  for (let i = 0; i < REJECT_MAGIC.length; i++) if (body[i] !== REJECT_MAGIC[i]) return undefined;
  return REASONS[body[REJECT_MAGIC.length]! - 1];
}

/** What the joining user is told, per reason. */
export function rejectionMessage(reason: RejectReason): string {
  switch (reason) {
    case "wrong-cluster-key":
      return "wrong cluster key";
    case "unsupported-version":
      return "unsupported protocol version";
    case "malformed-handshake":
      return "malformed handshake";
  }
}

function utf8(b: Uint8Array): string | undefined {
  try {
    return dec.decode(b);
  } catch {
    return undefined;
  }
}
