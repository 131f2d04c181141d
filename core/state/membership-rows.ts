/**
 * Membership → cluster state (pure rules; platform/cluster/node.ts applies them): which SWIM events become writes to the `nodes`
 * collection, and who writes them. The rules keep one writer per fact, so a
 * death in a 1,000-node cluster is one delta, not a thousand:
 *
 *  - every node writes its own row (name, address, labels, resources,
 *    state "alive") at start and whenever the row it sees differs from what it
 *    is — including when someone declared it dead or it was partitioned away
 *    (it rewrites itself alive once it hears of it, with a later HLC stamp);
 *  - "dead": written by the node(s) whose own suspicion timer fired
 *    (`event.local`), not by those that heard it through gossip;
 *  - "left": written by the leaver itself before it goes; as a backup, by the
 *    live member with the smallest id, if the row does not say so yet;
 *  - "suspect" is not written: it is transient, and the scheduler acts on dead.
 *
 * SWIM metadata carries labels and resources; the node name rides in the
 * reserved label `io.fizz.name` (SWIM's NodeMeta has no name field).
 */
import type { MemberEvent, MemberView, NodeMeta } from "../swim/index.ts";
import { getNode, type ClusterState } from "./cluster-state.ts";
import type { NodeInfo, NodeState } from "./schema.ts";

export const NAME_LABEL = "io.fizz.name";
/** The engine instance a node drives (core/engine/identity.ts), so two members never drive one engine. */
export const ENGINE_LABEL = "io.fizz.engine";
const MIB = 1024 * 1024;

/** What a node says about itself. */
export interface NodeMetaInput {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
  readonly resources?: { readonly cpuMillis: number; readonly memoryBytes: number };
  /** Named ports other nodes may need (e.g. api, registry, wireguard). */
  readonly ports?: Readonly<Record<string, number>>;
  /** The engine instance's id (`docker:<daemon id>`). */
  readonly engine?: string;
}

export interface MemberMeta {
  readonly name: string;
  readonly engine?: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly resources: { readonly cpuMillis: number; readonly memoryBytes: number };
  readonly ports: Readonly<Record<string, number>>;
}

export function toSwimMeta(m: NodeMetaInput): NodeMeta {
  return {
    labels: { ...(m.labels ?? {}), [NAME_LABEL]: m.name, ...(m.engine ? { [ENGINE_LABEL]: m.engine } : {}) },
    resources: { cpuMilli: m.resources?.cpuMillis ?? 0, memoryMb: Math.floor((m.resources?.memoryBytes ?? 0) / MIB) },
    ports: { ...(m.ports ?? {}) },
  };
}

/** Metadata objects are replaced, never changed, when a member's metadata changes: each is read once. */
const readMeta = new WeakMap<NodeMeta, { readonly id: string; readonly meta: MemberMeta }>();

export function fromSwimMeta(id: string, m: NodeMeta): MemberMeta {
  const hit = readMeta.get(m);
  if (hit?.id === id) return hit.meta;
  const { [NAME_LABEL]: name, [ENGINE_LABEL]: engine, ...labels } = m.labels;
  const meta: MemberMeta = { name: name ?? id, ...(engine ? { engine } : {}), labels, resources: { cpuMillis: m.resources.cpuMilli, memoryBytes: m.resources.memoryMb * MIB }, ports: m.ports };
  readMeta.set(m, { id, meta });
  return meta;
}

export function nodeInfo(address: string, meta: NodeMetaInput, state: NodeState): NodeInfo {
  return {
    name: meta.name,
    address,
    labels: { ...(meta.labels ?? {}) },
    resources: { cpuMillis: meta.resources?.cpuMillis ?? 0, memoryBytes: meta.resources?.memoryBytes ?? 0 },
    state,
  };
}

/** The row a member's SWIM view implies (used when a dead node has no row yet). */
export function infoFromView(v: MemberView, state: NodeState): NodeInfo {
  const m = fromSwimMeta(v.id, v.meta);
  return { name: m.name, address: v.addr, labels: { ...m.labels }, resources: { ...m.resources }, state };
}

function sameInfo(a: NodeInfo, b: NodeInfo): boolean {
  if (a.name !== b.name || a.address !== b.address || a.state !== b.state) return false;
  if (a.resources.cpuMillis !== b.resources.cpuMillis || a.resources.memoryBytes !== b.resources.memoryBytes) return false;
  const ka = Object.keys(a.labels).sort();
  const kb = Object.keys(b.labels).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && a.labels[k] === b.labels[k]);
}

/** Our own row needs (re)writing: missing, stale, or someone marked us dead/suspect/left. */
export function selfRowStale(state: ClusterState, selfId: string, want: NodeInfo): boolean {
  const cur = getNode(state, selfId);
  return cur === undefined || !sameInfo(cur, want);
}

export type NodeWrite = { readonly nodeId: string; readonly info: NodeInfo };

/**
 * The write (if any) this node should make for a membership event.
 * `liveIds`: ids of members currently alive or suspect, self included.
 */
export function writeForEvent(state: ClusterState, selfId: string, ev: MemberEvent, liveIds: readonly string[]): NodeWrite | undefined {
  const id = ev.member.id;
  if (id === selfId) return undefined;
  const cur = getNode(state, id);
  switch (ev.type) {
    case "dead":
      if (!ev.local || cur?.state === "dead" || cur?.state === "left") return undefined;
      return { nodeId: id, info: cur ? { ...cur, state: "dead" } : infoFromView(ev.member, "dead") };
    case "left": {
      if (cur?.state === "left") return undefined;
      const writer = liveIds.filter((x) => x !== id).sort()[0];
      if (writer !== selfId) return undefined;
      return { nodeId: id, info: cur ? { ...cur, state: "left" } : infoFromView(ev.member, "left") };
    }
    default:
      // join / alive / update / suspect: the node writes its own row.
      return undefined;
  }
}
