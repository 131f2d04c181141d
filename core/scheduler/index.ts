/**
 * core/scheduler: deterministic placement, the same on every node.
 *
 * `schedule(state, services)` filters nodes per service (alive, constraints,
 * room), keeps existing healthy placements, and places the rest by walking a
 * consistent-hash ring (64 virtual nodes per node) from hash(service, index)
 * with bounded loads: no node ends above min(⌈(1+ε)·avg⌉, ⌈avg⌉+1) replicas
 * of a service, and new replicas are placed against the cap of a cluster one
 * node larger, so a node joining moves nothing and a node leaving moves only
 * its own replicas. Every exclusion carries a named reason (`Rejection`);
 * replicas that fit nowhere are pending, never an exception.
 * Two copies of one replica (a partition healed, a node came back) keep the
 * newer one (`ExistingPlacement.createdAt`), then the lower node id.
 * `planRollout` drives rolling updates, `explain` renders `fizz why`.
 */
export * from "./types.ts";
export { schedule, loadCap, DEFAULT_LOAD_FACTOR, DEFAULT_VNODES, DEFAULT_FAIR_SHARE_SLACK } from "./schedule.ts";
export {
  parseConstraint,
  parseConstraints,
  parseSpreadKey,
  checkPlacement,
  matches,
  matchesAll,
  type Constraint,
  type ParseOptions,
} from "./constraints.ts";
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
