/**
 * Reconciliation, pure: desired project + labelled engine state → a plan.
 *
 * - `plan(desired, actual, options)`: the `up` planner (also the agent's
 *   level-triggered loop). Returns a DAG of steps (`after` edges; independent
 *   steps may run in parallel) that converges actual to desired; applying it
 *   and planning again gives an empty plan.
 * - `planDown` / `planStop` / `planStart` / `planRestart`: the imperative verbs.
 * - `desiredFromCompose(project, {create})`: compose model → `DesiredProject`.
 * - `describePlan(plan)`: one human line per action, with the reason.
 * - `decideRestart(...)`: the unhealthy-restart policy (backoff, max_attempts
 *   within a window) that Compose lacks.
 *
 * No I/O, no clock: the executor (platform/cmd) performs the steps, waits for
 * `waitFor` gates, and passes `now` to the health policy. The step contract
 * is documented on `Step` in types.ts.
 *
 * How it is wired (platform/deploy): `core/deploy` turns the compose project
 * into a `DesiredProject` (with engine create templates) and the engine's
 * list answers into `ActualState` (re-adoption by labels alone);
 * `platform/deploy/executor.ts` runs the plan against the engine, bounded and
 * in parallel, waiting on `waitFor` gates; `converge.ts` is one `up`.
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
export {
  desiredFromCompose,
  desiredService,
  restartPolicyOf,
  serviceNetworkKeys,
  defaultImageName,
  type FromComposeOptions,
} from "./from-compose.ts";
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
