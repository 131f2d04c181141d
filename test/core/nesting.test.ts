import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { jsonTooDeepAt, tooDeepAt } from "../../core/nesting.ts";
import { loadProject } from "../../core/compose/load.ts";
import { MAX_NESTING_DEPTH } from "../../core/limits.ts";
import { yamlDepthBound, yamlTooDeepAt } from "../../core/compose/yaml-depth.ts";
import { parse, stringify } from "yaml";

function nest(n: number): unknown {
  let v: unknown = 1;
  for (let i = 0; i < n; i++) v = i % 2 ? [v] : { a: v };
  return v;
}

function load(text: string) {
  return loadProject({ cwd: "/p", env: {}, reader: { read: (p) => (p === "/p/compose.yaml" ? text : undefined) } });
}

describe("tooDeepAt: depth without recursion", () => {
  test("counts collection levels, the outermost being 1", () => {
    expect(tooDeepAt(1, 0)).toBeUndefined();
    expect(tooDeepAt({}, 1)).toBeUndefined();
    expect(tooDeepAt({ a: {} }, 1)).toEqual(["a"]);
    expect(tooDeepAt(nest(64))).toBeUndefined();
    expect(tooDeepAt(nest(65))).toHaveLength(64);
  });

  test("100,000 levels are measured without a stack overflow", () => {
    expect(tooDeepAt(nest(100_000))).toHaveLength(MAX_NESTING_DEPTH);
  });

  test("shared subtrees count at every depth they are used; cycles are too deep", () => {
    let v: unknown = [1];
    const chain: unknown[] = [];
    for (let i = 0; i < 70; i++) chain.push((v = [v, v]));
    expect(tooDeepAt(chain[10])).toBeUndefined();
    const shallow = { s: chain[30] };
    // 2^30 paths below `shallow`: past the visit budget, shared subtrees are measured once, and the path stops where one is used.
    expect(tooDeepAt({ x: shallow, y: [[[[shallow]]]] }, 36)).toEqual(["y", 0, 0, 0, 0]);
    expect(tooDeepAt({ x: { s: [[[1]]] }, y: [[{ s: [[[1]]] }]] }, 6)).toEqual(["y", 0, 0, "s", 0, 0]);
    expect(tooDeepAt({ deep: chain[69] })).toEqual(["deep", ...Array(63).fill(0)]);
    // 2^62 paths, none too deep: the walk stops at its visit budget and measures each shared level once.
    expect(tooDeepAt(chain[60])).toBeUndefined();
    const cyc: Record<string, unknown> = {};
    cyc.self = cyc;
    expect(tooDeepAt(cyc)).toEqual(Array(64).fill("self"));
  });

  test("property: agrees with a recursive measure", () => {
    const depth = (v: unknown): number => (typeof v === "object" && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (v, max) => {
        expect(tooDeepAt(v, max) === undefined).toBe(depth(v) <= max);
      }),
      { numRuns: 500, seed: 18 },
    );
  });
});

describe("jsonTooDeepAt: JSON text scanned before parsing", () => {
  test("finds the first bracket past the limit; brackets in strings do not count", () => {
    expect(jsonTooDeepAt("[".repeat(100_000) + "]".repeat(100_000))).toBe(MAX_NESTING_DEPTH);
    expect(jsonTooDeepAt(`{"a":"${"[".repeat(1000)}"}`)).toBe(-1);
    expect(jsonTooDeepAt(`["\\"[[[[",[[]]]`, 3)).toBe(-1);
    expect(jsonTooDeepAt(`["\\"[[[[",[[[]]]]`, 3)).toBe(12);
  });

  test("property: agrees with the parsed value's depth", () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 8 }), fc.integer({ min: 0, max: 9 }), (v, max) => {
        expect(jsonTooDeepAt(JSON.stringify(v), max) === -1).toBe(tooDeepAt(v, max) === undefined);
      }),
      { numRuns: 500, seed: 18 },
    );
  });
});

describe("compose files nested deeply get a located error (issue 18: 100k levels → stack overflow)", () => {
  const errorsOf = (text: string) => load(text).diagnostics.filter((d) => d.severity === "error");
  test("flow sequences, flow mappings and block nesting past the limit", () => {
    const n = 100_000;
    for (const text of [
      `services:\n  web:\n    image: x\nx-a: ${"[".repeat(n)}${"]".repeat(n)}\n`,
      `services:\n  web:\n    image: x\nx-a: ${"{a: ".repeat(n)}1${"}".repeat(n)}\n`,
      `services:\n  web:\n    image: x\nx-a:\n${Array.from({ length: 2000 }, (_, i) => `${" ".repeat(i + 1)}-\n`).join("")}`,
      `services:\n  web:\n    image: x\n    labels:\n      a: ${"[".repeat(40_000)}${"]".repeat(40_000)}\n`,
    ]) {
      const errs = errorsOf(text);
      expect(errs).toHaveLength(1);
      expect(errs[0]!.code).toBe("compose.too_deep");
      expect(errs[0]!.message).toBe("the value here is nested more than 64 levels deep, over the nesting depth limit (64 levels)");
      expect(errs[0]!.line).toBeGreaterThan(3);
    }
  });

  test("aliases stacked into a deep value are refused at the path where they cross", () => {
    const lines = ["x-0: &a0 [1]"];
    for (let i = 1; i <= 70; i++) lines.push(`x-${i}: &a${i} [*a${i - 1}]`);
    const errs = errorsOf(`services:\n  web:\n    image: x\n${lines.join("\n")}\n`);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.message).toMatch(/^the value at x-63\[0\][[\]0]*… \(\d+ characters\) is nested more than 64 levels deep, over the nesting depth limit \(64 levels\)$/);
    expect(errs[0]!.line).toBeGreaterThan(60);
  });

  test("64 levels are fine, in the fast parser and the yaml package alike", () => {
    const flow = (n: number) => `services:\n  web:\n    image: x\nx-a: ${"[".repeat(n)}${"]".repeat(n)}\n`;
    expect(errorsOf(flow(63))).toEqual([]);
    expect(errorsOf(flow(64))[0]!.code).toBe("compose.too_deep");
    expect(errorsOf(`${flow(63)}x-b: |\n  block scalar sends this file to the yaml package\n`)).toEqual([]);
  });
});

describe("yamlDepthBound: the cheap pre-check never under-counts", () => {
  test("property: the bound is at least the parsed depth, in block and flow style", () => {
    const depth = (v: unknown): number => (typeof v === "object" && v !== null ? 1 + Math.max(0, ...Object.values(v).map(depth)) : 0);
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 12 }), fc.boolean(), (v, flow) => {
        const text = stringify(v, flow ? { collectionStyle: "flow" } : {});
        expect(yamlDepthBound(text)).toBeGreaterThanOrEqual(depth(parse(text)));
        expect(yamlTooDeepAt(text, 64) === -1).toBe(depth(parse(text)) <= 64);
      }),
      { numRuns: 300, seed: 18 },
    );
  });
});
