// The ingress data path under Deno (node:net and node:tls there, not Bun's
// native sockets): deno-smoke.ts run with `deno run -A`.
import { afterAll, expect, test } from "bun:test";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../../..");
const dir = mkdtempSync(join(tmpdir(), "fizz-ingress-deno-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("HTTP, HTTPS by SNI and HTTPS behind a PROXY-sending load balancer work under Deno", () => {
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-days", "2", "-subj", "/CN=web.test", "-addext", "subjectAltName=DNS:web.test"], { stdio: "ignore" });
  const r = spawnSync(join(ROOT, "node_modules/.bin/deno"), ["run", "-A", "test/platform/ingress/deno-smoke.ts", join(dir, "c.pem"), join(dir, "k.pem")], { cwd: ROOT, encoding: "utf8", timeout: 60_000, env: { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" } });
  expect(`${r.stdout}${r.stderr}`).not.toContain("FAIL");
  expect(r.stdout.match(/^ok /gm)?.length).toBe(3);
  expect(r.status).toBe(0);
}, 90_000);
