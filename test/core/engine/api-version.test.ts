import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { compareApiVersions, MAX_API_VERSION, MIN_API_VERSION, negotiateApiVersion } from "../../../core/engine/api-version.ts";

describe("API version negotiation", () => {
  test("speaks the engine's version when within range", () => {
    expect(negotiateApiVersion("1.41")).toEqual({ ok: true, version: "1.41" });
    expect(negotiateApiVersion("1.43")).toEqual({ ok: true, version: "1.43" });
  });
  test("caps at the newest version we support", () => {
    expect(negotiateApiVersion("1.51")).toEqual({ ok: true, version: MAX_API_VERSION });
    expect(negotiateApiVersion("2.0")).toEqual({ ok: true, version: MAX_API_VERSION });
  });
  test("refuses old, missing and unreadable versions with a reason", () => {
    const old = negotiateApiVersion("1.40");
    expect(old.ok).toBe(false);
    if (!old.ok) expect(old.reason).toContain(MIN_API_VERSION);
    expect(negotiateApiVersion(undefined).ok).toBe(false);
    expect(negotiateApiVersion("banana").ok).toBe(false);
  });
  test("compares numerically, not as strings", () => {
    expect(compareApiVersions("1.9", "1.41")).toBeLessThan(0);
    expect(compareApiVersions("1.41", "1.41")).toBe(0);
  });
  test("property: the result is never above the server's nor above the cap", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 0, max: 99 }), (maj, min) => {
        const server = `${maj}.${min}`;
        const r = negotiateApiVersion(server);
        if (compareApiVersions(server, MIN_API_VERSION) < 0) expect(r.ok).toBe(false);
        else {
          expect(r.ok).toBe(true);
          if (r.ok) {
            expect(compareApiVersions(r.version, server)).toBeLessThanOrEqual(0);
            expect(compareApiVersions(r.version, MAX_API_VERSION)).toBeLessThanOrEqual(0);
          }
        }
      }),
    );
  });
});
