/**
 * An alias the yaml package cannot expand (no such anchor, or a `<<` merge of
 * something that is not a mapping) is reported at the alias, naming it, not
 * at 1:1 (the package's toJS throws without a position).
 */
import { describe, expect, test } from "bun:test";
import { parseYamlFile } from "../../../core/compose/source.ts";

const errs = (text: string) => parseYamlFile("anc.yaml", text).diagnostics.filter((d) => d.severity === "error").map((d) => [d.line, d.column, d.message]);

describe("unresolvable aliases", () => {
  test("a merge of an undefined alias points at the alias and names it", () => {
    expect(errs("x-base: &base\n  image: x\nservices:\n  a:\n    <<: *nope\n    command: hi\n")).toEqual([[5, 9, "YAML: unknown alias 'nope' (its anchor &nope must be defined before it)"]]);
  });

  test("an undefined alias as a value, or one whose anchor comes after it", () => {
    expect(errs("services:\n  a:\n    image: x\n    command: *nope\n")).toEqual([[4, 14, "YAML: unknown alias 'nope' (its anchor &nope must be defined before it)"]]);
    expect(errs("services:\n  a:\n    image: *later\n  b:\n    image: &later x\n")).toEqual([[3, 12, "YAML: unknown alias 'later' (its anchor &later must be defined before it)"]]);
  });

  test("merging a scalar alias, or an unknown one in a merge list, is reported at each alias", () => {
    expect(errs("x-s: &s hello\nx-m: &m {image: x}\nservices:\n  a:\n    <<: [*m, *s]\n  c:\n    <<: [*m, *zz]\n")).toEqual([
      [5, 14, "YAML: '<<' merges alias 's', which is not a mapping"],
      [7, 14, "YAML: unknown alias 'zz' (its anchor &zz must be defined before it)"],
    ]);
  });

  test("valid merges still load", () => {
    const r = parseYamlFile("ok.yaml", "x-m: &m {image: x}\nservices:\n  a:\n    <<: *m\n    command: hi\n  b:\n    <<: [*m]\n");
    expect(r.diagnostics).toEqual([]);
    expect(r.value).toEqual({ "x-m": { image: "x" }, services: { a: { image: "x", command: "hi" }, b: { image: "x" } } });
  });
});
