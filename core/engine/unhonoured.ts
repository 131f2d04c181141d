/**
 * What a compose file asks that this engine cannot do, said before it matters.
 * Docker runs `healthcheck.start_interval` from API 1.44 (Docker 25) on; an
 * older one (Debian 12's docker.io 20.10 speaks 1.41) ignores it and probes at
 * `interval` during the start period too, so a `service_healthy` dependent
 * waited the whole interval (30 s by default) where the file meant a second.
 * Podman is not concerned: Fizz runs its due checks itself (platform/deploy/podman-health.ts).
 */
import type { Project } from "../compose/model.ts";
import { compareApiVersions } from "./api-version.ts";

const START_INTERVAL_API = "1.44";
const DEFAULT_INTERVAL_NS = 30e9;

/** One warning per service whose start_interval the engine would ignore. */
export function unhonouredByEngine(project: Project, engine: { readonly name: string; readonly apiVersion: string | undefined }): string[] {
  if (engine.name !== "docker" || engine.apiVersion === undefined) return [];
  let old: boolean;
  try {
    old = compareApiVersions(engine.apiVersion, START_INTERVAL_API) < 0;
  } catch {
    return [];
  }
  if (!old) return [];
  const out: string[] = [];
  for (const s of Object.values(project.services)) {
    const hc = s.healthcheck;
    if (!hc || hc.disable || hc.start_interval === undefined) continue;
    const every = Math.round((hc.interval ?? DEFAULT_INTERVAL_NS) / 1e9);
    out.push(
      `services.${s.name}.healthcheck.start_interval: this Docker engine (API ${engine.apiVersion}) ignores it (it needs API ${START_INTERVAL_API}, Docker 25 or newer), so the first checks run every ${every}s during the start period and a service_healthy dependent may wait that long; lower healthcheck.interval to check sooner`,
    );
  }
  return out;
}
