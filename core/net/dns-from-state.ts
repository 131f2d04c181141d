/**
 * The cluster resolver's endpoints from the replicated state: every
 * container record that carries addresses (the node running it writes them),
 * named as Compose names containers (`<project>-<service>-<n>`, n = index + 1),
 * with the aliases its service declares on each network (from the
 * deployment's normalised spec) and the first exposed or published container
 * port for SRV. Ready = running without a healthcheck, or healthy: what the
 * resolver answers; records of other states stay in the table (for PTR and
 * scoping) but are never answered. Nor are the records of nodes that are
 * dead or gone (`goneNodes`): nobody updates those any more, and their
 * replicas are being started elsewhere.
 */
import type { ClusterState } from "../state/cluster-state.ts";
import type { ContainerRecord, DeploymentRecord } from "../state/schema.ts";
import { containsIp, parseIp } from "./cidr.ts";
import type { DnsEndpoint, NetworkSubnet } from "./dns-records.ts";

interface SpecService {
  readonly networks?: Readonly<Record<string, { readonly aliases?: readonly string[] } | null>>;
  readonly expose?: readonly string[];
  readonly ports?: readonly { readonly target: number }[];
}

function serviceOf(d: DeploymentRecord | undefined, service: string): SpecService | undefined {
  const spec = d?.spec as { services?: Record<string, SpecService> } | undefined;
  const s = spec?.services;
  return s && Object.prototype.hasOwnProperty.call(s, service) ? s[service] : undefined;
}

function portOf(s: SpecService | undefined): number {
  const e = s?.expose?.[0];
  if (e) {
    const n = Number(/^(\d+)/.exec(e)?.[1]);
    if (Number.isInteger(n) && n > 0 && n < 65536) return n;
  }
  return s?.ports?.[0]?.target ?? 0;
}

export function isReady(r: ContainerRecord): boolean {
  return r.status === "healthy" || (r.status === "running" && r.health === "none");
}

/**
 * With `subnets` (every cluster network's subnet), an address is kept only
 * when it is in its network's cluster subnet: a record may also carry the
 * engine-local address of a network that does not span the cluster, which
 * nobody on another node could reach.
 */
export function dnsEndpointsFromState(state: ClusterState, subnets?: readonly NetworkSubnet[], goneNodes: ReadonlySet<string> = new Set()): DnsEndpoint[] {
  const bySubnet = subnets ? new Map(subnets.map((x) => [`${x.project}/${x.network}`, x.subnet])) : undefined;
  const out: DnsEndpoint[] = [];
  for (const k of Object.keys(state.containers)) {
    const e = state.containers[k]!;
    if (e.deleted) continue;
    const r = e.value;
    const addresses = r.addresses;
    if (!addresses) continue;
    const dep = state.deployments[r.deploymentId];
    const d = dep && !dep.deleted ? dep.value : undefined;
    if (!d) continue;
    const svc = serviceOf(d, r.service);
    const networks: DnsEndpoint["networks"][number][] = [];
    for (const [network, ip] of Object.entries(addresses)) {
      const address = parseIp(ip);
      if (address === undefined) continue;
      if (bySubnet) {
        const sub = bySubnet.get(`${d.project}/${network}`);
        if (!sub || !containsIp(sub, address)) continue;
      }
      const cfg = svc?.networks?.[network];
      networks.push({ network, address, aliases: [...(cfg?.aliases ?? [])] });
    }
    out.push({ project: d.project, service: r.service, containerName: `${d.project}-${r.service}-${r.index + 1}`, ready: isReady(r) && !goneNodes.has(r.nodeId), networks, port: portOf(svc) });
  }
  return out;
}
