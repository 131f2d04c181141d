import { describe, expect, test } from "bun:test";
import { unixSince } from "../../cmd/up.ts";

describe("unixSince: the engine's clock as the logs endpoint's since", () => {
  test("RFC 3339 with nanoseconds, fewer digits, none, or an offset becomes unix seconds with nine decimals", () => {
    expect(unixSince("2026-12-05T00:06:58.667670463Z")).toBe("1796429218.667670463");
    expect(unixSince("2026-12-05T00:06:58.5349341Z")).toBe("1796429218.534934100");
    expect(unixSince("2026-12-05T00:06:58Z")).toBe("1796429218.000000000");
    expect(unixSince("2026-12-05T01:06:58.5+01:00")).toBe("1796429218.500000000");
  });
  test("anything else is undefined (the caller falls back to its own clock)", () => {
    for (const v of [undefined, "", "yesterday", "2026-12-05 00:06:58Z", "1796429218"]) expect(unixSince(v)).toBeUndefined();
  });
});
