import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { install, keyIdOf, remove, use } from "../../../core/cluster-crypto/keyring.ts";
import { open, seal, SEAL_OVERHEAD, type Purpose } from "../../../core/cluster-crypto/seal.ts";
import { key, must, ring, rng } from "./helpers.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

describe("seal/open", () => {
  test("round trip; sealed size is plaintext + 45; nonces differ", () => {
    const r = ring(key(7));
    const pt = enc.encode("ping 42");
    const a = seal(r, "udp", pt, rng);
    const b = seal(r, "udp", pt, rng);
    expect(a.length).toBe(pt.length + SEAL_OVERHEAD);
    expect(SEAL_OVERHEAD).toBe(45);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    const o = open(r, "udp", a);
    expect(o.ok).toBe(true);
    if (o.ok) {
      expect(dec.decode(o.plaintext)).toBe("ping 42");
      expect(o.keyId).toBe(r.primary);
    }
  });

  test("empty plaintext and a 1,400-byte packet round trip", () => {
    const r = ring(key(7));
    for (const n of [0, 1400]) {
      const pt = rng(n);
      const o = open(r, "udp", seal(r, "udp", pt, rng));
      expect(o.ok && Buffer.from(o.plaintext).equals(Buffer.from(pt))).toBe(true);
    }
  });

  test("wrong key gives unknown-key; same id but different key gives auth-failed", () => {
    const sealed = seal(ring(key(1)), "udp", enc.encode("x"), rng);
    expect(open(ring(key(2)), "udp", sealed)).toEqual({ ok: false, reason: "unknown-key" });
    // Forge the id of key 2 onto a packet sealed under key 1: the id lookup succeeds, auth fails.
    const forged = Uint8Array.from(sealed);
    forged.set(ring(key(2)).keys[0]!.idBytes, 1);
    expect(open(ring(key(2)), "udp", forged)).toEqual({ ok: false, reason: "auth-failed" });
  });

  test("purpose and context are authenticated: no cross-kind replay", () => {
    const r = ring(key(3));
    const purposes: Purpose[] = ["udp", "tcp-frame", "handshake"];
    for (const p of purposes) {
      const s = seal(r, p, enc.encode("m"), rng, enc.encode("ctx"));
      for (const q of purposes) {
        expect(open(r, q, s, enc.encode("ctx")).ok).toBe(p === q);
      }
      expect(open(r, p, s, enc.encode("ctX"))).toEqual({ ok: false, reason: "auth-failed" });
      expect(open(r, p, s)).toEqual({ ok: false, reason: "auth-failed" });
    }
  });

  test("a flipped bit anywhere is rejected with a precise reason", () => {
    const r = ring(key(4));
    const s = seal(r, "udp", rng(64), rng);
    for (let i = 0; i < s.length; i++) {
      for (const bit of [0x01, 0x80]) {
        const t = Uint8Array.from(s);
        t[i]! ^= bit;
        const o = open(r, "udp", t);
        expect(o.ok).toBe(false);
        if (!o.ok) {
          const expected = i === 0 ? "bad-version" : i < 5 ? "unknown-key" : "auth-failed";
          expect(o.reason).toBe(expected);
        }
      }
    }
  });

  test("short, empty and truncated packets are malformed", () => {
    const r = ring(key(4));
    const s = seal(r, "udp", rng(10), rng);
    expect(open(r, "udp", new Uint8Array(0))).toEqual({ ok: false, reason: "malformed" });
    expect(open(r, "udp", s.subarray(0, SEAL_OVERHEAD - 1))).toEqual({ ok: false, reason: "malformed" });
    expect(open(r, "udp", s.subarray(0, s.length - 1))).toEqual({ ok: false, reason: "auth-failed" });
    expect(open(r, "udp", Uint8Array.of(9, 1, 2))).toEqual({ ok: false, reason: "bad-version" });
  });

  test("property: arbitrary bytes never throw and never open", () => {
    const r = ring(key(5));
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.constantFrom<Purpose>("udp", "tcp-frame", "handshake"), (bytes, p) => {
        const o = open(r, p, bytes);
        expect(o.ok).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  test("property: arbitrary mutation of a sealed packet never opens and never throws", () => {
    const r = ring(key(5));
    const base = seal(r, "udp", rng(100), rng);
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(base.length - 1), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 8 }), (edits) => {
        const t = Uint8Array.from(base);
        for (const [i, x] of edits) t[i]! ^= x;
        const changed = !Buffer.from(t).equals(Buffer.from(base));
        expect(open(r, "udp", t).ok).toBe(!changed);
      }),
      { numRuns: 1000 },
    );
  });

  test("rotation: A uses k2 while B still has k1 primary + k2; then k1 is removed", () => {
    const k1 = key(1);
    const k2 = key(2);
    let a = ring(k1);
    let b = ring(k1);
    const oldPacket = seal(a, "udp", enc.encode("old"), rng);
    // step 1: install k2 everywhere
    a = must(install(a, k2));
    b = must(install(b, k2));
    // step 2: A switches first
    a = must(use(a, keyIdOf(k2)));
    const fromA = seal(a, "udp", enc.encode("a→b"), rng);
    const fromB = seal(b, "udp", enc.encode("b→a"), rng);
    const atB = open(b, "udp", fromA);
    const atA = open(a, "udp", fromB);
    expect(atB.ok && atB.keyId).toBe(keyIdOf(k2));
    expect(atA.ok && atA.keyId).toBe(keyIdOf(k1));
    // step 2 on B, step 3 everywhere
    b = must(use(b, keyIdOf(k2)));
    a = must(remove(a, keyIdOf(k1)));
    b = must(remove(b, keyIdOf(k1)));
    expect(open(a, "udp", oldPacket)).toEqual({ ok: false, reason: "unknown-key" });
    expect(open(b, "udp", fromB)).toEqual({ ok: false, reason: "unknown-key" });
    expect(open(b, "udp", seal(a, "udp", enc.encode("new"), rng)).ok).toBe(true);
  });
});
