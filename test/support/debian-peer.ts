/**
 * Debian peer tools the interop tests run against (`age`, …), installed by
 * test/setup-engines.sh. Like engine.ts: a missing tool skips the test file
 * locally, with a note, and fails the run under CI=true.
 */
import { spawnSync } from "node:child_process";

/** The tool's path when it is installed (found on PATH). */
export function peerTool(name: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${name}`], { encoding: "utf8" });
  const path = r.status === 0 ? r.stdout.trim() : "";
  if (path) return path;
  const msg = `${name} is not installed; run 'bash test/setup-engines.sh' (scripts/test.sh does this)`;
  if (process.env.CI === "true") throw new Error(`CI requires ${name}: ${msg}`);
  process.stderr.write(`skipping ${name} interop tests: ${msg}\n`);
  return undefined;
}
