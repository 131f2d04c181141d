/**
 * `plan(desired, actual, options)`: the `up` planner. Diffs the desired
 * project against the labelled resources the engine reports and returns a DAG
 * of steps that converges them, Compose-style:
 *
 * - networks/volumes used by the services in scope are created when missing
 *   (external ones never: a missing external one is a warning);
 * - images are pulled/built per pull policy, once per reference;
 * - each service gets exactly `replicas` containers numbered from 1: surplus
 *   highest numbers are stopped and removed, gaps are filled from 1 (in a
 *   cluster, `numbers` names exactly the ones placed on this node);
 * - a container is recreated only when its config hash (or image id) moved,
 *   or on `forceRecreate`; recreate = stop → rename old → create → start →
 *   remove old (Compose removes before the start; plan-service.ts says why);
 * - a container's create comes after its networks, volumes, image and the
 *   creates of its dependencies; its start comes after the starts
 *   (`service_started`) or a `waitFor` gate (`service_healthy`,
 *   `service_completed_successfully`) of each dependency;
 * - dependents with `depends_on.restart: true` of a recreated service are
 *   stopped before it and started after it is ready again.
 *
 * Level-triggered: applying the plan and planning again yields an empty plan
 * (for pull policies other than `always`/`build`).
 *
 * The phases, in order: plan-resources.ts (networks, volumes, images),
 * plan-service.ts (each service's containers, in dependency order), then here
 * the restarts of dependents, the late gates and the orphans; plan-run.ts
 * holds what they share.
 */

import { PlanRun } from "./plan-run.ts";
import { planImages, planResources } from "./plan-resources.ts";
import { planService } from "./plan-service.ts";
import { byNumber, depsInScope, refOf } from "./services.ts";
import type { ActualContainer, ActualState, DesiredProject, Plan, PlanOptions, Reason } from "./types.ts";

export { normalizeImageRef } from "./plan-run.ts";
export { changedFields } from "./plan-service.ts";

export function plan<C>(desired: DesiredProject<C>, actual: ActualState, options: PlanOptions = {}): Plan<C> {
  const run = new PlanRun(desired, actual, options);
  planResources(run);
  planImages(run);
  for (const svc of run.ordered) planService(run, svc);
  planRestarts(run);
  lateGates(run);
  planOrphans(run);
  run.closeBarriers();
  return run.b.build();
}

/** depends_on.restart: running dependents of a recreated service stop before it and start after it. */
function planRestarts<C>(run: PlanRun<C>): void {
  const b = run.b;
  for (const svc of run.ordered) {
    const restartFor = depsInScope(svc, run.byName, run.scope).filter((d) => d.restart && run.recreated.has(d.service));
    if (restartFor.length === 0) continue;
    const detail = restartFor.map((d) => d.service).join(", ");
    for (const c of run.keptRunning.get(svc.name) ?? []) {
      const reason: Reason = { code: "dependency-recreated", detail };
      const stop = b.add({ kind: "stopContainer", id: `stop:${c.id}`, after: [], container: refOf(c), reason });
      // Stop the dependent before its dependency goes away, as `down` would.
      for (const d of restartFor) for (const s of run.stopsOfOld.get(d.service) ?? []) b.after(s, [stop]);
      const start = b.add({ kind: "startContainer", id: `start:${c.name}`, after: [stop, ...run.gatesFor(svc)], container: refOf(c), reason });
      run.started(svc, start);
    }
  }
}

/** Starts added late (restarts) must still gate their dependents and waits. */
function lateGates<C>(run: PlanRun<C>): void {
  const b = run.b;
  for (const [startId, svc] of run.gated) {
    for (const dep of depsInScope(svc, run.byName, run.scope)) {
      if (dep.condition === "service_started") b.after(startId, run.joined("started", dep.service));
    }
  }
  for (const step of b.ids()) {
    const s = b.get(step)!;
    if (s.kind === "waitFor") b.after(step, run.starts.get(s.service) ?? []);
  }
}

/** Containers of services the file no longer has: removed with --remove-orphans (or when the change dropped them), else a warning. */
function planOrphans<C>(run: PlanRun<C>): void {
  const dropped = new Set(run.options.removeServices ?? []);
  // A service the active profiles leave out is still the file's (`up` without --profile after `--profile debug up`): Compose leaves it alone.
  const disabled = new Set(run.desired.disabledServices ?? []);
  const orphans: ActualContainer[] = [];
  for (const c of run.mine.filter((c) => !run.byName.has(c.service)).sort(byNumber)) {
    if (dropped.has(c.service)) run.removeSteps(c, { code: "orphan" });
    else if (!disabled.has(c.service)) orphans.push(c);
  }
  if (orphans.length === 0) return;
  if (run.options.removeOrphans) {
    for (const c of orphans) run.removeSteps(c, { code: "orphan" });
    return;
  }
  run.b.warn(
    `Found orphan containers (${orphans.map((c) => c.name).join(", ")}) for this project. ` +
      "If you removed or renamed this service in your compose file, run with --remove-orphans to clean it up.",
  );
}
