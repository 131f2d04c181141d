/** `fizz --version`: version and the git commit it was built from. */
import { execFileSync } from "node:child_process";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import pkg from "../package.json" with { type: "json" };

// Replaced by `bun build --define` in release builds (scripts/build.sh).
declare const FIZZ_BUILD_COMMIT: string | undefined;

export const VERSION: string = pkg.version;

let fromCheckout: string | undefined;

/**
 * The commit baked in at build time, or read from the checkout when running
 * from source: once per process (the agent's /v1/info answers every CLI
 * command, and a `git` process per answer cost ~40 ms of CPU).
 */
export function buildCommit(): string {
  if (typeof FIZZ_BUILD_COMMIT === "string" && FIZZ_BUILD_COMMIT) return FIZZ_BUILD_COMMIT;
  return (fromCheckout ??= readCheckoutCommit());
}

function readCheckoutCommit(): string {
  try {
    const here = dirname(fileURLToPath(import.meta.url));
    return execFileSync("git", ["rev-parse", "--short=12", "HEAD"], {
      cwd: here,
      stdio: ["ignore", "pipe", "ignore"],
      encoding: "utf8",
    }).trim();
  } catch {
    return "unknown";
  }
}

export function versionLine(): string {
  return `fizz ${VERSION} (commit ${buildCommit()})`;
}
