/**
 * Cluster codec fuzz (issue 18: "fuzzing kept"): everything a node decodes
 * from a peer, fed RUNS generated inputs each. Valid encodings damaged at the
 * byte level (flips, truncation, insertion, absurd length prefixes), random
 * bytes, and JSON state deltas with hostile values, deep nesting (to 100,000
 * levels), huge strings and prototype keys. Every decoder returns a value or
 * an error value: it never throws, never takes over 10 s, and the process
 * stays under the memory bar. A failure prints the seed and the input.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { createKeyring } from "../../core/cluster-crypto/keyring.ts";
import { decodeClientHello, decodeRejection, decodeServerHello, encodeClientHello } from "../../core/cluster-crypto/handshake.ts";
import { parseJoinToken } from "../../core/cluster-crypto/join-token.ts";
import { open, seal } from "../../core/cluster-crypto/seal.ts";
import { FrameDecoder } from "../../core/cluster-crypto/stream.ts";
import { decodeDelta, decodeState, encodeState } from "../../core/state/codec.ts";
import { emptyState } from "../../core/state/cluster-state.ts";
import { decodeBucketRequest, decodeDigest } from "../../core/state/digest.ts";
import { decodeMessage, decodeStream, encodeMessage, encodeStream, type Message, type StreamMessage } from "../../core/swim/index.ts";
import { deepText, hostileName, hostileValue } from "./hostile.ts";
import { collect, HANG_MS, MAX_RSS_BYTES, mb, peakRss, resetPeakRss, RUNS, SEED, show } from "./support.ts";

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const id = fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), hostileName.map((n) => n.slice(0, 255) || "x"));
const meta = fc.record({ labels: fc.dictionary(fc.string({ maxLength: 20 }), fc.string({ maxLength: 60 }), { maxKeys: 3 }), resources: fc.record({ cpuMilli: u32, memoryMb: u32 }), ports: fc.constant({}) });
const simple: fc.Arbitrary<Message> = fc.oneof(
  fc.record({ type: fc.constant("ping" as const), seq: u32, target: id }),
  fc.record({ type: fc.constant("ping-req" as const), seq: u32, target: id, targetAddr: id, nack: fc.boolean() }),
  fc.record({ type: fc.constant("ack" as const), seq: u32 }),
  fc.record({ type: fc.constant("alive" as const), node: id, incarnation: u32, addr: id, meta }),
  fc.record({ type: fc.constant("suspect" as const), node: id, incarnation: u32, from: id }),
  fc.record({ type: fc.constant("user" as const), origin: id, seq: u32, payload: fc.uint8Array({ maxLength: 300 }) }),
);
const message: fc.Arbitrary<Message> = fc.oneof(simple, fc.record({ type: fc.constant("compound" as const), parts: fc.array(simple, { maxLength: 6 }) }));
const state = fc.constantFrom("alive" as const, "suspect" as const, "dead" as const, "left" as const);
const stream: fc.Arbitrary<StreamMessage> = fc.oneof(
  fc.record({ type: fc.constant("pp-request" as const), join: fc.boolean(), from: id, members: fc.array(fc.record({ node: id, incarnation: u32, state }), { maxLength: 6 }), userDigest: fc.uint8Array({ maxLength: 100 }) }),
  fc.record({ type: fc.constant("pp-sync" as const), from: id, buckets: fc.array(u32, { minLength: 1, maxLength: 40 }) }),
  fc.record({ type: fc.constant("pp-final" as const), from: id, updates: fc.array(fc.record({ node: id, incarnation: u32, state, addr: id, meta }), { maxLength: 4 }), userDiff: fc.uint8Array({ maxLength: 100 }) }),
  fc.record({ type: fc.constant("tcp-ping" as const), from: id, seq: u32, target: id }),
);

/** Byte-level damage: flip, truncate, insert, an absurd length prefix, or nothing. */
const damage: fc.Arbitrary<(b: Uint8Array) => Uint8Array> = fc.oneof(
  fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })).map(([at, x]) => (b: Uint8Array) => {
    const c = Uint8Array.from(b);
    if (c.length) c[at % c.length]! ^= x;
    return c;
  }),
  fc.nat().map((at) => (b: Uint8Array) => b.subarray(0, at % (b.length + 1))),
  fc.tuple(fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([at, ins]) => (b: Uint8Array) => {
    const i = at % (b.length + 1);
    const c = new Uint8Array(b.length + ins.length);
    c.set(b.subarray(0, i), 0);
    c.set(ins, i);
    c.set(b.subarray(i), i + ins.length);
    return c;
  }),
  fc.tuple(fc.nat(), fc.constantFrom(0xff, 0x7f, 0x80, 0x00)).map(([at, v]) => (b: Uint8Array) => {
    const c = Uint8Array.from(b);
    for (let k = 0; k < 4 && c.length; k++) c[(at + k) % c.length] = v;
    return c;
  }),
  fc.constant((b: Uint8Array) => b),
);

const enc = new TextEncoder();
const rng = (n: number) => new Uint8Array(randomBytes(n));
const ring = (() => {
  const r = createKeyring(new Uint8Array(32).fill(7));
  if (!r.ok) throw new Error(r.error.message);
  return r.keyring;
})();

