/**
 * `fizz stop|kill|rm|pause` of a deployment a fizz agent keeps: the agent is
 * told first, so it leaves those services stopped (as `docker compose stop`
 * leaves them) instead of starting them again on its next pass; `fizz
 * start|restart|unpause` tell it to keep them running again
 * (controllers/deployments/user-stops.ts). Only when the engine the verb acts
 * on is the agent's (by identity): a project of the same name on another
 * engine is not the agent's deployment.
 */
import type { StopVerb } from "../platform/api/routes-user-stops.ts";
import type { ApiClient } from "../platform/api/client.ts";
import type { Engine } from "../platform/engine/index.ts";
import type { Context } from "./context.ts";

/** The local agent, when it holds `project` on `engine`. */
async function owningAgent(ctx: Context, engine: Engine, project: string): Promise<ApiClient | undefined> {
  const { agentDisabled, runningAgent } = await import("./agent-mode.ts");
  if (agentDisabled({})) return undefined;
  const client = await runningAgent(ctx);
  if (!client) return undefined;
  try {
    await client.getDeployment(project);
    const [{ parseEngineIdentity }, { readEngineIdentity }] = await Promise.all([import("../core/engine/identity.ts"), import("../platform/engine/index.ts")]);
    const theirs = parseEngineIdentity((await client.info()).engine);
    const ours = await readEngineIdentity(engine);
    return theirs && theirs.id === ours.id ? client : undefined;
  } catch {
    return undefined; // not the agent's deployment (404), or an agent that cannot say
  }
}

/** Before stopping: the agent leaves `services` (all when empty) of `project` stopped. */
export async function agentLeavesStopped(ctx: Context, engine: Engine, project: string, services: readonly string[], verb: StopVerb): Promise<void> {
  const client = await owningAgent(ctx, engine, project);
  await client?.userStopped(project, services, verb);
}

/** Before starting: the agent keeps `services` (all when empty) of `project` running again. */
export async function agentKeepsRunning(ctx: Context, engine: Engine, project: string, services: readonly string[]): Promise<void> {
  const client = await owningAgent(ctx, engine, project);
  await client?.userResumed(project, services);
}
