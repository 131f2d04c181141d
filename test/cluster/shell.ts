/**
 * Bounded shell-outs for the cluster harness: every command gets a deadline
 * (SIGKILL when it passes) so a wedged `ip`, `iptables` or `docker` call turns
 * into a failed step instead of a hung test run. node:child_process only, so
 * the harness runs on Bun and Deno alike.
 */
import { spawn } from "node:child_process";

export interface RunOptions {
  /** Kill the command (SIGKILL) after this long; default 30 s. */
  readonly timeoutMs?: number;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Bytes written to stdin, which is then closed. */
  readonly input?: string;
}

export interface RunResult {
  readonly argv: readonly string[];
  /** Exit code, or null when the process died by a signal (or timed out). */
  readonly code: number | null;
  readonly signal: string | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  /** True when the command exited 0 in time. */
  readonly ok: boolean;
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** Output beyond this is dropped; the harness only reads short answers. */
const MAX_OUTPUT = 1 << 20;

/** Runs argv (no shell), never throws for a failing command: read `ok`. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) return Promise.reject(new Error("run: empty argv"));
  return new Promise((resolve) => {
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    let settled = false;
    const child = spawn(file, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    const finish = (code: number | null, signal: string | null, spawnError?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (spawnError) stderr += `${spawnError.message}\n`;
      resolve({ argv, code, signal, stdout, stderr, timedOut, ok: code === 0 && !timedOut && !spawnError });
    };
    child.stdout?.setEncoding("utf8");
    child.stderr?.setEncoding("utf8");
    child.stdout?.on("data", (d: string) => {
      if (stdout.length < MAX_OUTPUT) stdout += d;
    });
    child.stderr?.on("data", (d: string) => {
      if (stderr.length < MAX_OUTPUT) stderr += d;
    });
    child.on("error", (err) => finish(null, null, err));
    child.on("close", (code, signal) => finish(code, signal));
    child.stdin?.on("error", () => {
      // The command may exit without reading stdin (EPIPE); its exit status tells.
    });
    child.stdin?.end(opts.input ?? "");
  });
}

/** Like `run` but throws, with the command and its stderr, unless it exited 0. */
export async function must(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const res = await run(argv, opts);
  if (!res.ok) throw new Error(describeFailure(res));
  return res;
}

export function describeFailure(res: RunResult): string {
  const how = res.timedOut ? "timed out" : res.code === null ? `died by ${res.signal}` : `exited ${res.code}`;
  const err = res.stderr.trim() || res.stdout.trim();
  return `\`${res.argv.join(" ")}\` ${how}${err ? `: ${err.slice(0, 2000)}` : ""}`;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every `intervalMs` until it returns true or `timeoutMs` passes. */
export async function waitFor(probe: () => Promise<boolean>, timeoutMs: number, intervalMs = 200): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return true;
    if (Date.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}
