/**
 * Controllers' entries in the event log (GET /v1/events), each also one log
 * line at a level that fits it: failures and errors as errors, health
 * restarts as warnings (and counted in the metrics), the rest as info.
 */
import type { AgentContext } from "./context.ts";

export interface AgentEvent {
  readonly type: string;
  readonly deployment?: string;
  readonly service?: string;
  readonly container?: string;
  readonly message: string;
  readonly data?: unknown;
}

/** Step events (`step.*`, a plan's progress) are many per change: they go in group commits. */
export function recordEvent(ctx: Pick<AgentContext, "events" | "metrics" | "logger" | "now">, e: AgentEvent): void {
  if (e.type.startsWith("step.") && ctx.events.appendSoon) ctx.events.appendSoon({ at: ctx.now(), ...e });
  else ctx.events.append({ at: ctx.now(), ...e });
  const fields = { deployment: e.deployment, service: e.service, container: e.container };
  if (e.type === "container.restart") {
    ctx.metrics.countRestart(e.deployment ?? "", e.service ?? "", (e.data as { reason?: string } | undefined)?.reason ?? "unhealthy");
    ctx.logger.warn(fields, e.message);
  } else if (e.type.endsWith("failed") || e.type.endsWith("error")) ctx.logger.error(fields, e.message);
  else ctx.logger.info(fields, e.message);
}
