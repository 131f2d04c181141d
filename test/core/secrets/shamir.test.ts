import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { combine as libCombine, split as libSplit } from "shamir-secret-sharing";
import { MasterKey, keyCheckValue } from "../../../core/secrets/keys.ts";
import { combine, commitment, gfMul, nodeThreshold, share, verifyShare } from "../../../core/secrets/shamir.ts";

const key = (seed: number) => new MasterKey(Uint8Array.from({ length: 32 }, (_, i) => (seed * 31 + i * 7) & 0xff));

describe("GF(2^8)", () => {
  test("AES's worked example and the field laws", () => {
    expect(gfMul(0x57, 0x83)).toBe(0xc1);
    expect(gfMul(0x57, 0x13)).toBe(0xfe);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 0, max: 255 }), (a, b, c) => {
        expect(gfMul(a, 1)).toBe(a);
        expect(gfMul(a, 0)).toBe(0);
        expect(gfMul(a, b)).toBe(gfMul(b, a));
        expect(gfMul(a, b ^ c)).toBe(gfMul(a, b) ^ gfMul(a, c));
      }),
    );
  });
});

describe("minted shares", () => {
  test("any t distinct shares rebuild the key, through the audited package's combine", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 2, max: 9 }),
        fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { minLength: 9, maxLength: 9 }),
        async (bytes, t, xs) => {
          const m = new MasterKey(bytes);
          const shares = xs.slice(0, t).map((x) => share(m, "nodes", t, x));
          expect(Buffer.from(await libCombine(shares)).equals(Buffer.from(bytes))).toBe(true);
          const r = await combine(shares, t, keyCheckValue(m));
          expect(r.ok && Buffer.from(r.master.bytes()).equals(Buffer.from(bytes))).toBe(true);
        },
      ),
      { numRuns: 60 },
    );
  });

  test("t-1 shares are not enough, and a share from another polynomial is caught by the check value", async () => {
    const m = key(1);
    const check = keyCheckValue(m);
    const r = await combine([share(m, "nodes", 3, 1), share(m, "nodes", 3, 2)], 3, check);
    expect(r).toEqual({ ok: false, message: "2 distinct shares, 3 needed" });
    const mixed = await combine([share(m, "nodes", 3, 1), share(m, "nodes", 3, 2), share(m, "recovery", 3, 3)], 3, check);
    expect(mixed.ok).toBe(false);
    // the same index twice counts once
    expect((await combine([share(m, "nodes", 2, 4), share(m, "nodes", 2, 4)], 2, check)).ok).toBe(false);
  });

  test("every node computes the same share, and a threshold-1 share is the key", () => {
    expect(share(key(2), "nodes", 3, 7)).toEqual(share(key(2), "nodes", 3, 7));
    expect(share(key(2), "nodes", 3, 7)).not.toEqual(share(key(2), "nodes", 4, 7));
    expect(share(key(2), "nodes", 1, 9).subarray(0, 32)).toEqual(key(2).bytes());
  });

  test("the library's own random split combines through ours too", async () => {
    const m = key(3);
    const parts = await libSplit(m.bytes(), 5, 3);
    const r = await combine(parts.slice(2), 3, keyCheckValue(m));
    expect(r.ok).toBe(true);
  });

  test("commitments name a wrong share", () => {
    const m = key(4);
    const s = share(m, "nodes", 3, 2);
    const c = commitment("nodes", 3, s);
    expect(verifyShare("nodes", 3, s, c)).toBe(true);
    const bad = Uint8Array.from(s);
    bad[0]! ^= 1;
    expect(verifyShare("nodes", 3, bad, c)).toBe(false);
    expect(verifyShare("nodes", 4, s, c)).toBe(false);
  });

  test("threshold: a majority of the share holders", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 9, 1000].map(nodeThreshold)).toEqual([1, 2, 2, 3, 3, 4, 4, 5, 128]);
  });
});
