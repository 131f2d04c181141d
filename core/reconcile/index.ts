/**
 * Reconciliation, pure: desired project + labelled engine state → a plan.
 *
 * - `plan(desired, actual, options)`: the `up` planner (also the agent's
 *   level-triggered loop). Returns a DAG of steps (`after` edges; independent
 *   steps may run in parallel) that converges actual to desired; applying it
 *   and planning again gives an empty plan.
 * - `planDown` / `planStop` / `planStart` / `planRestart`: the imperative verbs.
 * - `desiredFromCompose(project, {create})`: compose model → `DesiredProject`.
 * - `toActualState(...)`: engine list answers → `ActualState` (re-adoption by labels).
 * - `executePlan(plan, perform, {parallelism})`: runs the DAG through an
 *   injected `perform(step)`, bounded; a failure skips only its dependents.
 * - `describePlan(plan)`: one human line per action, with the reason.
 * - `decideRestart(...)`: the unhealthy-restart policy (backoff, max_attempts
 *   within a window) that Compose lacks.
 *
 * No I/O, no clock: the executor (platform/cmd) performs the steps, waits for
 * `waitFor` gates, and passes `now` to the health policy. The step contract
 * is documented on `Step` in types.ts.
 *
 * Typical wiring:
 *   const desired = desiredFromCompose(project, { create: toEngineBody });
 *   const actual = toActualState(await engine.list(...), project.name);
 *   const p = plan(desired, actual, { removeOrphans, services, forceRecreate });
 *   for (const line of describePlan(p)) print(line);
 *   await executePlan(p, (step) => engineStep(step), { parallelism: 4 });
 * The agent's loop uses `{ pull: "missing", startExited: "policy" }` so that a
 * converged stack plans to nothing, and calls `decideRestart` per container
 * (`planRestartContainers` for the ones to restart).
 */

export type * from "./types.ts";
export { plan, normalizeImageRef, changedFields } from "./plan.ts";
export {
  planDown,
  planStop,
  planStart,
  planRestart,
  planRestartContainers,
  type DownOptions,
  type RestartOptions,
} from "./lifecycle.ts";
export { describePlan, describeStep, reasonText, isEmptyPlan } from "./describe.ts";
export { configFieldHashes } from "./config-fields.ts";
export { evaluateCondition, type ConditionStatus } from "./wait.ts";
export {
  executePlan,
  PlanProgress,
  type StepOutcome,
  type ExecuteOptions,
  type ExecuteResult,
} from "./execute.ts";
export {
  desiredFromCompose,
  desiredService,
  restartPolicyOf,
  serviceNetworkKeys,
  defaultImageName,
  type FromComposeOptions,
} from "./from-compose.ts";
export {
  toActualState,
  toActualContainer,
  toActualNetwork,
  toActualVolume,
  parseState,
  parseHealth,
  containerListFilter,
  type EngineContainer,
  type EngineNamed,
} from "./actual.ts";
export {
  decideRestart,
  policyFromService,
  restartSummary,
  currentStreak,
  backoffMs,
  formatDuration,
  HEALTH_POLICY_DEFAULTS,
  type RestartPolicySpec,
  type HealthPolicyDefaults,
  type RestartRecord,
  type RestartCause,
  type ContainerObservation,
  type DecideInput,
  type HealthDecision,
  type RestartSummary,
} from "./health-policy.ts";
