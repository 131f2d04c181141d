import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  applyDelta,
  decodeBucketRequest,
  decodeDigest,
  diff,
  digest,
  digestRoots,
  encodeBucketRequest,
  encodeDelta,
  encodeDigest,
  encodeState,
  extract,
  extractReply,
  mergeState,
  requestIsEmpty,
  type ClusterState,
} from "../../../core/state/index.ts";
import { entryCount, mutate, syntheticState } from "./fixture.ts";

/** One push-pull round as the gossip layer runs it; returns the new states and bytes on the wire. */
export function pushPull(a: ClusterState, b: ClusterState) {
  const dA = encodeDigest(digest(a));
  const decoded = decodeDigest(dA);
  if (!decoded.ok) throw decoded.error;
  const req = diff(digest(b), decoded.value);
  const reqBytes = encodeBucketRequest(req);
  const deltaB = extract(b, req);
  const deltaA = extractReply(a, req, deltaB);
  const fromB = encodeDelta(deltaB);
  const fromA = encodeDelta(deltaA);
  return {
    a: applyDelta(a, deltaB),
    b: applyDelta(b, deltaA),
    bytes: { digest: dA.length, request: reqBytes.length, deltas: fromA.length + fromB.length },
  };
}

const same = (x: ClusterState, y: ClusterState) => Buffer.from(encodeState(x)).equals(Buffer.from(encodeState(y)));

describe("anti-entropy", () => {
  test("10k-entry state, 1% changed across a partition: resync ≤ 1/10 of a full transfer, and both sides converge", () => {
    const { state } = syntheticState(10_000, 7);
    const n = entryCount(state);
    expect(n).toBeGreaterThanOrEqual(9_900);
    const changes = Math.round(n * 0.01);
    // Both sides of the partition change half of the 1%.
    const a = mutate(state, changes / 2, "node-a", 11);
    const b = mutate(state, changes / 2, "node-b", 12, 1_800_000_000_500);
    expect(same(a, b)).toBe(false);
    const r = pushPull(a, b);
    expect(same(r.a, r.b)).toBe(true);
    expect(same(r.a, mergeState(a, b))).toBe(true);
    const full = encodeState(r.a).length;
    const resync = r.bytes.digest + r.bytes.request + r.bytes.deltas;
    expect(resync / full).toBeLessThanOrEqual(0.1);
    // In sync now: the next round finds nothing.
    expect(requestIsEmpty(diff(digest(r.a), digest(r.b)))).toBe(true);
    expect(digestRoots(digest(r.a))).toEqual(digestRoots(digest(r.b)));
  }, 120_000);

  test("any two replicas of a common history equal their join after one round (sizes differ → digests fold)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.nat(40), fc.nat(40), fc.nat(1000), (size, ca, cb, seed) => {
        const { state } = syntheticState(size, seed);
        const a = mutate(state, ca, "node-a", seed + 1);
        // b grows a lot more (different bucket bits) half of the time.
        const b = mutate(seed % 2 ? state : syntheticState(size * 3 + 10, seed).state, cb, "node-b", seed + 2, 1_800_000_000_500);
        const r = pushPull(a, b);
        expect(same(r.a, r.b)).toBe(true);
        expect(same(r.a, mergeState(a, b))).toBe(true);
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  test("equal states produce an empty request", () => {
    const { state } = syntheticState(500, 3);
    expect(requestIsEmpty(diff(digest(state), digest(state)))).toBe(true);
    expect(extract(state, {})).toEqual({});
  });

  test("digest and request encodings round-trip", () => {
    const { state } = syntheticState(800, 4);
    const d = digest(state);
    const back = decodeDigest(encodeDigest(d));
    expect(back.ok && encodeDigest(back.value)).toEqual(encodeDigest(d));
    const req = diff(d, digest(mutate(state, 30, "x", 5)));
    expect(requestIsEmpty(req)).toBe(false);
    const rb = decodeBucketRequest(encodeBucketRequest(req));
    expect(rb.ok && rb.value).toEqual(req);
  });

  test("hostile digest/request bytes give typed errors, never throws", () => {
    const d = encodeDigest(digest(syntheticState(50, 1).state));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (junk, pos, byte) => {
        for (const input of [junk, Uint8Array.from([0x46, 0x5a, 0x44, 0x01, ...junk]), Uint8Array.from([0x46, 0x5a, 0x42, 0x01, ...junk])]) {
          for (const r of [decodeDigest(input), decodeBucketRequest(input)]) if (!r.ok) expect(r.error.code).toBe("crdt.decode");
        }
        const flipped = d.slice();
        flipped[pos % flipped.length] = byte;
        const r = decodeDigest(flipped);
        if (!r.ok) expect(r.error.code).toBe("crdt.decode");
      }),
      { numRuns: 300 },
    );
  });
});
