import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const BUN = process.execPath;

function fizz(...args: string[]) {
  const r = spawnSync(BUN, [join(ROOT, "cmd/fizz.ts"), ...args], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("fizz CLI", () => {
  test("--version prints version and commit", () => {
    const r = fizz("--version");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^fizz \d+\.\d+\.\d+ \(commit [0-9a-f]{7,}|unknown\)\n$/);
  });

  test("unknown command suggests the nearest and exits 2", () => {
    const r = fizz("verison");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown command 'verison'");
  });

  test("unknown global flag suggests the nearest and exits 2", () => {
    const r = fizz("--verson");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("unknown flag '--verson'");
    expect(r.stderr).toContain("did you mean '--version'");
  });
});
