import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { escapeDollars, interpolate } from "../../../core/compose/interpolate.ts";

// Property runs and corpus loads are CPU-bound; the shared test machine can be slow.
setDefaultTimeout(60_000);

const env: Record<string, string> = { SET: "value", EMPTY: "" };
const look = (n: string) => env[n];
const run = (s: string) => {
  const r = interpolate(s, look);
  if (!r.ok) throw new Error(r.message);
  return r.value;
};

describe("interpolate: every form of the spec", () => {
  test.each([
    ["$SET", "value"],
    ["${SET}", "value"],
    ["pre-${SET}-post", "pre-value-post"],
    ["${UNSET:-d}", "d"],
    ["${EMPTY:-d}", "d"],
    ["${EMPTY-d}", ""],
    ["${UNSET-d}", "d"],
    ["${SET:-d}", "value"],
    ["${SET:+alt}", "alt"],
    ["${EMPTY:+alt}", ""],
    ["${EMPTY+alt}", "alt"],
    ["${UNSET+alt}", ""],
    ["${UNSET:-${ALSO:-c}}", "c"],
    ["${UNSET:-${SET}}", "value"],
    ["${UNSET:-a ${SET} b}", "a value b"],
    ["$$SET", "$SET"],
    ["$${SET}", "${SET}"],
    ["$$$SET", "$value"],
    ["${SET:?boom}", "value"],
    ["no dollars", "no dollars"],
  ])("%s → %s", (input, want) => expect(run(input)).toBe(want));

  test("required variables name the variable and carry the message", () => {
    const a = interpolate("${MISSING:?set it please}", look);
    expect(a).toEqual({ ok: false, variable: "MISSING", message: "required variable MISSING is not set or empty: set it please" });
    const b = interpolate("${EMPTY?x}", look);
    expect(b.ok).toBe(true);
    const c = interpolate("${EMPTY:?}", look);
    expect(c.ok).toBe(false);
  });

  test("malformed expressions are errors, not crashes", () => {
    for (const s of ["${", "${SET", "$ x", "${1abc}", "${SET:x}", "$"]) expect(interpolate(s, look).ok).toBe(false);
  });

  test("unset variables are reported", () => {
    const r = interpolate("$A ${B} ${C:-x} ${SET}", look);
    expect(r.ok && r.unset).toEqual(["A", "B"]);
  });
});

describe("interpolate: properties", () => {
  const name = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,8}$/);
  const envArb = fc.dictionary(name, fc.string({ maxLength: 8 }));

  test("escaping any text with $$ round-trips to the text, whatever the environment", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("$", "{", "}", "a", "-", ":", "?", "+", " ", "é") }), envArb, (s, e) => {
        const r = interpolate(escapeDollars(s), (n) => e[n]);
        expect(r).toEqual({ ok: true, value: s, unset: [] });
      }),
    );
  });

  test("nested defaults pick the first non-empty variable, else the literal", () => {
    const literal = fc.string({ unit: fc.constantFrom("a", "b", " ", "/", ".") });
    fc.assert(
      fc.property(name, name, literal, envArb, (a, b, c, e) => {
        const r = interpolate(`\${${a}:-\${${b}:-${c}}}`, (n) => e[n]);
        const want = e[a] ? e[a] : e[b] ? e[b] : c;
        expect(r.ok && r.value).toBe(want);
      }),
    );
  });

  test("a variable's value is inserted verbatim, even if it contains $", () => {
    fc.assert(
      fc.property(name, fc.string(), (n, v) => {
        const r = interpolate(`<\${${n}}>`, (x) => (x === n ? v : undefined));
        expect(r.ok && r.value).toBe(`<${v}>`);
      }),
    );
  });
});
