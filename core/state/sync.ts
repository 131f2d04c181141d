/**
 * The three messages of one push-pull anti-entropy exchange, as bytes, so the
 * transport only frames and moves them (TCP, encrypted by the cluster layer):
 *
 *   initiator A                          responder B
 *   open = syncOpen(A)        ───────▶
 *                                        ans = syncAnswer(B, open)
 *                             ◀───────   ans.reply   (B applies nothing yet)
 *   fin = syncFinish(A, reply)
 *   apply fin.delta to A
 *                             ───────▶   fin.back    (empty when A had nothing newer)
 *                                        apply syncClose(back) to B
 *
 * Each side applies with `applyDelta` or `ClusterReplica.apply` (which also
 * says what changed). A decode failure at any step is a typed `crdt.decode`
 * error: drop the exchange, nothing was applied.
 */
import { decodeError, type Decoded } from "../crdt/index.ts";
import type { ClusterDelta, ClusterState } from "./cluster-state.ts";
import { decodeDelta, encodeDelta } from "./codec.ts";
import { decodeBucketRequest, decodeDigest, diff, digest, encodeBucketRequest, encodeDigest, extract, extractReply, requestIsEmpty, type BucketRequest } from "./digest.ts";

export function syncOpen(state: ClusterState): Uint8Array {
  return encodeDigest(digest(state));
}

/** B's answer: which buckets differ, and B's entries in them. `inSync` when there is nothing to do. */
export function syncAnswer(state: ClusterState, open: Uint8Array): Decoded<{ reply: Uint8Array; inSync: boolean }> {
  const remote = decodeDigest(open);
  if (!remote.ok) return remote;
  const req = diff(digest(state), remote.value);
  const reqBytes = encodeBucketRequest(req);
  const delta = requestIsEmpty(req) ? new Uint8Array(0) : encodeDelta(extract(state, req));
  const reply = new Uint8Array(4 + reqBytes.length + delta.length);
  new DataView(reply.buffer).setUint32(0, reqBytes.length);
  reply.set(reqBytes, 4);
  reply.set(delta, 4 + reqBytes.length);
  return { ok: true, value: { reply, inSync: requestIsEmpty(req) } };
}

/** A's side: B's entries to apply here, and A's winning entries to send back. */
export function syncFinish(state: ClusterState, reply: Uint8Array): Decoded<{ delta: ClusterDelta; back: Uint8Array; request: BucketRequest }> {
  if (!(reply instanceof Uint8Array) || reply.length < 4) return { ok: false, error: decodeError("sync reply truncated") };
  const n = new DataView(reply.buffer, reply.byteOffset, reply.byteLength).getUint32(0);
  if (4 + n > reply.length) return { ok: false, error: decodeError("sync reply truncated") };
  const req = decodeBucketRequest(reply.subarray(4, 4 + n));
  if (!req.ok) return req;
  const rest = reply.subarray(4 + n);
  let received: ClusterDelta = {};
  if (rest.length > 0) {
    const d = decodeDelta(rest);
    if (!d.ok) return d;
    received = d.value;
  }
  if (requestIsEmpty(req.value)) return { ok: true, value: { delta: received, back: new Uint8Array(0), request: req.value } };
  const back = encodeDelta(extractReply(state, req.value, received));
  return { ok: true, value: { delta: received, back, request: req.value } };
}

/** B's side of the last message. */
export function syncClose(back: Uint8Array): Decoded<ClusterDelta> {
  if (back.length === 0) return { ok: true, value: {} };
  return decodeDelta(back);
}
