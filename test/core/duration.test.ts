import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { formatDuration, formatMs, parseDuration, parseDurationMs } from "../../core/duration.ts";

describe("durations (core/duration.ts)", () => {
  test("Go's syntax, with days only where asked", () => {
    expect(parseDuration("1m30s")).toBe(90e9);
    expect(parseDuration("1.5h")).toBe(5400e9);
    expect(parseDuration("2")).toBe(2e9);
    expect(parseDuration("1d")).toBeUndefined();
    expect(parseDurationMs("7d")).toBe(7 * 86_400_000);
    for (const bad of ["", "-5s", "10 s", "1x", "s"]) expect(parseDuration(bad)).toBeUndefined();
  });

  test("two styles: Go's for compose, compact for messages and the config", () => {
    expect(formatDuration(3600e9)).toBe("1h0m0s");
    expect(formatDuration(3600e9, "compact")).toBe("1h");
    expect(formatMs(1500)).toBe("1.5s");
    expect(formatMs(5_430_000)).toBe("1h30m30s");
  });

  test("property: both styles parse back to the same value", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 1e9 }), (ms) => parseDuration(formatDuration(ms * 1e6)) === ms * 1e6 && parseDurationMs(formatMs(ms)) === ms),
      { numRuns: 1000, seed: 16 },
    );
  });
});
