/**
 * core/scheduler: deterministic placement. `schedule` is a pure function from
 * (nodes, existing placements, services) to assignments, pending replicas and
 * an explanation of every decision; every node computes the same answer.
 * `resolveDuplicates` settles double placements after a partition heals,
 * `planRollout` drives rolling updates, `explain` renders `fizz why`.
 */
export * from "./types.ts";
export { schedule, DEFAULT_LOAD_FACTOR, DEFAULT_VNODES } from "./schedule.ts";
export { parseConstraint, parseConstraints, parseSpreadKey, checkPlacement, matches, type Constraint } from "./constraints.ts";
export { resolveDuplicates, type ObservedPlacement, type DuplicateResolution } from "./duplicates.ts";
export { hash32 } from "./hash.ts";
export { explain, explainServiceExplanation, describeReason, type ExplainOptions } from "./explain.ts";
export {
  planRollout,
  startRollout,
  resumeRollout,
  batchSize,
  DEFAULT_UPDATE_CONFIG,
  type UpdateConfig,
  type ObservedInstance,
  type InstanceHealth,
  type RolloutState,
  type RolloutPhase,
  type RolloutAction,
  type RolloutInput,
  type RolloutStep,
} from "./rolling-update.ts";
