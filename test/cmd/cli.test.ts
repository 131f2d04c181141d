import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
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

describe("a flag's value that starts with '-'", () => {
  test("a negative number or duration is the flag's value, and the verb says what is wrong with it (not the help, exit 0)", () => {
    const r = fizz("registry", "gc", "--dry-run", "--grace", "-5h");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--grace '-5h' is not a duration");
    expect(r.stdout).not.toContain("Usage:");
  });

  test("only value flags take it, and nothing after the command of exec/run is touched", async () => {
    const { buildCli, withNegativeValues, withPassthrough } = await import("../../cmd/cli.ts");
    const cli = buildCli({ code: 0 }, {});
    expect(withNegativeValues(cli, ["logs", "--tail", "-3", "web"])).toEqual(["logs", "--tail=-3", "web"]);
    expect(withNegativeValues(cli, ["logs", "--follow", "-3"])).toEqual(["logs", "--follow", "-3"]);
    expect(withNegativeValues(cli, ["up", "-f", "-"])).toEqual(["up", "-f=-"]);
    const exec = withPassthrough(cli, ["exec", "web", "date", "-u", "-1"]);
    expect(withNegativeValues(cli, exec)).toEqual(exec);
  });
});

test("a lone '-' is an argument (stdin or stdout), as in docker cp", () => {
  const dir = mkdtempSync(join(tmpdir(), "fizz-cli-"));
  writeFileSync(join(dir, "compose.yaml"), "name: x\nservices:\n  web:\n    image: fizz-test/busybox:1\n");
  for (const args of [["cp", "web:/etc/hostname", "-"], ["cp", "-", "web:/tmp"]]) {
    const r = spawnSync(BUN, [join(ROOT, "cmd/fizz.ts"), ...args, "--engine", "unix:///nonexistent/fizz-test.sock"], { cwd: dir, encoding: "utf8", input: "", env: { ...process.env, NO_COLOR: "1", FIZZ_NO_AGENT: "1" } });
    expect(r.stderr).not.toContain("missing required args");
    expect(r.stderr).toContain("nonexistent");
  }
  rmSync(dir, { recursive: true, force: true });
});

describe("every verb documents itself", () => {
  test("each command listed in --help has examples", async () => {
    const { buildCli } = await import("../../cmd/cli.ts");
    const cli = buildCli({ code: 0 }, {});
    const missing = cli.commands.filter((c) => c.name !== "" && c.examples.length === 0).map((c) => c.name);
    expect(missing).toEqual([]);
  });

  test("--help of a verb shows its usage, flags and examples", () => {
    for (const verb of ["run", "cp", "completion"]) {
      const r = fizz(verb, "--help");
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`$ fizz ${verb}`);
      expect(r.stdout).toContain("Examples:");
    }
  });
});
