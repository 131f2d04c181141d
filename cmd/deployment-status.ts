/**
 * The STATUS column of `fizz ls`: `running(2)` when every wanted replica runs,
 * `running(1/2)` when some are missing, and one-shot jobs that finished
 * (exited 0) counted apart as Compose does, `running(2), exited(1)`, so a
 * project with a completed migration does not read as degraded.
 */
import type { DeploymentSummary } from "../platform/api/backend.ts";

export function deploymentStatus(d: Pick<DeploymentSummary, "running" | "desired" | "completed">): string {
  const completed = d.completed ?? 0;
  const wanted = Math.max(0, d.desired - completed);
  const running = d.running === wanted ? `running(${d.running})` : `running(${d.running}/${wanted})`;
  return completed > 0 ? `${running}, exited(${completed})` : running;
}
