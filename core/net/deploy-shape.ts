/**
 * A deployment's desired state on one cluster node, shaped for the mesh:
 * which of its networks span the cluster, the address each of this node's
 * replicas asks for on them (`addressWants`, fed to assignAddresses), and the
 * desired state with those answers folded in (`shapeDeployment`): each
 * spanning network as core/net/engine-network.ts describes it, each replica's
 * addresses by number, each service's endpoints without engine aliases and
 * its containers pointed at the cluster resolver.
 *
 * A network spans the cluster when Fizz creates it (not `external`) with the
 * bridge driver (or none named; `overlay` is read as "span the cluster"). An
 * engine network of that name that already exists with another shape (made
 * before this node joined a cluster, or by hand) is left as it is: its
 * containers stay reachable on this node only, and a warning says how to
 * make it span (recreating a network under running containers is not
 * something a reconcile pass should do on its own).
 */
import type { ServiceTemplate } from "../deploy/container-spec.ts";
import type { ActualState, DesiredNetwork, DesiredProject, DesiredService } from "../reconcile/types.ts";
import { formatCidr, formatIp, parseCidr, parseIp, type Cidr } from "./cidr.ts";
import { netOwner, slicesOf } from "./claims.ts";
import { clusterDns, clusterEndpoint, clusterNetwork } from "./engine-network.ts";
import { bridgeName } from "./ipam.ts";
import { wantId, type AssignResult, type Want } from "./assign.ts";

/** Label on every network shaped for the cluster: the subnet it was made with. */
export const CLUSTER_SUBNET_LABEL = "io.fizz.cluster-subnet";

const SPANNING_DRIVERS: ReadonlySet<string> = new Set(["bridge", "overlay"]);

export interface SpanDecision {
  /** Networks (by compose key) shaped for the cluster. */
  readonly spanning: readonly DesiredNetwork[];
  /** Networks left to the engine on this node, and why (shown as warnings). */
  readonly local: readonly { readonly key: string; readonly why: string }[];
}

/** The compose subnet a network asks for (ipam.config[0].subnet), when it is IPv4. */
export function requestedSubnet(n: DesiredNetwork): Cidr | undefined {
  const s = (n.ipam as { config?: { subnet?: string }[] } | undefined)?.config?.[0]?.subnet;
  if (!s || s.includes(":")) return undefined;
  const r = parseCidr(s);
  return r.ok ? r.value : undefined;
}

/** Which networks of the deployment span the cluster on this node (see the header). */
export function spanningNetworks(desired: DesiredProject, actual: Pick<ActualState, "networks">): SpanDecision {
  const spanning: DesiredNetwork[] = [];
  const local: { key: string; why: string }[] = [];
  for (const n of desired.networks) {
    if (n.external) continue;
    if (n.driver && !SPANNING_DRIVERS.has(n.driver)) {
      local.push({ key: n.key, why: `network ${n.key} uses the ${n.driver} driver: it stays on each node (only bridge networks span the cluster)` });
      continue;
    }
    const found = actual.networks.find((a) => a.name === n.name);
    if (found && found.subnet !== undefined && found.clusterSubnet === undefined) {
      local.push({
        key: n.key,
        why: `network ${n.name} exists on this node from before it joined the cluster (${found.subnet}): its containers here are reached from this node only; \`fizz down\` then \`fizz up\` makes it span the cluster`,
      });
      continue;
    }
    spanning.push(n);
  }
  return { spanning, local };
}

/** The want key of replica `number` of `service`: stable across restarts and passes. */
export function replicaKey(deploymentId: string, service: string, number: number): string {
  return `${deploymentId}/${service}/${number}`;
}

/** The container numbers of a service that run on this node. */
export function numbersHere(svc: DesiredService): number[] {
  if (svc.numbers) return [...svc.numbers];
  return Array.from({ length: svc.replicas }, (_, i) => i + 1);
}

/**
 * What to ask assignAddresses for: one want per replica placed here and per
 * spanning network it attaches to, with its ipv4_address and the address its
 * running container has.
 */
