/**
 * Runs one networking tool (ip, wg, iptables…) with a deadline and returns
 * what it said; a non-zero exit becomes a FizzError that quotes the command
 * and its stderr. Every shell-out of platform/net goes through here.
 */
import { spawn } from "node:child_process";
import { FizzError } from "../../core/errors.ts";

export interface ToolResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ToolRunner {
  (argv: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<ToolResult>;
}

/** argv[0] is looked up on PATH; `prefix` (e.g. ["nsenter", "--net=…", "--"]) runs it elsewhere. */
export function toolRunner(prefix: readonly string[] = []): ToolRunner {
  return (argv, opts = {}) =>
    new Promise((resolve) => {
      const full = [...prefix, ...argv];
      const child = spawn(full[0]!, full.slice(1), { stdio: ["pipe", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 10_000);
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
      child.on("error", (e) => {
        clearTimeout(timer);
        resolve({ code: 127, stdout, stderr: stderr + String(e.message) });
      });
      child.on("close", (code, signal) => {
        clearTimeout(timer);
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
      });
      child.stdin.on("error", () => {});
      child.stdin.end(opts.input ?? "");
    });
}

export async function must(run: ToolRunner, argv: readonly string[], opts?: { input?: string; timeoutMs?: number }): Promise<string> {
  const r = await run(argv, opts);
  if (r.code !== 0) {
    throw new FizzError({
      code: "net.command_failed",
      message: `${argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 400) || r.stdout.trim().slice(0, 400)}`,
      status: 500,
    });
  }
  return r.stdout;
}
