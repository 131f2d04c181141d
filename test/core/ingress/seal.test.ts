import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { deriveSealKey, needsReseal, openValue, sealValue } from "../../../core/ingress/seal.ts";

const rnd = (n: number) => new Uint8Array(randomBytes(n));

describe("sealed private keys", () => {
  const k1 = deriveSealKey("aaaa0001", new Uint8Array(32).fill(1));
  const k2 = deriveSealKey("aaaa0002", new Uint8Array(32).fill(2));

  test("opens with the key it names, for the record it was sealed for only", () => {
    const s = sealValue(k1, "acme/shop.test", "-----BEGIN PRIVATE KEY-----\nsecret", rnd);
    expect(s.kid).toBe("aaaa0001");
    expect(s.box).not.toContain("secret");
    expect(openValue([k2, k1], "acme/shop.test", s)).toEqual({ ok: true, plaintext: "-----BEGIN PRIVATE KEY-----\nsecret" });
    // Moved to another record, or under a key this node lacks, or tampered with: not opened, with a reason.
    expect(openValue([k1], "acme/other.test", s)).toMatchObject({ ok: false, why: expect.stringContaining("moved from another record") });
    expect(openValue([k2], "acme/shop.test", s)).toMatchObject({ ok: false, why: expect.stringContaining("does not hold") });
    const flipped = { ...s, box: (s.box[0] === "A" ? "B" : "A") + s.box.slice(1) };
    expect(openValue([k1], "acme/shop.test", flipped).ok).toBe(false);
    expect(openValue([k1], "acme/shop.test", { kid: "aaaa0001", box: "@@" }).ok).toBe(false);
  });

  test("derivation is stable and separates keys; reseal only what a held non-primary key sealed", () => {
    expect(deriveSealKey("x", new Uint8Array(32).fill(1)).key).toEqual(k1.key);
    expect(k1.key).not.toEqual(k2.key);
    expect(k1.key).not.toEqual(new Uint8Array(32).fill(1));
    const s1 = sealValue(k1, "r", "v", rnd);
    expect(needsReseal(s1, k2, [k1, k2])).toBe(true);
    expect(needsReseal(s1, k1, [k1, k2])).toBe(false);
    expect(needsReseal({ kid: "gone", box: "" }, k2, [k1, k2])).toBe(false);
  });
});
