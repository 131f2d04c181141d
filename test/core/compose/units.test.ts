import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { formatDuration, parseBytes, parseDuration } from "../../../core/compose/units.ts";

// Property runs and corpus loads are CPU-bound; the shared test machine can be slow.
setDefaultTimeout(60_000);

describe("durations", () => {
  test.each([
    ["1m30s", 90e9],
    ["10s", 10e9],
    ["500ms", 500e6],
    ["1h", 3600e9],
    ["1.5s", 1.5e9],
    ["2h45m", 9900e9],
    ["100us", 100e3],
    ["30", 30e9],
    ["0", 0],
  ])("%s", (s, ns) => expect(parseDuration(s)).toBe(ns));
  test("malformed", () => {
    for (const s of ["", "10 seconds", "-5s", "1x", "s"]) expect(parseDuration(s)).toBeUndefined();
  });
  test("Go formatting", () => {
    expect(formatDuration(90e9)).toBe("1m30s");
    expect(formatDuration(3600e9)).toBe("1h0m0s");
    expect(formatDuration(1.5e6)).toBe("1.5ms");
    expect(formatDuration(0)).toBe("0s");
  });
  test("format then parse is the identity (ms precision)", () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 1e9 }), (ms) => expect(parseDuration(formatDuration(ms * 1e6))).toBe(ms * 1e6)));
  });
});

describe("bytes", () => {
  test.each([
    ["512M", 512 * 1024 ** 2],
    ["512m", 512 * 1024 ** 2],
    ["1g", 1024 ** 3],
    ["1gb", 1024 ** 3],
    ["64mb", 64 * 1024 ** 2],
    ["100k", 102400],
    ["1024", 1024],
    ["1024b", 1024],
  ])("%s", (s, b) => expect(parseBytes(s)).toBe(b));
  test("malformed", () => {
    for (const s of ["12 apples", "", "1x", "-1m"]) expect(parseBytes(s)).toBeUndefined();
  });
});
