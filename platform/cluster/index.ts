/**
 * The cluster node runtime the agent embeds: `ClusterNode.start(...)` binds
 * the cluster port (UDP + TCP, sealed with the cluster keyring), runs SWIM
 * membership with real timers, replicates the cluster state (core/state) over
 * gossip and push-pull, turns membership changes into `nodes` rows, and hands
 * the encoded state to a `persist` callback so a restart keeps its data.
 * Wiring only: the protocols live in core/swim, core/state, core/cluster-crypto.
 */
export { ClusterNode, type ClusterCounters, type ClusterLogger, type ClusterMember, type ClusterMemberEvent, type ClusterNodeOptions, type StateSource } from "./node.ts";
export { NAME_LABEL, fromSwimMeta, toSwimMeta, writeForEvent, type MemberMeta, type NodeMetaInput } from "./membership.ts";
export { replicaHook } from "./user-state.ts";
