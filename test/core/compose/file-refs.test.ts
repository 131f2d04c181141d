/**
 * Secrets and configs of a service: the file mode (octal, as compose-go reads
 * it), numeric owners and distinct targets, all reported at the file and line.
 */
import { describe, expect, test } from "bun:test";
import { loadProject, type LoadResult } from "../../../core/compose/load.ts";

function load(yaml: string): LoadResult {
  return loadProject({ cwd: "/p", env: { HOME: "/home/u" }, reader: { read: (p) => (p === "/p/compose.yaml" ? yaml : p === "/p/s.txt" ? "x" : undefined) } });
}
const errors = (r: LoadResult) => r.diagnostics.filter((d) => d.severity === "error");
const refs = (modes: string[]) =>
  `services:\n  a:\n    image: x\n    secrets:\n${modes.map((m, i) => `      - source: s\n        target: t${i}\n        mode: ${m}\n`).join("")}secrets:\n  s:\n    file: ./s.txt\n`;

describe("secret/config mode", () => {
  test("a quoted mode is octal, an unquoted YAML 0440 is octal too", () => {
    const r = load(refs(['"0440"', "0440", '"440"', "288", '"0"']));
    expect(errors(r)).toEqual([]);
    expect(r.project!.services.a!.secrets.map((s) => s.mode)).toEqual([0o440, 0o440, 0o440, 288, 0]);
  });

  test("a string that is not octal is an error at its line", () => {
    const r = load(refs(['"0440"', '"0999"', '"abc"', '"-1"', '""']));
    expect(errors(r).map((d) => [d.path, d.line])).toEqual([
      ["services.a.secrets[1].mode", 10],
      ["services.a.secrets[2].mode", 13],
      ["services.a.secrets[3].mode", 16],
      ["services.a.secrets[4].mode", 19],
    ]);
    expect(errors(r)[0]!.message).toContain("'0999' is not an octal number");
  });
});
