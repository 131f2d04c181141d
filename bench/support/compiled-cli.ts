/**
 * The CLI as users run it: a compiled executable. FIZZ_BIN names one; else it
 * is built from this tree for this run (a binary left by an earlier run could
 * be another commit's) into a temporary directory removed at exit. Benches that
 * time the CLI use this, not `bun cmd/fizz.ts`, which pays for transpiling the
 * source on every start (~0.2 s here, none of it a user's).
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function compiledCli(): string {
  if (process.env.FIZZ_BIN) return process.env.FIZZ_BIN;
  const dir = mkdtempSync(join(tmpdir(), "fizz-bench-cli-"));
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, "fizz");
  execFileSync(process.execPath, ["build", "--compile", "--minify", "--bytecode", "--format=esm", join(import.meta.dir, "..", "..", "cmd", "fizz.ts"), "--outfile", out], { stdio: "inherit" });
  return out;
}
