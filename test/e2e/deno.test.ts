/**
 * One source, three ways to run it: `bun cmd/fizz.ts`, `deno run -A cmd/fizz.ts`
 * (Deno from the npm package) and the compiled dist/ binary must agree on the version
 * line, and the two source runs on help text and usage errors.
 */
import { beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const BUN = join(ROOT, "node_modules/.bin/bun");
const DENO = join(ROOT, "node_modules/.bin/deno");
const BINARY = join(ROOT, "dist", `fizz-linux-${process.arch === "arm64" ? "arm64" : "x64"}`);
const SLOW = 120_000;

// No update check (no network here), no colour codes in compared output.
const env = { ...process.env, DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" };

function fizz(how: "bun" | "deno" | "binary", args: string[]) {
  const [cmd, pre] =
    how === "bun" ? [BUN, ["cmd/fizz.ts"]] : how === "deno" ? [DENO, ["run", "-A", "cmd/fizz.ts"]] : [BINARY, []];
  const r = spawnSync(cmd, [...pre, ...args], { cwd: ROOT, env, encoding: "utf8", timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const git = (...args: string[]) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout.trim();

/** HEAD before and after the build: others commit to this tree while it runs. */
let headBefore = "";
let headAfter = "";

beforeAll(() => {
  headBefore = git("rev-parse", "--short=12", "HEAD");
  // Rebuilds only when the commit or sources changed since the last build.
  const build = spawnSync("bash", ["scripts/build.sh"], { cwd: ROOT, encoding: "utf8" });
  if (build.status !== 0) throw new Error(`scripts/build.sh failed:\n${build.stdout}\n${build.stderr}`);
  headAfter = git("rev-parse", "--short=12", "HEAD");
}, 300_000);

describe("fizz runs the same under Bun, Deno and as a compiled binary", () => {
  test("--version agrees, and names the current commit", () => {
    const version = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
    let bun = fizz("bun", ["--version"]);
    let deno = fizz("deno", ["--version"]);
    if (deno.stdout !== bun.stdout) {
      // A commit landed between the two runs: both read HEAD; run them again.
      bun = fizz("bun", ["--version"]);
      deno = fizz("deno", ["--version"]);
    }
    expect(bun.code).toBe(0);
    expect(deno.stderr).toBe("");
    expect(deno.code).toBe(0);
    expect(bun.stdout).toMatch(new RegExp(`^fizz ${version.replace(/\./g, "\\.")} \\(commit [0-9a-f]{12}\\)\n$`));
    expect(deno.stdout).toBe(bun.stdout);

    const binary = fizz("binary", ["--version"]);
    expect(binary.code).toBe(0);
    if (headBefore === headAfter && headAfter === git("rev-parse", "--short=12", "HEAD")) {
      expect(binary.stdout).toBe(bun.stdout);
    } else {
      // HEAD moved during the build: the binary must name the commit it was built at,
      // one of those between the start and the end of the build.
      const m = /^fizz (\S+) \(commit ([0-9a-f]{12})\)\n$/.exec(binary.stdout);
      expect(m?.[1]).toBe(version);
      const during = [headBefore, ...git("rev-list", "--abbrev-commit", "--abbrev=12", `${headBefore}..${headAfter}`).split("\n")];
      expect(during).toContain(m?.[2] ?? "none");
    }
  }, SLOW);

  test("--help and usage errors agree between Bun and Deno", () => {
    for (const args of [["--help"], ["--frobnicate"], ["no-such-verb"]]) {
      const bun = fizz("bun", args);
      const deno = fizz("deno", args);
      expect({ args, code: deno.code, stdout: deno.stdout, stderr: deno.stderr }).toEqual({
        args,
        code: bun.code,
        stdout: bun.stdout,
        stderr: bun.stderr,
      });
    }
    expect(fizz("bun", ["--frobnicate"]).code).toBe(2);
  }, SLOW);

  test("the compiled binary's help matches the source's", () => {
    const bin = fizz("binary", ["--help"]);
    expect(bin.code).toBe(0);
    expect(bin.stdout).toBe(fizz("bun", ["--help"]).stdout);
  }, SLOW);
});
