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

export interface WaitOptions {
  services?: readonly string[];
  timeoutMs: number;
  monitor?: HealthMonitor;
  pollMs?: number;
}

export async function waitHealthy(engine: Engine, desired: DesiredProject<ServiceTemplate>, o: WaitOptions): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  // Services others wait on with service_completed_successfully are jobs: exit 0 is success.
  const jobs = new Set(desired.services.flatMap((s) => s.dependsOn.filter((d) => d.condition === "service_completed_successfully").map((d) => d.service)));
  const scope = desired.services.filter((s) => s.replicas > 0 && (!o.services?.length || o.services.includes(s.name)));
  let notReady: string[] = [];
  for (;;) {
    const actual = await readActual(engine, desired.name);
    notReady = [];
    for (const s of scope) {
      const cs = actual.containers.filter((c) => c.service === s.name && !c.oneoff);
      if (cs.length < s.replicas) notReady.push(`${s.name}: ${cs.length}/${s.replicas} containers`);
      for (const c of cs) {
        if (c.state === "exited" && c.exitCode === 0 && (jobs.has(s.name) || s.restart === undefined || s.restart === "no")) continue;
        if (c.state !== "running") notReady.push(`${c.name}: ${c.state}${c.exitCode !== undefined ? ` (exit code ${c.exitCode})` : ""}`);
        else if (s.hasHealthcheck && c.health !== "healthy") notReady.push(`${c.name}: ${c.health}`);
      }
    }
    if (!notReady.length) return;
    if (Date.now() >= deadline) {
      throw new FizzError({
        code: "deploy.wait_timeout",
        message: `timed out after ${Math.round(o.timeoutMs / 1000)}s waiting for the project to be healthy; not ready: ${notReady.join(", ")}`,
        hint: "see 'fizz ps -a' and 'fizz logs <service>'",
      });
    }
    if (o.monitor) await o.monitor.tick().catch(() => {});
    await new Promise((r) => setTimeout(r, o.pollMs ?? 1000));
  }
}
