/**
 * After a partition heals, both sides may have started the same replica. The
 * merged state then holds one (deployment, service, index) on several nodes;
 * every node resolves it the same way without talking: the lowest node id
 * keeps its copy, the others remove theirs. Global-mode replicas are keyed by
 * node, so they only duplicate when one node reports the same one twice.
 */

export interface ObservedPlacement {
  readonly deploymentId: string;
  readonly service: string;
  readonly index: number;
  readonly nodeId: string;
  /** Global-mode replicas are identified by node, not by index. */
  readonly mode?: "replicated" | "global";
  /** Distinguishes copies on the same node (e.g. the container id); optional. */
  readonly instanceId?: string;
}

export interface DuplicateResolution<P extends ObservedPlacement> {
  readonly keep: P[];
  readonly remove: P[];
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function slot(p: ObservedPlacement): string {
  return p.mode === "global"
    ? `${p.deploymentId}\u0000${p.service}\u0000node\u0000${p.nodeId}`
    : `${p.deploymentId}\u0000${p.service}\u0000${p.index}`;
}

export function resolveDuplicates<P extends ObservedPlacement>(placements: readonly P[]): DuplicateResolution<P> {
  const sorted = [...placements].sort(
    (a, b) => cmp(slot(a), slot(b)) || cmp(a.nodeId, b.nodeId) || cmp(a.instanceId ?? "", b.instanceId ?? ""),
  );
  const keep: P[] = [];
  const remove: P[] = [];
  let last: string | undefined;
  for (const p of sorted) {
    const s = slot(p);
    if (s === last) remove.push(p);
    else keep.push(p);
    last = s;
  }
  return { keep, remove };
}
