/**
 * `up --wait`: returns once every container of the (targeted) services is
 * running, and healthy where the service has a healthcheck; one-shot jobs
 * count when they exited 0. The health monitor keeps ticking meanwhile, so a
 * container that turns unhealthy is restarted rather than waited on forever.
 */
import { FizzError } from "../../core/errors.ts";
import type { ServiceTemplate } from "../../core/deploy/container-spec.ts";
import type { DesiredProject } from "../../core/reconcile/types.ts";
import type { Engine } from "../engine/index.ts";
import { readActual } from "./project.ts";
import type { HealthMonitor } from "./health-monitor.ts";
import { neverReady, neverReadyError, notReady } from "../../core/reconcile/readiness.ts";

export interface WaitOptions {
  services?: readonly string[];
  timeoutMs: number;
  monitor?: HealthMonitor;
  pollMs?: number;
}

export async function waitHealthy(engine: Engine, desired: DesiredProject<ServiceTemplate>, o: WaitOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    const actual = await readActual(engine, desired.name);
    const missing = notReady(desired, actual, o.services);
    if (!missing.length) return;
    const never = neverReady(desired, actual, o.services);
    if (never.length) throw neverReadyError(never);
    if (Date.now() >= deadline) throw waitTimeout(o.timeoutMs, missing);
    if (o.monitor) await o.monitor.tick().catch(() => {});
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}

export function waitTimeout(timeoutMs: number, missing: readonly string[]): FizzError {
  return new FizzError({
    code: "deploy.wait_timeout",
    message: `timed out after ${Math.round(timeoutMs / 1000)}s waiting for the project to be healthy; not ready: ${missing.join(", ")}`,
    hint: "see 'fizz ps -a' and 'fizz logs <service>'",
    status: 504,
  });
}
