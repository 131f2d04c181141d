/**
 * env_file `format:` — `raw` reads lines as `docker run --env-file` does (as
 * Docker Compose registers it), the default is the dotenv format; any other
 * format is an error at its line.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseRawEnv } from "../../../core/compose/dotenv.ts";
import { loadProject, type LoadResult } from "../../../core/compose/load.ts";
import { resolveEnvironment } from "../../../core/deploy/env.ts";

const RAW = "# comment\n  A=\"quoted\"\nB=${HOME} # not a comment  \n\nC='single'\r\nINHERIT\nMISSING\n";

function load(files: Record<string, string>, env: Record<string, string> = {}): LoadResult {
  return loadProject({ cwd: "/p", env: { HOME: "/home/u", ...env }, reader: { read: (p) => files[p] } });
}
const errors = (r: LoadResult) => r.diagnostics.filter((d) => d.severity === "error");

describe("env_file format: raw", () => {
  test("values are taken as written: no interpolation, quotes or inline comments; comments and blank lines skipped", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    env_file:\n      - path: ./raw.env\n        format: raw\n", "/p/raw.env": RAW }, { INHERIT: "shell" });
    expect(errors(r)).toEqual([]);
    expect(r.project!.services.a!.environment).toEqual({ A: '"quoted"', B: "${HOME} # not a comment  ", C: "'single'", INHERIT: "shell" });
  });

  test("the default format still interpolates and unquotes", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    env_file: [{path: ./raw.env, format: dotenv}, ./raw.env]\n", "/p/raw.env": 'A="quoted"\nB=${HOME}\n' });
    expect(errors(r)).toEqual([]);
    expect(r.project!.services.a!.environment).toEqual({ A: "quoted", B: "/home/u" });
  });

  test("an unknown format is an error at its line", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    env_file:\n      - path: ./raw.env\n        format: rawx\n", "/p/raw.env": "A=1\n" });
    expect(errors(r).map((d) => [d.path, d.file, d.line])).toEqual([["services.a.env_file[0].format", "/p/compose.yaml", 6]]);
  });

  test("a key that is empty or holds whitespace is an error at the env file's line (export is not special)", () => {
    expect(parseRawEnv("A=1\n=x\nexport B=2\nC =3\n").errors.map((e) => e.line)).toEqual([2, 3, 4]);
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    env_file: [{path: ./raw.env, format: raw}]\n", "/p/raw.env": "A=1\nexport B=2\n" });
    expect(errors(r).map((d) => [d.file, d.line])).toEqual([["/p/raw.env", 2]]);
  });

  test("fizz up's environment (core/deploy) reads raw files the same way", () => {
    const svc = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    env_file: [{path: ./raw.env, format: raw}]\n", "/p/raw.env": "A=\"q\"\nB=$X\n" }, {}).project!.services.a!;
    // The loader folded env_file in; resolveEnvironment is what up uses on an unresolved service.
    const env = resolveEnvironment({ ...svc, environment: {}, env_file: [{ path: "/p/raw.env", required: true, format: "raw" }] }, () => "A=\"q\"\nB=$X\n", { X: "no" });
    expect(env).toEqual({ A: '"q"', B: "$X" });
  });

  test("property: KEY=VALUE round-trips byte for byte for any value without a line break", () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.]*$/), fc.string().filter((v) => !/[\r\n]/.test(v)), (k, v) => {
        expect(parseRawEnv(`${k}=${v}\n`)).toEqual({ vars: { [k]: v }, errors: [] });
      }),
    );
  });
});
