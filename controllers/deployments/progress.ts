/**
 * A plan step's end as an event-log entry, with the step as data
 * (core/reconcile/progress.ts): `step.create_container` and friends when done,
 * `step.failed` when not. Starts and progress lines are not logged.
 */
import { stepProgress, STEP_DONE } from "../../core/reconcile/progress.ts";
import type { StepEvent } from "../../platform/deploy/executor.ts";
import type { AgentEvent } from "../event-log.ts";

/** createContainer → create_container: event types are lower-case dotted words (the API's filter syntax). */
const snake = (kind: string) => kind.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

export function stepEvent(deployment: string, e: StepEvent, intent: string | undefined): AgentEvent | undefined {
  if (e.type !== "done" && e.type !== "failed") return undefined;
  const p = stepProgress(e.step, e.type, e.type === "failed" ? e.error : undefined);
  const why = `${p.reason.code}${p.reason.detail ? `: ${p.reason.detail}` : ""}`;
  return {
    type: e.type === "failed" ? "step.failed" : `step.${snake(p.kind)}`,
    deployment,
    ...(p.service ? { service: p.service } : {}),
    ...(p.container ? { container: p.container } : {}),
    message: e.type === "failed" ? `${p.kind} ${p.subject}: ${e.error.message}` : `${STEP_DONE[p.kind]} ${p.subject} (${why})`,
    data: { step: p, ...(intent ? { intent } : {}) },
  };
}
