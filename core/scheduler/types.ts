/**
 * The scheduler's own input and output types. They are deliberately decoupled
 * from the compose model and the CRDT state: the agent adapts its state into
 * these shapes, so the scheduler stays a pure function that is cheap to test.
 */

export type NodeState = "alive" | "suspect" | "dead" | "left";

export interface Resources {
  /** CPU cores (fractional, like compose `cpus: "0.5"`). */
  readonly cpus: number;
  readonly memoryBytes: number;
}

export interface SchedNode {
  readonly id: string;
  readonly hostname: string;
  /** Swarm-style role; Fizz has no managers, but constraints may still name one. */
  readonly role: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly engineLabels: Readonly<Record<string, string>>;
  readonly platform?: { readonly os: string; readonly arch: string };
  readonly state: NodeState;
  /** Total capacity of the node. */
  readonly resources: Resources;
  /** Capacity already taken by things outside this computation (other stacks, non-Fizz containers). */
  readonly allocated?: Resources;
}

export interface SpreadPreference {
  /** A node attribute path, e.g. `node.labels.zone`. */
  readonly spread: string;
}

/**
 * Orchestrator-specific placement rules from `x-fizz` (plus compose's
 * `deploy.placement.max_replicas_per_node`, which maps to `maxPerNode`).
 */
export interface XFizzPlacement {
  /** At most this many replicas of the service on one node. */
  readonly maxPerNode?: number;
  /**
   * `x-fizz.placement.constraints`: the compose syntax, where a bare key is a
   * node label (`zone==a` means `node.labels.zone==a`). Hard, like compose's.
   */
  readonly constraints?: readonly string[];
  /**
   * `x-fizz.placement.prefer`: same syntax, soft. Nodes matching all of them
   * are tried first; the others only when no preferred node has room.
   */
  readonly prefer?: readonly string[];
  /** `x-fizz.spread`: a node label name (`zone`), `node`, or an attribute path (`node.labels.zone`). */
  readonly spread?: string;
  /**
   * `soft` (default): spreading is a preference, a replica may land in a full
   * group when no other group fits. `hard`: it stays pending instead.
   */
  readonly spreadMode?: "soft" | "hard";
  /** The ε of bounded-load hashing for this service (default from options). */
  readonly loadFactor?: number;
}

export interface SchedService {
  readonly deploymentId: string;
  readonly name: string;
  readonly mode: "replicated" | "global";
  /** Ignored in global mode. */
  readonly replicas: number;
  /** Compose/swarm constraint strings, e.g. `node.labels.zone==a`, `node.role != manager`. */
  readonly constraints: readonly string[];
  readonly preferences: readonly SpreadPreference[];
  readonly reservations: Resources;
  readonly xfizz?: XFizzPlacement;
  readonly specHash: string;
}

export interface ExistingPlacement {
  readonly deploymentId: string;
  readonly service: string;
  readonly index: number;
  readonly nodeId: string;
  /**
   * False only for a replica that failed (unhealthy, exited, restart-looping):
   * such a placement is not held on to. A container still starting should be
   * passed as healthy, or a fresh replica could be moved before it is up.
   */
  readonly healthy: boolean;
  readonly specHash: string;
  /**
   * When the container was created (ms). Of two copies of one replica (a
   * partition healed, or a node came back and its engine restarted a container
   * that had moved meanwhile) the newer is kept: the older one's node was away
   * while the other took over. Equal or unknown: the lower node id.
   */
  readonly createdAt?: number;
}

export interface SchedulerInput {
  readonly nodes: readonly SchedNode[];
  readonly existing: readonly ExistingPlacement[];
}

export interface ScheduleOptions {
  /** Default ε for bounded loads: no node gets more than ⌈(1+ε)·average⌉ replicas of a service. */
  readonly loadFactor?: number;
  /** Replicas a node may hold above ⌈average⌉ (default 1); caps what a departing node takes with it. */
  readonly fairShareSlack?: number;
  /** Virtual nodes per node on the hash ring. */
  readonly vnodes?: number;
}

/** Why a node did not get a replica. Each variant is a stable, named reason. */
export type Rejection =
  | { readonly kind: "NodeDown"; readonly state: NodeState }
  | { readonly kind: "ConstraintMismatch"; readonly constraint: string }
  | { readonly kind: "InsufficientCpu"; readonly need: number; readonly free: number }
  | { readonly kind: "InsufficientMemory"; readonly need: number; readonly free: number }
  | { readonly kind: "LoadBound"; readonly cap: number }
  | { readonly kind: "SpreadLimit"; readonly label: string; readonly value: string; readonly limit: number }
  | { readonly kind: "MaxPerNode"; readonly max: number }
  /** Fits, but does not match the x-fizz `prefer` rules; used only when no preferred node fits. */
  | { readonly kind: "NotPreferred"; readonly prefer: readonly string[] }
  /** The service's placement rules could not be read; every node is excluded until they are fixed. */
  | { readonly kind: "InvalidPlacement"; readonly message: string };

export interface NodeRejection {
  readonly nodeId: string;
  readonly reason: Rejection;
}

export interface Assignment {
  readonly deploymentId: string;
  readonly service: string;
  /**
   * Replica index. In global mode the replica is identified by its node; the
   * index is its ordinal among the chosen nodes sorted by id (informational).
   */
  readonly index: number;
  readonly nodeId: string;
}

export interface PendingReplica {
  readonly deploymentId: string;
  readonly service: string;
  readonly index: number;
  /** Why each node was excluded (empty node list → one entry with no nodes: see `explain`). */
  readonly reasons: readonly NodeRejection[];
}

export type ReplicaOutcome =
  /** An existing healthy placement was kept (minimal movement). */
  | { readonly kind: "kept"; readonly nodeId: string }
  /**
   * Placed by the hash ring. `rank` is how many distinct feasible nodes were
   * passed over before this one (0 = the replica's first choice); `passedOver`
   * says why; `fallback` is set when a soft spread limit or an x-fizz
   * preference had to be given up.
   */
  | {
      readonly kind: "placed";
      readonly nodeId: string;
      readonly rank: number;
      readonly passedOver: readonly NodeRejection[];
      readonly fallback?: "spread" | "prefer" | "spread+prefer";
    }
  | { readonly kind: "pending"; readonly reasons: readonly NodeRejection[] };

export interface ReplicaExplanation {
  readonly index: number;
  readonly outcome: ReplicaOutcome;
}

export interface ServiceExplanation {
  readonly deploymentId: string;
  readonly service: string;
  readonly mode: "replicated" | "global";
  /** Desired replica count (global mode: number of feasible nodes). */
  readonly desired: number;
  /** Nodes that passed the static filter (alive, constraints, room for one replica). */
  readonly feasible: number;
  /** The bounded-load cap per node (replicated mode): no node ends above it. */
  readonly loadCap: number;
  /** New replicas only go to nodes below this; it anticipates one more node so a join moves nothing. */
  readonly placeCap: number;
  /** Nodes excluded before hashing, with their reason. */
  readonly excluded: readonly NodeRejection[];
  readonly replicas: readonly ReplicaExplanation[];
}

export interface Placement {
  readonly assignments: readonly Assignment[];
  readonly pending: readonly PendingReplica[];
  readonly explanations: readonly ServiceExplanation[];
}
