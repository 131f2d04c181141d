import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { JsonStreamDecoder, JsonStreamError } from "../../../core/engine/json-stream.ts";

const enc = new TextEncoder();

function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

const valueArb = fc.oneof(
  fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 3 })),
  fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 5 }),
);

describe("concatenated JSON stream decoder", () => {
  test("newline-separated Docker events", () => {
    const dec = new JsonStreamDecoder();
    const got = dec.push(enc.encode('{"Type":"container","Action":"start"}\n{"Type":"network","Action":"connect"}\n'));
    expect(got).toEqual([
      { Type: "container", Action: "start" },
      { Type: "network", Action: "connect" },
    ]);
    dec.end();
  });

  test("values without separators, braces inside strings, escaped quotes", () => {
    const dec = new JsonStreamDecoder();
    const got = dec.push(enc.encode('{"a":"}{\\"x"}{"b":[1,{"c":"]"}]}'));
    expect(got).toEqual([{ a: '}{"x' }, { b: [1, { c: "]" }] }]);
  });

  test("property: any JSON objects/arrays, any separators, any chunking (incl. inside UTF-8 sequences)", () => {
    fc.assert(
      fc.property(
        fc.array(valueArb, { maxLength: 10 }),
        fc.array(fc.constantFrom("", "\n", "\r\n", " ", "\t\n"), { minLength: 10, maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (values, seps, cuts) => {
          const text = values.map((v, i) => JSON.stringify(v) + seps[i % seps.length]).join("");
          const dec = new JsonStreamDecoder();
          const got: unknown[] = [];
          for (const c of split(enc.encode(text), cuts)) got.push(...dec.push(c));
          dec.end();
          expect(got).toEqual(JSON.parse(JSON.stringify(values)));
        },
      ),
      { numRuns: 300 },
    );
  });

  test("a truncated value is reported at end()", () => {
    const dec = new JsonStreamDecoder();
    expect(dec.push(enc.encode('{"status":"Pulling'))).toEqual([]);
    expect(() => dec.end()).toThrow(JsonStreamError);
  });

  test("garbage between values is an error, not silently skipped", () => {
    expect(() => new JsonStreamDecoder().push(enc.encode('{"a":1} oops {"b":2}'))).toThrow(/unexpected 'o'/);
  });
});
