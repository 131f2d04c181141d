import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  canonical,
  decodeGCounter,
  decodeLwwMap,
  decodeOrSet,
  decodePnCounter,
  decodeRegister,
  decodeVersionVector,
  encodeLwwMap,
  encodeOrSet,
  type Decoded,
} from "../../../core/crdt/index.ts";
import { FizzError } from "../../../core/errors.ts";
import { lwwMapSpec, orSetSpec } from "./specs.ts";
import { RUNS, triple } from "./harness.ts";

const decoders: [string, (x: Uint8Array | string) => Decoded<unknown>][] = [
  ["register", decodeRegister],
  ["lww-map", decodeLwwMap],
  ["or-set", decodeOrSet],
  ["g-counter", decodeGCounter],
  ["pn-counter", decodePnCounter],
  ["version-vector", decodeVersionVector],
];

function typedOrOk(d: Decoded<unknown>): void {
  if (!d.ok) {
    expect(d.error).toBeInstanceOf(FizzError);
    expect(d.error.code).toBe("crdt.decode");
  }
}

describe("decoders on untrusted input", () => {
  for (const [name, decode] of decoders) {
    test(`${name}: random bytes give a typed error, never a throw`, () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => typedOrOk(decode(b))), RUNS);
    });
    test(`${name}: random JSON gives a value or a typed error`, () => {
      fc.assert(fc.property(fc.jsonValue(), (j) => typedOrOk(decode(JSON.stringify(j) ?? "null"))), RUNS);
    });
  }

  test("near-miss structures are rejected with a path", () => {
    const d = decodeLwwMap('{"k":{"ts":"000000000001-0000-a","value":1,"deleted":true}}');
    expect(d.ok).toBe(false);
    if (!d.ok) expect(d.error.path).toBe("k.value");
    expect(decodeOrSet('{"live":{"a":["n:0"]},"tombs":{},"floor":{},"clock":{}}').ok).toBe(false);
    expect(decodeVersionVector('{"a b":1}').ok).toBe(false);
    expect(decodePnCounter('{"p":{"a":-1},"n":{}}').ok).toBe(false);
  });

  test("deep nesting is a typed error, not a stack overflow", () => {
    const deep = '{"k":{"ts":"000000000001-0000-a","value":' + "[".repeat(5000) + "]".repeat(5000) + "}}";
    typedOrOk(decodeLwwMap(deep));
    expect(decodeLwwMap(deep).ok).toBe(false);
  });

  test("__proto__ payloads do not pollute prototypes", () => {
    const d = decodeLwwMap('{"__proto__":{"ts":"000000000001-0000-a","value":{"__proto__":{"polluted":1}}}}');
    expect(d.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    if (d.ok) expect(Object.keys(d.value)).toEqual(["__proto__"]);
  });

  test("encode/decode round-trips reachable states", () => {
    fc.assert(
      fc.property(triple(lwwMapSpec), triple(orSetSpec), ([m], [s]) => {
        const dm = decodeLwwMap(encodeLwwMap(m));
        expect(dm.ok && canonical(dm.value)).toBe(canonical(m));
        const ds = decodeOrSet(encodeOrSet(s));
        expect(ds.ok && canonical(ds.value)).toBe(canonical(s));
      }),
      RUNS,
    );
  });
});
