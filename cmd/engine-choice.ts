/**
 * Which engine a project verb acts on, and whether the fizz agent it would
 * hand the work to drives that engine. An agent works on the one engine it was
 * started with; engines are compared by identity (core/engine/identity.ts),
 * not by name or address.
 *
 * - An explicit choice (--engine, FIZZ_ENGINE, DOCKER_HOST) is the engine the
 *   command acts on. A verb that would go through an agent on another engine
 *   refuses before changing anything, naming both engines and the commands to
 *   run instead (cmd/engine-mismatch.ts). `fizz up -d` with no agent running
 *   starts one on the chosen engine.
 * - Without one, a local agent's engine is used when an agent runs (so `ps`,
 *   `logs` and `exec` see what `up -d` deployed), else the usual sockets.
 */
import { dirname, join } from "node:path";
import type { EngineIdentity } from "../core/engine/identity.ts";
import type { ApiClient } from "../platform/api/client.ts";
import type { Engine } from "../platform/engine/index.ts";
import { optString, type Options } from "./command.ts";
import type { Context } from "./context.ts";
import type { EngineSource } from "./engine-mismatch.ts";

export interface EngineChoice {
  readonly spec: string;
  readonly source: EngineSource;
}

/** The engine the user named, in the order connectEngine honours them; undefined when they named none. */
export function explicitEngine(options: Options, env: Readonly<Record<string, string | undefined>> = process.env): EngineChoice | undefined {
  const flag = optString(options, "engine")?.trim();
  if (flag) return { spec: flag, source: "--engine" };
  const fizz = env.FIZZ_ENGINE?.trim();
  if (fizz) return { spec: fizz, source: "FIZZ_ENGINE" };
  const host = env.DOCKER_HOST?.trim();
  if (host) return { spec: host, source: "DOCKER_HOST" };
  return undefined;
}

/** The explicitly chosen engine, or the usual sockets. */
async function connectChosen(options: Options): Promise<Engine> {
  const { connectEngine } = await import("../platform/engine/index.ts");
  return connectEngine({ engine: optString(options, "engine") ?? process.env.FIZZ_ENGINE });
}

/** The engine a local agent (unix socket) reports, when one answers. */
async function localAgentEngine(ctx: Context): Promise<EngineIdentity | undefined> {
  const [{ agentClient }, { parseEngineIdentity }] = await Promise.all([import("./agent-client.ts"), import("../core/engine/identity.ts")]);
  const found = await agentClient(ctx);
  if (found.options.address.kind !== "unix") return undefined;
  // A probe on every ps/logs/exec: a wedged agent must not hold them up.
  const { ApiClient } = await import("../platform/api/client.ts");
  const client = new ApiClient({ ...found.options, timeoutMs: 3_000 });
  try {
    return parseEngineIdentity((await client.info()).engine);
  } catch {
    return undefined;
  }
}

/**
 * The engine for a verb that talks to the engine itself (ps, logs, exec,
 * start/stop, attached up, down without an agent).
 */
export async function connectForProject(ctx: Context, options: Options): Promise<Engine> {
  const { agentDisabled } = await import("./agent-mode.ts");
  if (!explicitEngine(options) && !agentDisabled(options)) {
    const agent = await localAgentEngine(ctx);
    if (agent) {
      const { connectEngine, parseEngineAddress } = await import("../platform/engine/index.ts");
      try {
        return await connectEngine({ endpoint: parseEngineAddress(agent.address, "default") });
      } catch {
        /* the agent's engine is not reachable from here (permissions, another mount namespace): the usual sockets */
      }
    }
  }
  return connectChosen(options);
}

interface Comparison {
  readonly same: boolean;
  readonly agent: EngineIdentity | undefined;
  readonly requested: EngineIdentity;
}

async function compare(client: ApiClient, options: Options): Promise<Comparison> {
  const [{ parseEngineIdentity }, { readEngineIdentity }] = await Promise.all([import("../core/engine/identity.ts"), import("../platform/engine/index.ts")]);
  const agent = parseEngineIdentity((await client.info()).engine);
  const engine = await connectChosen(options);
  let requested: EngineIdentity;
  try {
    requested = await readEngineIdentity(engine);
  } finally {
    await engine.close();
  }
  return { same: agent !== undefined && agent.id === requested.id, agent, requested };
}

async function mismatch(client: ApiClient, choice: EngineChoice, c: Comparison, verb: "up" | "down" | "ps" | "logs"): Promise<Error> {
  const [{ engineMismatchError }, { defaultDataDir }] = await Promise.all([import("./engine-mismatch.ts"), import("../platform/data-dir.ts")]);
  const a = client.options.address;
  const agentAddress = a.kind === "unix" ? `unix:${a.path}` : `${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}`;
  const socketDir = a.kind === "unix" ? dirname(a.path) : defaultDataDir();
  return engineMismatchError({
    verb,
    args: process.argv.slice(2),
    env: process.env,
    source: choice.source,
    requested: c.requested,
    agent: c.agent,
    agentAddress,
    secondAgent: { dataDir: `${defaultDataDir()}-${c.requested.name}`, api: `unix:${join(socketDir, `fizz-${c.requested.name}.sock`)}` },
  });
}

/**
 * The agent `fizz up -d` hands the project to: the running one when it drives
 * the engine the user named (or none was named), else a refusal; with no agent
 * running, a new one started on the named engine.
 */
export async function agentForUp(ctx: Context, options: Options): Promise<ApiClient> {
  const { ensureAgent, runningAgent } = await import("./agent-mode.ts");
  const choice = explicitEngine(options);
  const running = await runningAgent(ctx);
  if (!running) {
    if (!choice) return ensureAgent(ctx);
    const engine = await connectChosen(options); // fails here, precisely, when the named engine is not there
    const address = engine.endpoint.address;
    await engine.close();
    return ensureAgent(ctx, { engine: address });
  }
  if (choice) {
    const c = await compare(running, options);
    if (!c.same) throw await mismatch(running, choice, c, "up");
  }
  return running;
}

/**
 * The agent `fizz down` asks, or undefined to remove directly on the engine.
 * When the user named an engine the agent does not drive, the agent is left
 * alone: a deployment it holds under this name is not the one on the named
 * engine, so that is refused; otherwise the project is removed from the named
 * engine directly.
 */
export async function agentForDown(ctx: Context, options: Options, client: ApiClient, project: string): Promise<ApiClient | undefined> {
  const choice = explicitEngine(options);
  if (!choice) return client;
  const c = await compare(client, options);
  if (c.same) return client;
  const { FizzError } = await import("../core/errors.ts");
  try {
    await client.getDeployment(project);
  } catch (e) {
    if (e instanceof FizzError && e.status === 404) return undefined;
    throw e;
  }
  throw await mismatch(client, choice, c, "down");
}

/** For verbs that read through an agent (-H): refuses when the user named another engine than the agent's. */
export async function checkAgentEngine(options: Options, client: ApiClient, verb: "ps" | "logs"): Promise<void> {
  const choice = explicitEngine(options);
  if (!choice) return;
  const c = await compare(client, options);
  if (!c.same) throw await mismatch(client, choice, c, verb);
}