export function addressWants(deploymentId: string, desired: DesiredProject<ServiceTemplate>, actual: Pick<ActualState, "containers">, spanning: readonly DesiredNetwork[]): Want[] {
  const byKey = new Map(spanning.map((n) => [n.key, n]));
  const out: Want[] = [];
  for (const svc of desired.services) {
    const nets = svc.networks.map((k) => byKey.get(k)).filter((n): n is DesiredNetwork => n !== undefined);
    if (nets.length === 0) continue;
    const attach = new Map((svc.create?.networks ?? []).map((a) => [a.name, a.endpoint]));
    for (const number of numbersHere(svc)) {
      const running = actual.containers.find((c) => c.service === svc.name && c.number === number && c.state !== "removing");
      for (const n of nets) {
        const fixedText = attach.get(n.name)?.IPAMConfig?.IPv4Address;
        const fixed = fixedText === undefined ? undefined : parseIp(fixedText);
        const currentText = running?.addresses?.[n.name];
        const current = currentText === undefined ? undefined : parseIp(currentText);
        const subnet = requestedSubnet(n);
        out.push({
          key: replicaKey(deploymentId, svc.name, number),
          service: svc.name,
          network: { deploymentId, name: n.key, ...(subnet ? { subnet } : {}) },
          ...(fixed !== undefined ? { fixed } : {}),
          ...(current !== undefined ? { current } : {}),
        });
      }
    }
  }
  return out;
}

export interface ShapeOptions {
  readonly deploymentId: string;
  readonly nodeId: string;
  /** The mesh MTU (underlay − 80). */
  readonly mtu: number;
}

/**
 * The desired state with the assignment folded in. Call only when
 * `assigned.errors` is empty: a replica without an address would be created
 * by the engine's own IPAM, outside this node's slices.
 */
export function shapeDeployment(desired: DesiredProject<ServiceTemplate>, spanning: readonly DesiredNetwork[], assigned: AssignResult, o: ShapeOptions): DesiredProject<ServiceTemplate> {
  const subnets = new Map<string, Cidr>();
  const networks = desired.networks.map((n) => {
    if (!spanning.some((s) => s.key === n.key)) return n;
    const subnet = assigned.plan.subnets.get(netOwner(o.deploymentId, n.key));
    if (!subnet) return n;
    subnets.set(n.name, subnet);
    const shaped = clusterNetwork(n, bridgeName(o.deploymentId, n.key), subnet, slicesOf(assigned.plan, subnet, o.nodeId), o.mtu);
    return { ...shaped, labels: { ...(shaped.labels ?? {}), [CLUSTER_SUBNET_LABEL]: formatCidr(subnet) } };
  });
  const keyOf = new Map(desired.networks.map((n) => [n.name, n.key]));
  const services = desired.services.map((svc) => {
    const t = svc.create;
    if (!t || !t.networks.some((a) => subnets.has(a.name))) return svc;
    const addresses: Record<number, Record<string, string>> = {};
    for (const number of numbersHere(svc)) {
      const mine: Record<string, string> = {};
      for (const a of t.networks) {
        if (!subnets.has(a.name)) continue;
        const ip = assigned.addresses.get(wantId({ key: replicaKey(o.deploymentId, svc.name, number), network: { name: keyOf.get(a.name) ?? a.name } } as Want));
        if (ip !== undefined) mine[a.name] = formatIp(ip);
      }
      addresses[number] = mine;
    }
    const first = t.networks.find((a) => subnets.has(a.name))!;
    const userDns = t.body.HostConfig?.Dns ?? [];
    const withDns = clusterDns(t.body.HostConfig ?? {}, subnets.get(first.name)!);
    const create: ServiceTemplate = {
      ...t,
      // Our resolver first; a `dns:` the file sets stays as the fallback.
      body: { ...t.body, HostConfig: { ...withDns, Dns: [...(withDns.Dns ?? []), ...userDns.filter((d) => !(withDns.Dns ?? []).includes(d))] } },
      networks: t.networks.map((a) => (subnets.has(a.name) ? { name: a.name, endpoint: clusterEndpoint(a.endpoint) } : a)),
    };
    return { ...svc, create, addresses };
  });
  return { ...desired, networks, services };
}

