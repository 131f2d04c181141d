/**
 * A node's ingress plan: the route table plus, for every route target (a
 * service's container port), the replicas to balance over and how this node
 * reaches each: a replica here by its container address; a replica on another
 * node through that node's relay (`platform/ingress/relay.ts`), named in the
 * relay header, so traffic between nodes goes node to node (over the mesh
 * once it carries the node addresses) and the node running a replica is the
 * one that connects to it. Pure: every node computes its plan from the same
 * replicated records plus what it knows of its own containers.
 */
import { replicaRole, type ReplicaView } from "./drain.ts";
import type { BackendSpec } from "./balancer.ts";
import { buildRouteTable, targetKey, type DeploymentInput, type RouteTable } from "./routes.ts";

export interface ReplicaInput extends ReplicaView {
  readonly deployment: string;
  readonly service: string;
  /** Replica index (container number − 1). */
  readonly index: number;
  readonly node: string;
  /** For replicas on this node: the container's address (on its first network), if known. */
  readonly localAddress?: string;
}

export interface UpstreamSpec {
  readonly host: string;
  readonly port: number;
  /** Set when the connection goes through another node's relay: which replica and port it asks for. */
  readonly relay?: string;
}

export interface PlanInput {
  readonly self: string;
  readonly deployments: readonly DeploymentInput[];
  readonly replicas: readonly ReplicaInput[];
  /** In a cluster, published ports are ingress ports on every node. */
  readonly clusterPorts: boolean;
  /** How to reach each other node's relay (host and port); nodes missing here are skipped. */
  readonly relays: ReadonlyMap<string, { readonly host: string; readonly port: number }>;
}

export interface IngressPlanValue {
  readonly table: RouteTable;
  readonly backends: ReadonlyMap<string, readonly BackendSpec<UpstreamSpec>[]>;
}

/** What a relay header names: `<deployment>/<service>/<index>:<port>`. */
export function relayTarget(deployment: string, service: string, index: number, port: number): string {
  return `${deployment}/${service}/${index}:${port}`;
}

export function parseRelayTarget(s: string): { deployment: string; service: string; index: number; port: number } | undefined {
  const m = /^([A-Za-z0-9._-]{1,128})\/([A-Za-z0-9._-]{1,128})\/(\d{1,9}):(\d{1,5})$/.exec(s);
  if (!m) return undefined;
  const port = Number(m[4]);
  if (port < 1 || port > 65535) return undefined;
  return { deployment: m[1]!, service: m[2]!, index: Number(m[3]), port };
}

export function replicaKey(r: { deployment: string; service: string; index: number; node: string }): string {
  return `${r.deployment}/${r.service}/${r.index}@${r.node}`;
}

/** How the CLI names a replica of a key: `web#1` (its container number, from 1, as `fizz ps` counts). */
export function replicaLabel(key: string): { readonly replica: string; readonly node: string } {
  const at = key.lastIndexOf("@");
  const [, service = "", index = ""] = key.slice(0, at).split("/");
  return { replica: `${service}#${Number(index) + 1}`, node: key.slice(at + 1) };
}

export function ingressPlan(i: PlanInput): IngressPlanValue {
  const table = buildRouteTable(i.deployments, i.clusterPorts);
  const targets = new Map<string, { deployment: string; service: string; port: number }>();
  for (const r of table.l4) targets.set(targetKey(r.service, r.target), { deployment: r.service.deployment, service: r.service.service, port: r.target });
  for (const h of table.http) for (const r of h.routes) targets.set(targetKey(r.service, r.target), { deployment: r.service.deployment, service: r.service.service, port: r.target });
  const byService = new Map<string, ReplicaInput[]>();
  for (const r of i.replicas) {
    const k = `${r.deployment}/${r.service}`;
    let list = byService.get(k);
    if (!list) byService.set(k, (list = []));
    list.push(r);
  }
  const backends = new Map<string, BackendSpec<UpstreamSpec>[]>();
  for (const [key, t] of targets) {
    const specs: BackendSpec<UpstreamSpec>[] = [];
    for (const r of byService.get(`${t.deployment}/${t.service}`) ?? []) {
      const role = replicaRole(r);
      if (role === "out") continue;
      let target: UpstreamSpec | undefined;
      if (r.node === i.self) {
        if (r.localAddress) target = { host: r.localAddress, port: t.port };
      } else {
        const relay = i.relays.get(r.node);
        if (relay) target = { host: relay.host, port: relay.port, relay: relayTarget(r.deployment, r.service, r.index, t.port) };
      }
      if (target) specs.push({ key: replicaKey(r), state: role, target });
    }
    specs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    backends.set(key, specs);
  }
  return { table, backends };
}
