/**
 * Podman runs healthchecks from systemd timers; where there is no systemd
 * (containers, WSL, minimal hosts) health stays "starting" forever and every
 * `service_healthy` dependency hangs. Fizz then runs the check itself through
 * libpod's on-demand healthcheck endpoint, at the container's own interval.
 * On Docker (or when Podman's timer already ran the check recently) this
 * does nothing.
 */
import type { ContainerInspect, Engine, HealthConfig } from "../engine/index.ts";

const NS_PER_MS = 1_000_000;
const DEFAULT_INTERVAL_MS = 30_000;

/** Runs the container's healthcheck when one is due and nobody else ran it; true when it ran. */
export async function runDueHealthcheck(engine: Engine, ins: ContainerInspect, now: number = Date.now()): Promise<boolean> {
  if (engine.name !== "podman") return false;
  // The inspect type lists only what platform/engine reads; the engine always sends Config.Healthcheck.
  const hc = (ins.Config as { Healthcheck?: HealthConfig | null }).Healthcheck;
  if (!hc?.Test?.length || hc.Test[0] === "NONE") return false;
  if (!ins.State.Running) return false;
  const log = (ins.State.Health as { Log?: { End?: string }[] | null } | null | undefined)?.Log ?? [];
  const lastEnd = log.length ? Date.parse(log[log.length - 1]!.End ?? "") : NaN;
  const started = Date.parse(ins.State.StartedAt);
  const interval = hc.Interval ? hc.Interval / NS_PER_MS : DEFAULT_INTERVAL_MS;
  // During the start period Docker probes at start_interval; use it (or 1s) so dependents are not held back.
  const inStart = hc.StartPeriod !== undefined && now - started < hc.StartPeriod / NS_PER_MS;
  const every = inStart ? ((hc as { StartInterval?: number }).StartInterval ? (hc as { StartInterval: number }).StartInterval / NS_PER_MS : Math.min(interval, 1000)) : interval;
  const since = Number.isFinite(lastEnd) ? lastEnd : started;
  if (now - since < Math.min(every, Number.isFinite(lastEnd) ? every : 1000)) return false;
  try {
    await engine.transport.raw({
      method: "GET",
      path: `/v4.0.0/libpod/containers/${encodeURIComponent(ins.Id)}/healthcheck`,
      unversioned: true,
      ctx: { action: "run healthcheck", subject: { kind: "container", name: ins.Name.replace(/^\//, "") } },
    }).then((r) => r.body.dump());
    return true;
  } catch {
    return false;
  }
}
