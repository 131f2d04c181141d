/**
 * The agent's controllers: each one concern of the node daemon, between the
 * pure decisions in core/ and the adapters in platform/. The composition root
 * (cmd/agent/root.ts) constructs them with an AgentContext (context.ts) and
 * their own dependencies, mounts their API routes, starts them in order, tells
 * each one about every change (changes.ts) and stops them in reverse order.
 *
 *   deployments/    desired deployments converged on this node's engine (the reconcile loop, the deployments API)
 *   placement/      this node's share of the cluster's placement, rolling updates and their rollback
 *   health/         health monitors restarting unhealthy containers
 *   cluster/        membership: init, join, leave, resume, keys (ClusterAgent)
 *   engine-events/  engine events as changes (wakes the loop early)
 *   events/         event-log retention
 *   secrets/        the master key's seal state (Shamir shares, unseal offers), stored secrets, delivery on tmpfs and rotation
 *   mesh/           the WireGuard mesh between nodes, cluster networks and their addresses
 *   dns/            the cluster resolver on each served network's gateway
 *   ingress/        the HTTP/TLS ingress on every node, certificates (ACME) and their records
 *   registry/       the OCI registry in every node: pull-through, peer layers, pins, GC
 *
 * Shared by several controllers: converge-loop.ts (one pass at a time, coalesced
 * wakes), replicated-records.ts (a collection in the cluster state, or off a
 * cluster in a local replica kept in the store).
 */
export type { Controller } from "./controller.ts";
export { ControllerSet } from "./controller.ts";
export type { AgentContext, EventSink } from "./context.ts";
export type { Change, ChangeKind, MembershipEvent, Notify } from "./changes.ts";
export { recordEvent, type AgentEvent } from "./event-log.ts";
