/**
 * What a state delta is about, for the agent's controllers to decide whether
 * it concerns them: the collections it touches and the deployments its keys
 * name (deployments, services, containers and applied are keyed by the
 * deployment first: `<deployment>`, `<deployment>/<service>`,
 * `<deployment>/<service>/<index>/<node>`, `<deployment>/<node>`), and the
 * keys of its IP claims. Keys of the other collections (nodes, secrets,
 * registry, ingress) name no deployment.
 */
import { COLLECTIONS, type ClusterDelta, type Collection } from "./cluster-state.ts";

export interface DeltaScope {
  /** The collections the delta has at least one key in. */
  readonly collections: readonly Collection[];
  /** The deployments named by its deployments/services/containers/applied keys, each once. */
  readonly deployments: readonly string[];
  /** The keys of its `ips` part (claims: which deployments they concern takes the table, core/net/claim-deployments.ts). */
  readonly ips: readonly string[];
}

/** The collections whose keys start with the deployment they belong to. */
export const PER_DEPLOYMENT: ReadonlySet<Collection> = new Set<Collection>(["deployments", "services", "containers", "applied"]);

export function deltaScope(delta: ClusterDelta): DeltaScope {
  const collections: Collection[] = [];
  const deployments = new Set<string>();
  for (const c of COLLECTIONS) {
    const d = delta[c] as Record<string, unknown> | undefined;
    if (!d) continue;
    let any = false;
    for (const k in d) {
      any = true;
      if (!PER_DEPLOYMENT.has(c)) break;
      const i = k.indexOf("/");
      deployments.add(i < 0 ? k : k.slice(0, i));
    }
    if (any) collections.push(c);
  }
  return { collections, deployments: [...deployments], ips: delta.ips ? Object.keys(delta.ips) : [] };
}

/** True when the delta may touch one of the `concern` collections (always, when its scope is unknown). */
export function touchesAny(scope: DeltaScope | undefined, concern: ReadonlySet<Collection>): boolean {
  return scope === undefined || scope.collections.some((c) => concern.has(c));
}
