import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { stringify } from "yaml";
import { loadProject } from "../../../core/compose/load.ts";

// Property runs and corpus loads are CPU-bound; the shared test machine can be slow.
setDefaultTimeout(60_000);

function load(text: string, env: Record<string, string> = {}) {
  return loadProject({ cwd: "/p", env, reader: { read: (p) => (p === "/p/compose.yaml" ? text : undefined) } });
}

const fieldNames = ["image", "ports", "volumes", "environment", "depends_on", "healthcheck", "deploy", "command", "build", "networks", "secrets", "extends", "profiles", "x-fizz", "ulimits", "labels", "restart", "bogus", "__proto__", "constructor"];
const leaf = fc.oneof(fc.string({ maxLength: 12 }), fc.integer(), fc.boolean(), fc.constant(null), fc.constantFrom("${X:-1}", "$$", "${", "80:80", "1m", "512M", "a:b:c:d"));
const value = fc.letrec((tie) => ({
  v: fc.oneof({ depthSize: "small" }, leaf, fc.array(tie("v"), { maxLength: 3 }), fc.dictionary(fc.oneof(fc.constantFrom(...fieldNames), fc.string({ maxLength: 6 })), tie("v"), { maxKeys: 4 })),
})).v;
const doc = fc.record(
  {
    services: fc.dictionary(fc.constantFrom("web", "db", "x y", "api"), fc.oneof(value, fc.dictionary(fc.constantFrom(...fieldNames), value, { maxKeys: 6 })), { maxKeys: 3 }),
    networks: value,
    volumes: value,
    secrets: value,
    include: value,
    "x-fizz": value,
  },
  { requiredKeys: [] },
);

describe("random documents", () => {
  test("shaped documents never throw: the loader returns diagnostics", () => {
    fc.assert(
      fc.property(doc, (d) => {
        const r = load(stringify(d));
        expect(Array.isArray(r.diagnostics)).toBe(true);
        if (r.diagnostics.some((x) => x.severity === "error")) expect(r.diagnostics.every((x) => typeof x.message === "string" && x.code.startsWith("compose."))).toBe(true);
      }),
      { numRuns: 200 },
    );
  }, 60_000);
  test("arbitrary text never throws", () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom("a", ":", " ", "\n", "-", "[", "]", "{", "}", "&", "*", "<", "$", "'", '"', "#", "!") , maxLength: 80 }), (t) => {
        const r = load(t);
        expect(Array.isArray(r.diagnostics)).toBe(true);
      }),
      { numRuns: 300 },
    );
  }, 60_000);
  test("alias bombs are refused, not expanded", () => {
    const bomb = 'a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n';
    const r = load(bomb);
    expect(r.diagnostics.some((d) => d.severity === "error")).toBe(true);
  });
});
