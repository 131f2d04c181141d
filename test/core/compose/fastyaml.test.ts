import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { fastParse } from "../../../core/compose/fastyaml.ts";
import { parseYamlFileFull } from "../../../core/compose/source.ts";
import { CORPUS } from "./corpus.ts";

// Property runs and corpus loads are CPU-bound; the shared test machine can be slow.
setDefaultTimeout(60_000);

/** The fast parser must agree with the yaml package whenever it does not bail out. */
function agree(text: string): boolean {
  const fast = fastParse("f.yaml", text);
  if (!fast) return false;
  const full = parseYamlFileFull("f.yaml", text);
  expect(full.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  expect(fast.value).toEqual(full.value);
  expect(Object.fromEntries(fast.locations.values)).toEqual(Object.fromEntries(full.locations.values));
  expect(Object.fromEntries(fast.locations.keys)).toEqual(Object.fromEntries(full.locations.keys));
  return true;
}

function corpusFiles(dir = CORPUS): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return corpusFiles(p);
    return /\.ya?ml$/.test(f) && !f.startsWith("expected") ? [p] : [];
  });
}

describe("fast YAML subset parser", () => {
  test("agrees with the yaml package (values and positions) on every corpus file it accepts", () => {
    let accepted = 0;
    for (const f of corpusFiles()) if (agree(readFileSync(f, "utf8"))) accepted++;
    expect(accepted).toBeGreaterThan(50);
  });

  test("bails out on what it does not handle, so the yaml package reports errors", () => {
    for (const t of ["a: 1\na: 2\n", "a: |\n  x\n", "a: !!str 1\n", "a: [1,\n 2]\n", "a: b\n c\n", "---\na: 1\n---\nb: 2\n", "a:\n\t- x\n", "? a\n: b\n", "a: *nope\n", "a: 'x\n"]) {
      expect(fastParse("f", t)).toBeUndefined();
    }
  });

  test("handles anchors, merge keys, flow collections, quoting and comments", () => {
    const t = [
      "x-a: &a {restart: always, labels: [a=1]}  # comment",
      "x-b: &b",
      "  init: true",
      "services:",
      "  web:",
      "    <<: [*a, *b]",
      '    image: "nginx:1.25" # pinned',
      "    command: ['sh', '-c', 'echo it''s']",
      "    ports:",
      "    - 8080:80",
      "    - target: 443",
      "      published: 0443",
      '    environment: {A: "x\\ty", B: ~, C: 1e3, D: 0x1F, E: .inf}',
      "    empty:",
      "",
    ].join("\n");
    expect(agree(t)).toBe(true);
  });

  const scalar = fc.oneof(
    fc.string({ maxLength: 10 }),
    fc.constantFrom("80:80", "yes", "no", "on", "null", "~", "true", "0755", "1e3", ".5", "-1", "0x1f", "a #b", "'q'", '"d"', "x: y", "- z", "&a", "*a", "${X:-1}", "#c", " lead", "trail "),
    fc.integer(),
    fc.double({ noNaN: true }),
    fc.boolean(),
    fc.constant(null),
  );
  const value = fc.letrec((tie) => ({
    v: fc.oneof({ depthSize: "small" }, scalar, fc.array(tie("v"), { maxLength: 4 }), fc.dictionary(fc.string({ maxLength: 6 }), tie("v"), { maxKeys: 4 })),
  })).v;

  test("random documents in block style: same value as the yaml package, or a bail-out", () => {
    let accepted = 0;
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), value, { minKeys: 1, maxKeys: 5 }), (doc) => {
        if (agree(stringify(doc))) accepted++;
      }),
      { numRuns: 400 },
    );
    expect(accepted).toBeGreaterThan(40);
  }, 60_000);

  test("random documents in flow style: same value as the yaml package, or a bail-out", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), value, { minKeys: 1, maxKeys: 5 }), (doc) => {
        agree(stringify(doc, { collectionStyle: "flow", lineWidth: 0 }));
        agree(stringify(doc, { flowCollectionPadding: false, defaultKeyType: "PLAIN", lineWidth: 0, indentSeq: false }));
      }),
      { numRuns: 300 },
    );
  }, 60_000);

  test("mutated documents: whenever the fast parser accepts text, the yaml package accepts it with the same value", () => {
    const mutation = fc.tuple(fc.nat(), fc.constantFrom("del", " ", ":", "-", "'", '"', "#", "\n", "  ", "[", "{", ",", "&a ", "*a", "<<: ", "\t", "!", "|", "?", "- ", "\\", "~", "\r\n"));
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), value, { minKeys: 1, maxKeys: 5 }), fc.array(mutation, { minLength: 1, maxLength: 3 }), (doc, muts) => {
        let t = stringify(doc);
        for (const [pos, m] of muts) {
          const i = pos % (t.length + 1);
          t = m === "del" ? t.slice(0, i) + t.slice(i + 1) : t.slice(0, i) + m + t.slice(i);
        }
        const fast = fastParse("f.yaml", t);
        if (!fast) return;
        const full = parseYamlFileFull("f.yaml", t);
        expect(full.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
        expect(fast.value).toEqual(full.value);
      }),
      { numRuns: 1000 },
    );
  });
});
