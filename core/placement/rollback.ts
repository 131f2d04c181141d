/**
 * Rolling one service back: the service's definition from the previous spec
 * replaces the current one; the rest of the deployment is left as it is.
 * Written back as a new spec, so the spec it replaces becomes `previous`
 * (a second rollback goes forward again, as in Swarm).
 */
import type { Project } from "../compose/model.ts";

export type RollbackResult = { readonly ok: true; readonly spec: Project } | { readonly ok: false; readonly reason: string };

export function rollbackService(spec: unknown, previous: unknown, service: string): RollbackResult {
  const cur = spec as Project | null;
  const prev = previous as Project | null | undefined;
  if (!cur || typeof cur !== "object" || !cur.services || !Object.hasOwn(cur.services, service)) {
    return { ok: false, reason: `the deployment has no service '${service}'` };
  }
  if (!prev || typeof prev !== "object" || !prev.services || !Object.hasOwn(prev.services, service)) {
    return { ok: false, reason: `there is no previous spec of '${service}' to roll back to` };
  }
  const before = prev.services[service]!;
  if (JSON.stringify(before) === JSON.stringify(cur.services[service])) {
    return { ok: false, reason: `the previous spec of '${service}' is the same as the current one` };
  }
  return { ok: true, spec: { ...cur, services: { ...cur.services, [service]: before } } };
}