/** JSON deltas as a peer could send them: collections with hostile values, deep nesting, huge strings, prototype keys. */
const delta: fc.Arbitrary<string> = fc.oneof(
  {
    arbitrary: fc
      .record({ v: fc.oneof(fc.constant(1), hostileValue), deployments: fc.dictionary(hostileName, fc.record({ ts: hostileValue, value: hostileValue }), { maxKeys: 3 }), containers: hostileValue, nodes: hostileValue }, { requiredKeys: ["v"] })
      .map((o) => JSON.stringify(o)),
    weight: 20,
  },
  { arbitrary: deepText.map((t) => (t.startsWith("[") || t.startsWith('{"') ? `{"v":1,"deployments":{"d":{"ts":"x","value":{"spec":${t}}}}}` : JSON.stringify({ v: 1, x: t }))), weight: 2 },
  { arbitrary: fc.constantFrom(100_000, 100_000, 1_000_000).map((n) => `{"v":1,"deployments":{"${"k".repeat(n)}":{}}}`), weight: 1 },
  { arbitrary: fc.constantFrom('{"v":1,"__proto__":{"x":1}}', '{"v":1,"deployments":{"__proto__":{}}}', "", "null", "[]", '{"v":2}', "\u0000", '{"v":1e999}', new TextDecoder().decode(encodeState(emptyState()))), weight: 2 },
);

interface Target {
  name: string;
  input: fc.Arbitrary<unknown>;
  run(input: unknown): unknown;
}

const GC_ABOVE = 120 * 1024 * 1024;
const bytesOf = (a: fc.Arbitrary<Uint8Array>) => fc.oneof({ arbitrary: a, weight: 4 }, { arbitrary: fc.uint8Array({ maxLength: 2048 }), weight: 1 });
const targets: Target[] = [
  { name: "swim packet", input: bytesOf(fc.tuple(message, damage).map(([m, d]) => d(encodeMessage(m)))), run: (b) => decodeMessage(b as Uint8Array) },
  { name: "push-pull stream message", input: bytesOf(fc.tuple(stream, damage).map(([m, d]) => d(encodeStream(m)))), run: (b) => decodeStream(b as Uint8Array) },
  { name: "state delta (JSON)", input: fc.tuple(delta, damage).map(([t, d]) => d(enc.encode(t))), run: (b) => [decodeDelta(b as Uint8Array), decodeState(b as Uint8Array)] },
  { name: "state digest and bucket request", input: fc.uint8Array({ maxLength: 4096 }), run: (b) => [decodeDigest(b as Uint8Array), decodeBucketRequest(b as Uint8Array)] },
  {
    name: "handshake, sealed packet, frame",
    input: bytesOf(fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.string({ minLength: 1, maxLength: 32 }), damage).map(([nonce, node, d]) => d(seal(ring, "handshake", encodeClientHello({ clusterId: new Uint8Array(16), clientNonce: nonce, intent: "push-pull", nodeId: node }), rng)))),
    run: (b) => {
      const bytes = b as Uint8Array;
      const o = open(ring, "handshake", bytes);
      return [o.ok && decodeClientHello(o.plaintext), decodeClientHello(bytes), decodeServerHello(bytes), decodeRejection(bytes), new FrameDecoder(1 << 20).push(bytes)];
    },
  },
  { name: "join token", input: fc.oneof(fc.string({ maxLength: 300 }), hostileName, fc.constantFrom("fizz1", "fizz1" + "a".repeat(4096), "fizz1\u0000")), run: (s) => parseJoinToken(s as string) },
];

describe("cluster codec fuzz", () => {
  for (const t of targets) {
    test(`${t.name}: ${RUNS} inputs, never a throw or a hang (seed ${SEED})`, () => {
      collect();
      resetPeakRss();
      let slowest = 0;
      let failing: string | undefined;
      const started = performance.now();
      try {
        fc.assert(
          fc.property(t.input, (input) => {
            const t0 = performance.now();
            try {
              t.run(input);
            } catch (e) {
              failing = `${t.name} threw ${e instanceof Error ? e.message : String(e)} on ${show(input instanceof Uint8Array ? Buffer.from(input).toString("hex") : input, 400)}`;
              throw e;
            }
            const ms = performance.now() - t0;
            slowest = Math.max(slowest, ms);
            // JSC collects lazily; garbage from many large inputs would pile up past what any one needs.
            if (process.memoryUsage().rss > GC_ABOVE) collect();
            if (ms > HANG_MS) {
              failing = `${t.name} took ${Math.round(ms)} ms on ${show(input, 200)}`;
              throw new Error(failing);
            }
          }),
          { seed: SEED, numRuns: RUNS, endOnFailure: true },
        );
      } catch (e) {
        const where = /\{ seed: -?\d+, path: "[^"]*"/.exec(e instanceof Error ? e.message : "")?.[0] ?? `seed ${SEED}`;
        console.log(`FAILED ${where} }: ${failing ?? (e instanceof Error ? e.message.slice(0, 2000) : String(e))}`);
        throw e;
      }
      console.log(`fuzz ${t.name}: ${RUNS} inputs in ${((performance.now() - started) / 1000).toFixed(1)} s, slowest ${slowest.toFixed(1)} ms, process peak RSS ${mb(peakRss())}`);
      expect(peakRss()).toBeLessThan(MAX_RSS_BYTES);
    }, 300_000);
  }
});
