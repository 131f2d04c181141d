/**
 * When the CLI hands work to an agent. `fizz up -d` gives the deployment to
 * the local agent (starting one in the background when none is running), so
 * the stack stays converged and healthy after the command exits. With -H /
 * FIZZ_HOST every project verb talks to that agent. `--no-agent` or
 * FIZZ_NO_AGENT=1 keeps the CLI on the engine directly, like Compose.
 */
import { spawn } from "node:child_process";
import { fstatSync, mkdirSync, openSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FizzError } from "../core/errors.ts";
import type { Options } from "./command.ts";
import { paint, type Context } from "./context.ts";
import { agentClient } from "./agent-client.ts";
import type { ApiClient } from "../platform/api/client.ts";

export function agentDisabled(options: Options): boolean {
  return options.agent === false || process.env.FIZZ_NO_AGENT === "1" || process.env.FIZZ_NO_AGENT === "true";
}

/** An explicit agent address was given (-H or FIZZ_HOST). */
export function explicitAgent(ctx: Context): boolean {
  return ctx.global.host !== undefined || (process.env.FIZZ_HOST ?? "") !== "";
}

async function reachable(client: ApiClient): Promise<boolean> {
  try {
    await client.health();
    return true;
  } catch {
    return false;
  }
}

/** The agent at -H/FIZZ_HOST or the default socket, if one answers. */
export async function runningAgent(ctx: Context): Promise<ApiClient | undefined> {
  const client = await agentClient(ctx);
  return (await reachable(client)) ? client : undefined;
}

/** The command line that runs this same fizz as `fizz agent …`, whatever runtime we are on. */
export async function selfCommand(): Promise<string[]> {
  const { runtimeName, isCompiledBinary } = await import("../platform/runtime.ts");
  if (isCompiledBinary()) return [process.execPath];
  const script = join(dirname(fileURLToPath(import.meta.url)), "fizz.ts");
  return runtimeName() === "deno" ? [process.execPath, "run", "-A", script] : [process.execPath, script];
}

/**
 * The running agent, or a local one started in the background (unix socket
 * only), on `o.engine` when given (an engine address), else on the engine it
 * finds itself.
 */
export async function ensureAgent(ctx: Context, o: { engine?: string } = {}): Promise<ApiClient> {
  const client = await agentClient(ctx);
  if (await reachable(client)) return client;
  const addr = client.options.address;
  if (addr.kind !== "unix") {
    throw new FizzError({
      code: "client.no_agent",
      message: `no fizz agent answers at ${addr.kind === "tcp" ? `${addr.host}:${addr.port}` : "the given address"}`,
      hint: "start it there with `fizz agent`, or drop -H to use the local one",
    });
  }
  const { defaultDataDir } = await import("../platform/data-dir.ts");
  const dataDir = defaultDataDir();
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const logPath = join(dataDir, "agent.log");
  // Private like everything in the data directory (the agent fixes modes on start, with a warning).
  const log = openSync(logPath, "a", 0o600);
  const logFrom = fstatSync(log).size;
  const [cmd, ...args] = await selfCommand();
  const child = spawn(cmd!, [...args, "agent", "--data-dir", dataDir, "--api", `unix:${addr.path}`, ...(o.engine ? ["--engine", o.engine] : [])], {
    detached: true,
    stdio: ["ignore", log, log],
    env: process.env,
  });
  child.unref();
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (await reachable(client)) {
      ctx.err(`${paint(ctx, "36", "ℹ")} started a fizz agent in the background (pid ${child.pid}, socket ${addr.path}${o.engine ? `, engine ${o.engine}` : ""}, log ${logPath})\n`);
      return client;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  // An agent that refused to start (e.g. its deployments run on another engine) said why in its log: say it here.
  const said = child.exitCode !== null ? agentRefusal(logPath, logFrom) : undefined;
  if (said) throw new FizzError({ code: "client.agent_start_failed", message: `the fizz agent did not start: ${said.message}`, hint: said.hint ?? `see ${logPath}` });
  throw new FizzError({
    code: "client.agent_start_failed",
    message: `could not start a fizz agent at ${addr.path}`,
    hint: `see ${logPath}; or run without an agent: fizz up --no-agent`,
  });
}

/** The `error:` line (and its `hint:`) an agent wrote to its log since `from`, if it exited with one. */
function agentRefusal(logPath: string, from: number): { message: string; hint?: string } | undefined {
  let text: string;
  try {
    text = readFileSync(logPath).subarray(from).toString("utf8");
  } catch {
    return undefined;
  }
  const lines = text.split("\n");
  const i = lines.findLastIndex((l) => l.startsWith("error: "));
  if (i < 0) return undefined;
  const hint = lines[i + 1]?.trim().startsWith("hint: ") ? lines[i + 1]!.trim().slice(6) : undefined;
  return { message: lines[i]!.slice(7), ...(hint ? { hint } : {}) };
}
