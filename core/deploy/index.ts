/**
 * From a compose project to engine calls: the effective environment
 * (`env.ts`), the container-create body per service and replica
 * (`container-spec.ts`), the planner's desired state (`desired.ts`) and the
 * planner's actual state from engine list results (`actual.ts`). Pure.
 */
export * from "./engine-body.ts";
export * from "./env.ts";
export * from "./container-spec.ts";
export * from "./desired.ts";
export * from "./actual.ts";
export * from "./one-off.ts";
