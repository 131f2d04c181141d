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

describe("secret/config owners and targets (the rules fizz up's delivery plan applies)", () => {
  test("a uid or gid that is not a number is an error at its line", () => {
    const r = load(`services:\n  a:\n    image: x\n    secrets:\n      - source: s\n        uid: "abc"\n        gid: 1000\n    configs:\n      - source: s\n        gid: root\nsecrets:\n  s:\n    file: ./s.txt\nconfigs:\n  s:\n    file: ./s.txt\n`);
    expect(errors(r).map((d) => [d.path, d.line, d.message])).toEqual([
      ["services.a.secrets[0].uid", 6, "uid 'abc' must be a number (a name cannot be resolved on the host)"],
      ["services.a.configs[0].gid", 10, "gid 'root' must be a number (a name cannot be resolved on the host)"],
    ]);
  });

  test("two secrets or configs with one target are an error at the second, naming the first", () => {
    const r = load(`services:\n  a:\n    image: x\n    secrets:\n      - source: s\n        target: s2\n      - source: s2\n    configs:\n      - source: c\n        target: /run/secrets/s2\n      - source: c\n        target: /c\nsecrets:\n  s:\n    file: ./s.txt\n  s2:\n    file: ./s.txt\nconfigs:\n  c:\n    file: ./s.txt\n`);
    expect(errors(r).map((d) => [d.path, d.line, d.message])).toEqual([
      ["services.a.secrets[1]", 7, "two secrets or configs target /run/secrets/s2 (secrets[0] and secrets[1])"],
      ["services.a.configs[0]", 9, "two secrets or configs target /run/secrets/s2 (secrets[0] and configs[0])"],
    ]);
  });
});
