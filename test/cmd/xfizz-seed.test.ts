/**
 * Issue 11: the seed documents' x-fizz forms through the real CLI. `fizz
 * validate` accepts them (naming scaling as not acted on yet) and `fizz config
 * --format json` shows the project's zone as a constraint on each service.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

setDefaultTimeout(60_000);
const ROOT = join(import.meta.dir, "..", "..");

/** The YAML block of the seed's "Extension Fields" section (seeds/000_…), verbatim. */
const SEED = `x-fizz:
  placement:
    zone: us-east

services:
  web:
    x-fizz:
      scaling:
        min: 2
        max: 10
`;

function fizz(cwd: string, args: string[]) {
  const r = spawnSync(process.execPath, [join(ROOT, "cmd/fizz.ts"), ...args], { cwd, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: "/home/user", NO_COLOR: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test("fizz validate and fizz config on the seed's x-fizz example (with images added, as compose needs one)", () => {
  const dir = mkdtempSync(join(tmpdir(), "fizz-seed-"));
  const text = SEED.replace("  web:\n", "  web:\n    image: nginx\n") + "  db:\n    image: mariadb\n";
  writeFileSync(join(dir, "compose.yaml"), text);
  const v = fizz(dir, ["validate"]);
  expect(v.code, v.stderr).toBe(0);
  expect(v.stdout).toContain("warning: services.web.x-fizz.scaling: 'x-fizz.scaling' is not acted on yet (there is no autoscaler)");
  expect(v.stdout).toContain("(2 services, 1 warning)");

  const c = fizz(dir, ["config", "--format", "json"]);
  expect(c.code, c.stderr).toBe(0);
  const doc = JSON.parse(c.stdout) as { services: Record<string, { "x-fizz"?: { placement?: { constraints?: string[] } } }> };
  for (const s of ["web", "db"]) expect(doc.services[s]!["x-fizz"]?.placement?.constraints).toEqual(["zone==us-east"]);
});
