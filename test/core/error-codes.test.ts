/**
 * One catalogue of error codes (core/error-codes.ts): every code the source
 * throws is listed there, the OpenAPI document lists the same codes, and the
 * README names every family.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { REPO_ROOT, tsFiles } from "../support/source-tree.ts";
import { join } from "node:path";
import { parse } from "yaml";
import { ERROR_CODES, ERROR_FAMILIES, exitCodeOf, httpStatusOf } from "../../core/error-codes.ts";

const ROOT = REPO_ROOT;


/** Code literals as FizzErrors are made: `code: "x.y"`, httpError(status, "x.y", …), refused("x.y", …). */
function thrown(): Map<string, string> {
  const out = new Map<string, string>();
  const patterns = [/\bcode:\s*"([a-z][a-z0-9_]*(?:\.[a-z0-9_-]+)+)"/g, /\bhttpError\(\d{3},\s*"([a-z][a-z0-9_.-]+)"/g, /\brefused\(\s*"([a-z][a-z0-9_.-]+)"/g];
  for (const layer of ["cmd", "controllers", "core", "platform"]) {
    for (const f of tsFiles(join(ROOT, layer))) {
      const s = readFileSync(f, "utf8");
      for (const re of patterns) for (const m of s.matchAll(re)) if (ERROR_FAMILIES[m[1]!.split(".")[0]!] !== undefined) out.set(m[1]!, f.slice(ROOT.length + 1));
    }
  }
  return out;
}

describe("error codes", () => {
  test("every code thrown is in the catalogue", () => {
    const missing = [...thrown()].filter(([c]) => !Object.hasOwn(ERROR_CODES, c)).map(([c, f]) => `${c} (${f})`);
    expect(missing).toEqual([]);
  });

  test("the OpenAPI document lists exactly the catalogue", () => {
    const doc = parse(readFileSync(join(ROOT, "api", "openapi.yaml"), "utf8")) as { components: { schemas: { ErrorCode: { enum: string[] } } } };
    expect([...doc.components.schemas.ErrorCode.enum].sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  test("the README names every family", () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    for (const f of Object.keys(ERROR_FAMILIES)) expect(readme).toContain(`\`${f}.\``);
  });

  test("statuses and exit codes are decided by the code, at the edges", () => {
    expect(httpStatusOf("api.not_found")).toBe(404);
    expect(httpStatusOf("cluster.engine_shared")).toBe(409);
    expect(httpStatusOf("not.listed", 418)).toBe(418);
    expect(exitCodeOf("cli.usage")).toBe(2);
    expect(exitCodeOf("executor.aborted")).toBe(130);
    expect(exitCodeOf("api.not_found")).toBe(1);
    for (const [c, i] of Object.entries(ERROR_CODES)) {
      expect([c, i.status >= 400 && i.status <= 599]).toEqual([c, true]);
      expect(c).toMatch(/^[a-z][a-z0-9_]*(\.[a-z0-9_-]+)+$/);
    }
  });
});
