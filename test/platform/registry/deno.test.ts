// The registry's data path under Deno (node:http/https, node:sqlite, undici
// and Deno's fetch there): deno-smoke.ts run with `deno run -A`.
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../../..");

test("push, pull, a peer over mutual TLS and a pull-through upstream work under Deno", () => {
  const r = spawnSync(join(ROOT, "node_modules/.bin/deno"), ["run", "-A", "test/platform/registry/deno-smoke.ts"], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } });
  expect(`${r.stdout}${r.stderr}`).not.toContain("FAIL");
  expect(r.stdout.match(/^ok /gm)?.length).toBe(6);
  expect(r.status).toBe(0);
}, 90_000);
