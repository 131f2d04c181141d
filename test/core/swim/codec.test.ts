import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  type Message,
  type NodeMeta,
  type StreamMessage,
  decodeMessage,
  decodeStream,
  encodeMessage,
  encodeStream,
  encodedSize,
} from "../../../core/swim/index.ts";

const id = fc.string({ minLength: 1, maxLength: 40 });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const meta: fc.Arbitrary<NodeMeta> = fc.record({
  labels: fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 60 }), { maxKeys: 5 }),
  resources: fc.record({ cpuMilli: u32, memoryMb: u32 }),
  ports: fc.dictionary(fc.string({ maxLength: 20 }), fc.integer({ min: 0, max: 65535 }), { maxKeys: 4 }),
});
const bytes = (max: number) => fc.uint8Array({ maxLength: max });

const simple: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant("ping" as const), seq: u32, target: id }),
  fc.record({ type: fc.constant("ping-req" as const), seq: u32, target: id, targetAddr: id, nack: fc.boolean() }),
  fc.record({ type: fc.constant("ack" as const), seq: u32 }),
  fc.record({ type: fc.constant("nack" as const), seq: u32 }),
  fc.record({ type: fc.constant("alive" as const), node: id, incarnation: u32, addr: id, meta }),
  fc.record({ type: fc.constant("suspect" as const), node: id, incarnation: u32, from: id }),
  fc.record({ type: fc.constant("dead" as const), node: id, incarnation: u32, from: id }),
  fc.record({ type: fc.constant("user" as const), origin: id, seq: u32, payload: bytes(300) }),
);
const message: fc.Arbitrary<Message> = fc.oneof(
  simple,
  fc.record({ type: fc.constant("compound" as const), parts: fc.array(simple, { maxLength: 8 }) }),
);

const state = fc.constantFrom("alive" as const, "suspect" as const, "dead" as const, "left" as const);
const digest = fc.record({ node: id, incarnation: u32, state });
const rec = fc.record({ node: id, incarnation: u32, state, addr: id, meta });
const stream: fc.Arbitrary<StreamMessage> = fc.oneof(
  fc.record({ type: fc.constant("pp-request" as const), join: fc.boolean(), from: id, members: fc.array(digest, { maxLength: 10 }), userDigest: bytes(100) }),
  fc.record({
    type: fc.constant("pp-request" as const),
    join: fc.boolean(),
    from: id,
    members: fc.array(digest, { maxLength: 10 }),
    userDigest: bytes(100),
    scope: fc.integer({ min: 1, max: 300 }).chain((b) => fc.record({ buckets: fc.constant(b), indices: fc.uniqueArray(fc.integer({ min: 0, max: b - 1 }), { maxLength: 10 }) })),
  }),
  fc.record({ type: fc.constant("pp-sync" as const), from: id, buckets: fc.array(u32, { minLength: 1, maxLength: 70 }) }),
  fc.record({
    type: fc.constant("pp-response" as const),
    from: id,
    updates: fc.array(rec, { maxLength: 6 }),
    want: fc.array(id, { maxLength: 6 }),
    userDiff: bytes(100),
    userDigest: bytes(100),
  }),
  fc.record({ type: fc.constant("pp-final" as const), from: id, updates: fc.array(rec, { maxLength: 6 }), userDiff: bytes(100) }),
  fc.record({ type: fc.constant("tcp-ping" as const), from: id, seq: u32, target: id }),
  fc.record({ type: fc.constant("tcp-ack" as const), from: id, seq: u32 }),
);

describe("swim codec", () => {
  test("packet round trip, and encodedSize is exact", () => {
    fc.assert(
      fc.property(message, (m) => {
        const b = encodeMessage(m);
        expect(b.length).toBe(encodedSize(m));
        const d = decodeMessage(b);
        expect(d.ok).toBe(true);
        if (d.ok) expect(d.value).toEqual(m);
      }),
      { numRuns: 500 },
    );
  });

  test("stream round trip", () => {
    fc.assert(
      fc.property(stream, (m) => {
        const d = decodeStream(encodeStream(m));
        expect(d.ok).toBe(true);
        if (d.ok) expect(d.value).toEqual(m);
      }),
      { numRuns: 300 },
    );
  });

  test("random bytes never throw, and any failure is a typed error", () => {
    fc.assert(
      fc.property(bytes(200), (b) => {
        for (const r of [decodeMessage(b), decodeStream(b)]) {
          if (!r.ok) {
            expect(r.error.code).toMatch(/^swim\.codec\./);
            expect(r.error.offset).toBeGreaterThanOrEqual(0);
            expect(r.error.offset).toBeLessThanOrEqual(b.length);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  test("every truncation and single-byte corruption of a valid packet is handled", () => {
    fc.assert(
      fc.property(message, fc.nat(), fc.integer({ min: 0, max: 255 }), (m, at, v) => {
        const b = encodeMessage(m);
        for (let n = 0; n < b.length; n++) {
          const r = decodeMessage(b.subarray(0, n));
          expect(r.ok).toBe(false);
        }
        const c = b.slice();
        if (c.length > 0) c[at % c.length] = v;
        decodeMessage(c); // must not throw
        const s = encodeStream({ type: "pp-request", join: false, from: "x", members: [], userDigest: b });
        const sc = s.slice();
        sc[at % sc.length] = v;
        decodeStream(sc);
      }),
      { numRuns: 300 },
    );
  });

  test("specific malformations give specific codes", () => {
    expect(decodeMessage(new Uint8Array([])).ok).toBe(false);
    const unknown = decodeMessage(new Uint8Array([200]));
    expect(!unknown.ok && unknown.error.code).toBe("swim.codec.unknown_tag");
    const trailing = decodeMessage(new Uint8Array([...encodeMessage({ type: "ack", seq: 1 }), 0]));
    expect(!trailing.ok && trailing.error.code).toBe("swim.codec.trailing_bytes");
    const nested = encodeMessage({ type: "compound", parts: [{ type: "ack", seq: 1 }] });
    // Rewrite the inner part's tag to "compound": nesting is refused.
    const bad = nested.slice();
    bad[4] = 9;
    expect(decodeMessage(bad).ok).toBe(false);
    // A member count that the remaining bytes cannot hold is refused before allocating.
    const huge = encodeStream({ type: "pp-request", join: false, from: "a", members: [], userDigest: new Uint8Array() });
    const view = new DataView(huge.buffer, huge.byteOffset);
    view.setUint32(1 + 2 + 1, 0xffffffff);
    const r = decodeStream(huge);
    expect(!r.ok && r.error.code).toBe("swim.codec.bad_value");
  });
});
