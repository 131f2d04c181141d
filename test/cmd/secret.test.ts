/**
 * `fizz secret …` as a new user meets it (a tester's findings): the CLI's
 * own checks, run as a process with no agent where none is needed.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

function fizz(args: string[], input = "") {
  const r = spawnSync(process.execPath, [join(ROOT, "cmd/fizz.ts"), ...args], { encoding: "utf8", input, env: { ...process.env, NO_COLOR: "1", FIZZ_HOST: "unix:///nonexistent/fizz.sock" } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("fizz secret encrypt -r", () => {
  for (const bad of ["bogus", "age1bogus", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl user@host"]) {
    test(`'${bad.slice(0, 12)}' is named as a bad recipient, not a crash`, () => {
      const r = fizz(["secret", "encrypt", "-r", bad, "-"], "x");
      expect(r.stderr).not.toContain("this is a bug");
      expect(r.stderr).not.toContain("unexpected failure");
      expect(r.stderr).toContain(`cannot encrypt to '${bad.slice(0, 20)}`);
      expect(r.stderr).toContain("age1…");
      if (bad.startsWith("ssh-")) expect(r.stderr).toContain("SSH public keys are not supported");
      expect(r.code).not.toBe(0);
    });
  }

  test("a valid recipient still encrypts (no agent needed)", () => {
    const r = fizz(["secret", "encrypt", "-a", "-r", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p", "-"], "x");
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain("-----BEGIN AGE ENCRYPTED FILE-----");
    expect(r.code).toBe(0);
  });
});

describe("fizz secret inspect --format table", () => {
  test("renders key/value lines and the kept versions, not JSON", async () => {
    const { inspectTable } = await import("../../cmd/secret.ts");
    const now = Date.now();
    const out = inspectTable({ name: "db_pw", kind: "secret", version: 2, versions: 2, size: 7, project: null, grants: ["shop"], labels: { team: "a" }, usedBy: ["shop/web"], created: now, updated: now, history: [{ v: 2, created: now, size: 7, by: "node-a" }, { v: 1, created: now, size: 5, by: "node-a" }] });
    expect(out.trimStart().startsWith("{")).toBe(false);
    expect(out).toMatch(/^Name: +db_pw$/m);
    expect(out).toMatch(/^Version: +2 \(2 kept\)$/m);
    expect(out).toMatch(/^Grants: +shop$/m);
    expect(out).toMatch(/^Labels: +team=a$/m);
    expect(out).toMatch(/^VERSION +SIZE +BY +CREATED$/m);
    expect(out).toMatch(/^1 +5 +node-a +\d+ seconds ago$/m);
  });
});
