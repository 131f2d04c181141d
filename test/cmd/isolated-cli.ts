/**
 * Runs `fizz` from source in `dir` with a bare environment (HOME and
 * XDG_RUNTIME_DIR in `dir`, no colour) plus `env`: what the CLI tests against
 * stand-in engines and agents on unix sockets share.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");

export function isolatedFizz(dir: string, env: Record<string, string>, args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [join(ROOT, "cmd/fizz.ts"), ...args], { cwd: dir, env: { PATH: process.env.PATH ?? "", HOME: dir, XDG_RUNTIME_DIR: dir, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    p.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}
