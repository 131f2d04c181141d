/**
 * The only place that knows whether we run on Bun or Deno. Everything else
 * uses `node:` built-ins, which both runtimes provide.
 */
declare const Bun:
  | {
      version: string;
      gc?(force?: boolean): void;
      shrink?(): void;
      unsafe?: { setJITPolicy?(scale: number): void };
    }
  | undefined;
declare const Deno: { version: { deno: string } } | undefined;

export type RuntimeName = "bun" | "deno" | "node";

export function runtimeName(): RuntimeName {
  if (typeof Bun !== "undefined") return "bun";
  if (typeof Deno !== "undefined") return "deno";
  return "node";
}

export function runtimeVersion(): string {
  if (typeof Bun !== "undefined") return `bun ${Bun.version}`;
  if (typeof Deno !== "undefined") return `deno ${Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

/** True when running as a `bun build --compile` single executable. */
export function isCompiledBinary(): boolean {
  return import.meta.url.includes("$bunfs") || import.meta.url.includes("~BUN");
}

/**
 * For a long-running process once its startup burst is over (the agent, after it
 * serves): ends the raised JIT tier-up thresholds the compiled binary starts with
 * (scripts/build.sh, --compile-jit-policy), so code that runs from now on is
 * compiled as usual, and hands back to the OS what startup left behind: garbage,
 * and the compiled code of run-once startup functions (JavaScriptCore's
 * shrink-when-idle; a function that runs again is reloaded from its bytecode).
 * Worth ~3-7 MB of resident memory on an idle agent (bench/agent-api.ts).
 * A no-op on Deno and Node.
 */
export function settleAfterStartup(): void {
  if (typeof Bun === "undefined") return;
  Bun.unsafe?.setJITPolicy?.(1);
  Bun.gc?.(true);
  Bun.shrink?.();
}
