/**
 * The cluster node runtime the agent embeds: `ClusterNode.start(...)` binds
 * the cluster port (UDP + TCP, sealed with the cluster keyring), runs SWIM
 * membership with real timers, replicates the cluster state (core/state) over
 * gossip and push-pull, turns membership changes into `nodes` rows, and hands
 * the encoded state to a `persist` callback so a restart keeps its data.
 * Wiring only: the protocols live in core/swim, core/state, core/cluster-crypto.
 *
 * Embedding (cmd/agent.ts):
 *   const node = await ClusterNode.start({
 *     nodeId, bind: "0.0.0.0:7946", advertise: "10.0.0.5:7946",
 *     keyring, clusterId,                          // keyringFromToken(parseJoinToken(t)) / initCluster(...)
 *     meta: { name: hostname, labels, resources: { cpuMillis, memoryBytes } },
 *     initialState: store.get("cluster_state"),    // bytes given to persist last time, or undefined
 *     persist: (bytes) => store.put("cluster_state", bytes),
 *     onStateChange: (delta) => reconciler.wake(delta),
 *     logger: log.child({ mod: "cluster" }),
 *   });
 *   await node.join(seeds.length ? seeds : node.knownPeers()); // FizzError: cluster.wrong_key, cluster.join_failed…
 *   node.mutate((s, ts) => putDeployment(s, ts, id, project, spec));
 *   node.state / node.members() / node.on("member", …) / node.counters()
 *   on shutdown: await node.leave(); await node.stop();   // stop() alone = crash, as far as peers can tell
 */
export { ClusterNode, type ClusterCounters, type ClusterLogger, type ClusterMember, type ClusterMemberEvent, type ClusterNodeOptions, type StateSource } from "./node.ts";
export { NAME_LABEL, fromSwimMeta, toSwimMeta, writeForEvent, type MemberMeta, type NodeMetaInput } from "../../core/state/membership-rows.ts";
export { deltaPayloads, readDeltaPayload } from "./payload.ts";
export { replicaHook } from "./user-state.ts";
export { bindEndpoint, type BindOptions, type BindTransport, type ClusterStream, type ClusterTransport, type StreamIntent } from "./transport.ts";
