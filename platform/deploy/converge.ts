/**
 * One `up`: plan, pull/build images first, plan again (a new image id means
 * recreating its containers, and only a plan made after the pull knows that),
 * then execute with rollback of what the run created if a step fails. Shared
 * by `fizz up` and the agent's deployment API.
 */
import type { ServiceTemplate } from "../../core/deploy/container-spec.ts";
import { normalizeImageRef, plan } from "../../core/reconcile/plan.ts";
import type { Plan, PlanOptions } from "../../core/reconcile/types.ts";
import type { Engine } from "../engine/index.ts";
import { EngineExecutor } from "./engine-adapter.ts";
import { executePlan, type ExecuteOptions, type ExecuteResult } from "./executor.ts";
import { readActual, type Prepared } from "./project.ts";

export interface ConvergeResult {
  /** The container plan that was executed (after the image phase). */
  plan: Plan<ServiceTemplate>;
  /** Image steps run before it. */
  imageSteps: number;
  result: ExecuteResult;
}

export async function converge(
  engine: Engine,
  prepared: Prepared,
  planOptions: PlanOptions,
  exec: Omit<ExecuteOptions, "project" | "imagesPresent">,
): Promise<ConvergeResult> {
  const name = prepared.desired.name;
  const executor = new EngineExecutor(engine, prepared.builds);
  let actual = await readActual(engine, name);
  let p = plan(prepared.desired, actual, planOptions);
  const imageSteps = p.steps.filter((s) => s.kind === "pullImage" || s.kind === "buildImage");
  if (imageSteps.length) {
    const ids = new Set(imageSteps.map((s) => s.id));
    const r = await executePlan({ steps: imageSteps.map((s) => ({ ...s, after: s.after.filter((a) => ids.has(a)) })), warnings: [] }, executor, { ...exec, project: name });
    if (!r.ok) return { plan: p, imageSteps: imageSteps.length, result: r };
    actual = await readActual(engine, name);
    p = plan(prepared.desired, actual, { ...planOptions, pull: "missing", build: false });
  }
  const result = await executePlan(p, executor, {
    ...exec,
    project: name,
    rollbackOnFailure: exec.rollbackOnFailure ?? true,
    ...(planOptions.pull === "never" ? { imagesPresent: new Set(actual.images.map((i) => normalizeImageRef(i.ref))) } : {}),
  });
  return { plan: p, imageSteps: imageSteps.length, result };
}
