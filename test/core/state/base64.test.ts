import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { fromBase64, toBase64 } from "../../../core/state/cluster-state.ts";

describe("state base64", () => {
  test("toBase64 is standard padded base64 and fromBase64 undoes it", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        const s = toBase64(b);
        expect(s).toBe(Buffer.from(b).toString("base64"));
        expect(fromBase64(s)).toEqual(b);
      }),
      { numRuns: 500 },
    );
  });

  test("a state larger than one chunk of the encoder (32 KiB) encodes whole", () => {
    const b = new Uint8Array(100_003).map((_, i) => (i * 7919) & 0xff);
    expect(toBase64(b)).toBe(Buffer.from(b).toString("base64"));
    expect(fromBase64(toBase64(b))).toEqual(b);
  });
});
