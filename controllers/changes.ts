/**
 * What a controller reacts to. Every change anywhere in the agent (an API
 * write, a peer's state delta, a membership event, an engine event, a finished
 * reconcile) is announced once, as one of these values, to every controller
 * (`ControllerSet.notify`). A controller looks at `kind` and ignores the rest:
 * level-triggered controllers only need to know *that* something may differ,
 * and re-read the state themselves.
 */
import type { DeltaScope } from "../core/state/delta-scope.ts";

export type Change =
  /** A deployment's desired state changed here (API) or arrived from the cluster. */
  | { readonly kind: "deployment"; readonly name: string; readonly source: "api" | "cluster" }
  /** A deployment is gone from this node (down, or removed cluster-wide). */
  | { readonly kind: "deployment-removed"; readonly name: string }
  /** One reconcile of a deployment finished (its desired generation, whether it failed). */
  | { readonly kind: "reconciled"; readonly name: string; readonly generation: number; readonly failed: boolean }
  /** A member joined, failed, left or changed (SWIM); also this node joining, leaving or catching up. */
  | { readonly kind: "membership"; readonly event: MembershipEvent; readonly member?: string }
  /**
   * The replicated cluster state changed by a peer's delta (gossip or
   * push-pull). `scope`: the collections the delta touched and the
   * deployments its keys name (core/state/delta-scope.ts), for a controller
   * to skip a change that is not about what it reads; absent: anything may
   * have changed.
   */
  | { readonly kind: "cluster-state"; readonly source: "gossip" | "sync"; readonly scope?: DeltaScope }
  /** The engine reported something about one of our containers (die, destroy, health_status…): its name and Compose project, when the event says. */
  | { readonly kind: "engine"; readonly action: string; readonly container?: string; readonly project?: string };

export type MembershipEvent = "join" | "alive" | "suspect" | "dead" | "left" | "update" | "joined" | "settled" | "left-cluster";

export type ChangeKind = Change["kind"];

/** Announces a change to every controller (given to each one in its AgentContext). */
export type Notify = (change: Change) => void;
