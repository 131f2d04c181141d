/**
 * The compiled fizz executable for tests: dist/fizz-linux-<arch> when it is
 * newer than every source file (bash scripts/build.sh), else one compiled
 * into the temp directory, keyed by the sources' newest mtime so the test
 * files of one run share it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROOT = join(import.meta.dir, "..", "..");
export const BUN = join(ROOT, "node_modules/.bin/bun");
export const DENO = join(ROOT, "node_modules/.bin/deno");

function newestSource(): number {
  let newest = statSync(join(ROOT, "package.json")).mtimeMs;
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts")) newest = Math.max(newest, statSync(p).mtimeMs);
    }
  };
  // Every source folder the executable is built from (controllers/ was missing: a stale dist/ binary passed as fresh).
  for (const d of ["cmd", "core", "platform", "controllers"]) walk(join(ROOT, d));
  return newest;
}

/** Path of a compiled fizz that matches the sources (builds one if needed: ~10 s). */
export function compiledFizz(): string {
  const newest = newestSource();
  const dist = join(ROOT, `dist/fizz-linux-${process.arch === "arm64" ? "arm64" : "x64"}`);
  if (existsSync(dist) && statSync(dist).mtimeMs > newest) return dist;
  const dir = join(tmpdir(), `fizz-compiled-${Math.floor(newest)}`);
  const bin = join(dir, "fizz");
  if (existsSync(bin)) return bin;
  mkdirSync(dir, { recursive: true });
  const tmp = `${bin}.${process.pid}`;
  const r = spawnSync(BUN, ["build", "--compile", join(ROOT, "cmd/fizz.ts"), "--outfile", tmp], { cwd: ROOT, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`bun build --compile failed:\n${r.stdout}\n${r.stderr}`);
  spawnSync("mv", ["-f", tmp, bin]);
  return bin;
}
