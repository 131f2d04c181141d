/**
 * What every controller is given by the composition root: the node's config,
 * identity, store, event log, metrics and logger, the clock, and `notify` to
 * announce a change to all controllers. Capability-specific dependencies (the
 * engine, the cluster membership, another controller) are passed to a
 * controller's constructor explicitly, next to this.
 */
import type { AgentConfig } from "../core/agent-config/schema.ts";
import type { AgentStore, NewEvent } from "../platform/store/index.ts";
import type { AgentMetrics } from "../platform/metrics.ts";
import type { Logger } from "../platform/log.ts";
import type { Clock } from "../core/clock.ts";
import type { Notify } from "./changes.ts";

/** Where controllers write the event log (GET /v1/events, `fizz events`). */
export interface EventSink {
  append(e: NewEvent): unknown;
  /**
   * Appends in the next group commit (within a tick), keeping the order with
   * `append`: for the many step events of a big change, one durable write per
   * batch instead of one per event. Absent: `append`.
   */
  appendSoon?(e: NewEvent): void;
}

export interface AgentContext {
  readonly config: AgentConfig;
  /** This node's stable id (the store's). */
  readonly node: string;
  /** `fizz <version> (commit …)`, stamped on the containers the agent creates. */
  readonly fizzVersion: string;
  readonly store: AgentStore;
  readonly events: EventSink;
  readonly metrics: AgentMetrics;
  /** Already scoped to this node; controllers add `{ component: name }`. */
  readonly logger: Logger;
  /** Announce a change to every controller. */
  readonly notify: Notify;
  readonly now: () => number;
  /** Timers and time (the system's; virtual in the cluster simulator). `now` is `clock.now`. */
  readonly clock: Clock;
}
