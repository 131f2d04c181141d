/**
 * The names the cluster resolver answers, built from the replicated state
 * (no network round trip): one endpoint per running container with its
 * address on each network. Lookup is scoped to the asker: a container sees
 * only endpoints that share a network with it, at their address on that
 * network, and only those running and healthy (or with no healthcheck). The
 * node itself (loopback, its own addresses) sees only fully qualified
 * `service.project` and container names; any other asker (a container on a
 * network that does not span the cluster) sees nothing of the cluster.
 *
 * Names, all case-insensitive:
 *   service, service.project        A per healthy replica; SRV (target = container name)
 *   container name (project-svc-N)  A
 *   network alias                   A (on the network that declares it)
 *   PTR for every container address
 */
import { containsIp, formatIp, type Cidr } from "./cidr.ts";

export interface DnsEndpoint {
  readonly project: string;
  readonly service: string;
  readonly containerName: string;
  /** Answered only when true: running, and healthy or without a healthcheck. */
  readonly ready: boolean;
  /** network name (project-scoped) → address, and the aliases declared on that network */
  readonly networks: readonly { readonly network: string; readonly address: number; readonly aliases: readonly string[] }[];
  /** The first exposed or published container port (SRV), 0 when none. */
  readonly port: number;
}

interface Entry {
  readonly ep: DnsEndpoint;
  readonly network: string;
  readonly address: number;
}

/** Network identity across projects: "project/network". */
function netKey(project: string, network: string): string {
  return `${project}/${network}`;
}

export interface DnsTable {
  /** name → entries (one per endpoint and network) */
  readonly names: ReadonlyMap<string, readonly Entry[]>;
  /** address → endpoint (askers and PTR) */
  readonly byAddress: ReadonlyMap<number, { readonly ep: DnsEndpoint; readonly network: string }>;
  /** names a host may ask for (fully qualified) */
  readonly qualified: ReadonlySet<string>;
  /** Each cluster network's subnet: an asker the table does not know yet is scoped to the network its address is on. */
  readonly subnets: readonly NetworkSubnet[];
  /** Addresses of this node itself: askers from them (and loopback) are hosts. */
  readonly local: ReadonlySet<number>;
}

export interface NetworkSubnet {
  readonly project: string;
  readonly network: string;
  readonly subnet: Cidr;
}

function add(m: Map<string, Entry[]>, name: string, e: Entry): void {
  const k = name.toLowerCase();
  const l = m.get(k);
  if (l) l.push(e);
  else m.set(k, [e]);
}

export function buildDnsTable(endpoints: readonly DnsEndpoint[], subnets: readonly NetworkSubnet[] = [], local: ReadonlySet<number> = new Set()): DnsTable {
  const names = new Map<string, Entry[]>();
  const byAddress = new Map<number, { ep: DnsEndpoint; network: string }>();
  const qualified = new Set<string>();
  for (const ep of endpoints) {
    for (const n of ep.networks) {
      const network = netKey(ep.project, n.network);
      byAddress.set(n.address, { ep, network });
      const e: Entry = { ep, network, address: n.address };
      add(names, ep.service, e);
      add(names, `${ep.service}.${ep.project}`, e);
      add(names, ep.containerName, e);
      for (const a of n.aliases) add(names, a, e);
    }
    qualified.add(`${ep.service}.${ep.project}`.toLowerCase());
    qualified.add(ep.containerName.toLowerCase());
  }
  return { names, byAddress, qualified, subnets, local };
}

const NONE: ReadonlySet<string> = new Set();

/**
 * The networks an asker is on: all of its container's, when the table has
 * its record; else (a container that started before its record reached this
 * node) the network whose subnet holds its address; undefined for a host
 * (this node's own addresses, loopback, or no address at all). Anyone else
 * (a container on a network that does not span the cluster) is on none.
 */
function askerNetworks(t: DnsTable, askerIp: number | undefined): ReadonlySet<string> | undefined {
  if (askerIp === undefined) return undefined;
  const asker = t.byAddress.get(askerIp);
  if (asker) return new Set(asker.ep.networks.map((n) => netKey(asker.ep.project, n.network)));
  const s = t.subnets.find((x) => containsIp(x.subnet, askerIp));
  if (s) return new Set([netKey(s.project, s.network)]);
  if (askerIp >>> 24 === 127 || t.local.has(askerIp)) return undefined;
  return NONE;
}

export interface Found {
  readonly address: number;
  readonly containerName: string;
  readonly port: number;
}

export type Lookup = { readonly kind: "found"; readonly records: readonly Found[] } | { readonly kind: "not-ours" };

/**
 * What `name` means to the asker at `askerIp`. "found" with no records means
 * the name is the cluster's but no replica is ready (the answer is an empty
 * NOERROR, never a stale address, and never a forward that could leak it).
 */
export function lookupName(t: DnsTable, name: string, askerIp: number | undefined): Lookup {
  const q = name.toLowerCase().replace(/\.$/, "");
  const entries = t.names.get(q);
  if (!entries) return { kind: "not-ours" };
  const mine = askerNetworks(t, askerIp);
  let visible: readonly Entry[];
  if (mine) {
    visible = entries.filter((e) => mine.has(e.network));
  } else {
    visible = t.qualified.has(q) ? entries : [];
  }
  if (visible.length === 0) return { kind: "not-ours" };
  const seen = new Set<number>();
  const records: Found[] = [];
  for (const e of visible) {
    if (!e.ep.ready || seen.has(e.address)) continue;
    seen.add(e.address);
    records.push({ address: e.address, containerName: e.ep.containerName, port: e.ep.port });
  }
  records.sort((a, b) => a.address - b.address);
  return { kind: "found", records };
}

/** PTR: the container name for an address, if the asker may see it. */
export function lookupAddress(t: DnsTable, ip: number, askerIp: number | undefined): string | undefined {
  const hit = t.byAddress.get(ip);
  if (!hit) return undefined;
  const mine = askerNetworks(t, askerIp);
  if (mine && !mine.has(hit.network)) return undefined;
  return hit.ep.containerName;
}

/** "4.3.2.1.in-addr.arpa" → 1.2.3.4 as a number; undefined for anything else. */
export function parseReverseName(name: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa\.?$/i.exec(name);
  if (!m) return undefined;
  const o = [m[4], m[3], m[2], m[1]].map(Number);
  if (o.some((x) => x > 255)) return undefined;
  return ((o[0]! << 24) >>> 0) + (o[1]! << 16) + (o[2]! << 8) + o[3]!;
}

export function reverseName(ip: number): string {
  return formatIp(ip).split(".").reverse().join(".") + ".in-addr.arpa";
}
