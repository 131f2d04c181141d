import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { formatDuration, formatMs, parseDuration, parseDurationMs, sinceTimestamp } from "../../core/duration.ts";

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

describe("sinceTimestamp: --since as the logs endpoint's unix seconds", () => {
  const now = Date.parse("2026-12-05T00:10:00.000Z");
  test("a Go duration counts back from now", () => {
    expect(sinceTimestamp("5s", now)).toBe("1796429395.000000000");
    expect(sinceTimestamp("1h30m", now)).toBe(`${1796429400 - 5400}.000000000`);
    expect(sinceTimestamp("1.5s", now)).toBe("1796429398.500000000");
  });
  test("RFC 3339 with nanoseconds, fewer digits, an offset, a date; unix seconds as they are", () => {
    expect(sinceTimestamp("2026-12-05T00:06:58.667670463Z", now)).toBe("1796429218.667670463");
    expect(sinceTimestamp("2026-12-05T00:06:58.5349341Z", now)).toBe("1796429218.534934100");
    expect(sinceTimestamp("2026-12-05T01:06:58+01:00", now)).toBe("1796429218.000000000");
    expect(sinceTimestamp("1796429218", now)).toBe("1796429218.000000000");
    expect(sinceTimestamp("1796429218.5", now)).toBe("1796429218.5");
  });
  test("anything else is undefined", () => {
    for (const v of ["", "yesterday", "-5s", "5x", "2026-13-45T00:00:00Z", "12:00"]) expect(sinceTimestamp(v, now)).toBeUndefined();
  });
});
