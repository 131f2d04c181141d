/**
 * `up --wait`'s question, answered from what the engine has: which of a
 * project's containers are not ready yet. Ready means running, and healthy
 * where the service has a healthcheck; a one-shot job counts when it exited 0.
 */
import { FizzError } from "../errors.ts";
import type { ActualState, DesiredProject } from "./types.ts";

/** A one-shot job that is done: exited 0, and a job (waited on with service_completed_successfully) or a service that is not restarted. */
export function finishedJob(c: { readonly state: string; readonly exitCode?: number }, restart: string | undefined, isJob: boolean): boolean {
  return c.state === "exited" && c.exitCode === 0 && (isJob || restart === undefined || restart === "no");
}

/** What is not ready yet, one entry per container or missing count (empty when all are). */
export function notReady(desired: DesiredProject<unknown>, actual: ActualState, services?: readonly string[]): string[] {
  // Services others wait on with service_completed_successfully are jobs: exit 0 is success.
  const jobs = new Set(desired.services.flatMap((s) => s.dependsOn.filter((d) => d.condition === "service_completed_successfully").map((d) => d.service)));
  const out: string[] = [];
  for (const s of desired.services) {
    if (s.replicas <= 0 || (services?.length && !services.includes(s.name))) continue;
    const cs = actual.containers.filter((c) => c.service === s.name && !c.oneoff);
    if (cs.length < s.replicas) out.push(`${s.name}: ${cs.length}/${s.replicas} containers`);
    for (const c of cs) {
      if (finishedJob(c, s.restart, jobs.has(s.name))) continue;
      if (c.state !== "running") out.push(`${c.name}: ${c.state}${c.exitCode !== undefined ? ` (exit code ${c.exitCode})` : ""}`);
      else if (s.hasHealthcheck && c.health !== "healthy") out.push(`${c.name}: ${c.health}`);
    }
  }
  return out;
}

/**
 * Containers that will never be ready: exited with a non-zero code in a service
 * nothing restarts (no `restart:`, or `no`; an engine policy that gave up leaves
 * it exited too). `up --wait` fails on them at once, as Compose does, rather
 * than waiting out its timeout. One entry per container, e.g. `shop-api-1 exited with code 3`.
 */
export function neverReady(desired: DesiredProject<unknown>, actual: ActualState, services?: readonly string[]): string[] {
  const out: string[] = [];
  for (const s of desired.services) {
    if (s.replicas <= 0 || (services?.length && !services.includes(s.name))) continue;
    if (s.restart !== undefined && s.restart !== "no" && s.restartRetries === undefined) continue;
    for (const c of actual.containers) {
      if (c.service !== s.name || c.oneoff || (c.state !== "exited" && c.state !== "dead") || !c.exitCode) continue;
      out.push(`${c.name} exited with code ${c.exitCode}`);
    }
  }
  return out;
}

/** The error for containers `neverReady` found. */
export function neverReadyError(found: readonly string[]): FizzError {
  return new FizzError({
    code: "deploy.failed",
    message: `${found.join(", ")}, and no restart policy starts ${found.length === 1 ? "it" : "them"} again: the project will never be ready`,
    hint: "see 'fizz logs <service>' for why, fix it and run fizz up again",
    status: 400,
  });
}
