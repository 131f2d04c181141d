/**
 * One node's address pass, level-triggered: from the replicated claim table
 * and the containers this node should run, the claims to write, the claims to
 * release, and an address per container on each of its networks. The mesh
 * controller runs it whenever the table or the node's workload changes and
 * writes what it returns; a container whose address changed is recreated by
 * its node, and that is the only thing that ever moves.
 *
 *  - a claim this node owns that lost (resolveClaims) is released;
 *  - the node holds one mesh address;
 *  - each network it serves has a subnet (claimed here if nobody has yet: any
 *    node may write it; the same network always asks for the same block first);
 *  - a container keeps its current address while the node's slices hold it
 *    (restarts and re-adoption change nothing); else it gets its fixed
 *    `ipv4_address`, or the first free address from its replica key's hash,
 *    claiming another slice when the node's are full (from the node's rank
 *    among the members when the caller gives them: concurrent claims with
 *    one membership view never collide).
 */
import type { Dict, HlcString } from "../crdt/index.ts";
import type { IpClaim } from "../state/schema.ts";
import { FizzError } from "../errors.ts";
import { formatCidr, type Cidr } from "./cidr.ts";
import { netOwner, nodeOwner, resolveClaims, slicesOf, type ClaimPlan } from "./claims.ts";
import type { IpamConfig } from "./ipam-config.ts";
import { checkFixedAddress, nodeMayUse, pickAddress, pickNodeAddress, pickSlice, pickSubnet, type NewClaim } from "./ipam.ts";

export interface NetworkRef {
  readonly deploymentId: string;
  readonly name: string;
  /** ipam.config[0].subnet, when the compose file names one. */
  readonly subnet?: Cidr;
}

export interface Want {
  /** Unique per container on this node, stable across restarts: deployment/service/index. */
  readonly key: string;
  readonly service: string;
  readonly network: NetworkRef;
  /** ipv4_address from the compose file. */
  readonly fixed?: number;
  /** The address the running container has now, if any. */
  readonly current?: number;
}

export interface AssignResult {
  /** Claims to merge into the table (new or released), keyed by CIDR. */
  readonly writes: Readonly<Record<string, IpClaim>>;
  /** want key + "@" + network name → address */
  readonly addresses: ReadonlyMap<string, number>;
  /** want key + "@" + network name → why it has no address */
  readonly errors: ReadonlyMap<string, FizzError>;
  /** This node's mesh address (undefined only when the node block is full). */
  readonly nodeAddress: number | undefined;
  /** The plan after the writes. */
  readonly plan: ClaimPlan;
}

export function wantId(w: Want): string {
  return `${w.key}@${w.network.name}`;
}

export interface AssignOptions {
  /**
   * The members as this node sees them (every one that has not left, self
   * included). New slices come from the node's rank among them
   * (ipam.ts preferredSlices), so nodes that claim at the same moment with
   * the same view never take the same slice; without it, from a hash.
   */
  readonly members?: readonly string[];
}

/**
 * `stamp()` gives a fresh HLC timestamp for each claim written (the node's
 * clock); `table` is the current replicated `ips` table.
 */
export function assignAddresses(table: Dict<IpClaim>, cfg: IpamConfig, nodeId: string, wants: readonly Want[], stamp: () => HlcString, opts: AssignOptions = {}): AssignResult {
  const members = opts.members;
  const work: Record<string, IpClaim> = Object.assign(Object.create(null) as Record<string, IpClaim>, table);
  const writes: Record<string, IpClaim> = Object.create(null) as Record<string, IpClaim>;
  const errors = new Map<string, FizzError>();
  const addresses = new Map<string, number>();
  let plan = resolveClaims(work, cfg);

  const put = (key: string, claim: IpClaim): void => {
    work[key] = claim;
    writes[key] = claim;
  };
  const claim = (c: NewClaim): void => {
    const cur = work[c.key];
    put(c.key, { epoch: cur ? cur.epoch + 1 : 0, owner: c.owner, ts: stamp(), released: false });
    plan = resolveClaims(work, cfg);
  };

  // Release what this node owns and lost, and subnet claims of its networks that lost.
  const mine = nodeOwner(nodeId);
  const myNets = new Set(wants.map((w) => netOwner(w.network.deploymentId, w.network.name)));
  let released = false;
  for (const l of plan.lost) {
    if (l.owner !== mine && !myNets.has(l.owner)) continue;
    const cur = work[l.key];
    if (cur && !cur.released) {
      put(l.key, { ...cur, released: true });
      released = true;
    }
  }
  if (released) plan = resolveClaims(work, cfg);

  const na = pickNodeAddress(plan, cfg, nodeId);
  let nodeAddress: number | undefined;
  if (na.ok) {
    if (typeof na.value === "number") nodeAddress = na.value;
    else {
      claim(na.value);
      nodeAddress = na.value.cidr.base;
    }
  }

  const subnets = new Map<string, Cidr>();
  for (const w of wants) {
    const owner = netOwner(w.network.deploymentId, w.network.name);
    if (subnets.has(owner)) continue;
    const p = pickSubnet(plan, cfg, w.network.deploymentId, w.network.name, w.network.subnet);
    if (!p.ok) {
      for (const x of wants) if (x.network.deploymentId === w.network.deploymentId && x.network.name === w.network.name) errors.set(wantId(x), p.error);
      subnets.set(owner, undefined as unknown as Cidr);
      continue;
    }
    if ("key" in p.value) {
      claim(p.value);
      subnets.set(owner, p.value.cidr);
    } else subnets.set(owner, p.value);
  }

  const used = new Map<string, Set<number>>();
  const usedIn = (s: Cidr): Set<number> => {
    const k = formatCidr(s);
    let u = used.get(k);
    if (!u) used.set(k, (u = new Set()));
    return u;
  };
  // Keep first: every container whose address still holds keeps it, before any that must move picks
  // one (else a mover could take the address of a keeper later in the order, and move it too).
  const ordered = [...wants].sort((a, b) => Number(b.current !== undefined) - Number(a.current !== undefined) || (wantId(a) < wantId(b) ? -1 : 1));
  const kept = new Map<string, number>();
  for (const w of ordered) {
    const subnet = subnets.get(netOwner(w.network.deploymentId, w.network.name));
    if (!subnet || errors.has(wantId(w))) continue;
    const u = usedIn(subnet);
    if (w.current !== undefined && !u.has(w.current) && nodeMayUse(plan, subnet, nodeId, w.current) && (w.fixed === undefined || w.fixed === w.current)) {
      u.add(w.current);
      kept.set(wantId(w), w.current);
    }
  }
  for (const w of ordered) {
    const id = wantId(w);
    if (errors.has(id)) continue;
    const keep = kept.get(id);
    if (keep !== undefined) {
      addresses.set(id, keep);
      continue;
    }
    const subnet = subnets.get(netOwner(w.network.deploymentId, w.network.name));
    if (!subnet) continue;
    const u = usedIn(subnet);
    if (w.current !== undefined && !u.has(w.current) && nodeMayUse(plan, subnet, nodeId, w.current) && (w.fixed === undefined || w.fixed === w.current)) {
      u.add(w.current);
      addresses.set(id, w.current);
      continue;
    }
    if (w.fixed !== undefined) {
      const bad = checkFixedAddress(subnet, w.fixed, w.network.name, w.service);
      if (bad) {
        errors.set(id, bad);
        continue;
      }
      if (u.has(w.fixed)) {
        errors.set(id, fixedTwice(w));
        continue;
      }
      if (!nodeMayUse(plan, subnet, nodeId, w.fixed)) {
        const s = pickSlice(plan, cfg, subnet, nodeId, w.network.name, { want: w.fixed });
        if (!s.ok) {
          errors.set(id, s.error);
          continue;
        }
        claim(s.value);
      }
      u.add(w.fixed);
      addresses.set(id, w.fixed);
      continue;
    }
    let ip = pickAddress(plan, subnet, nodeId, w.key, u);
    // Claim slices until one has a usable address (a tiny subnet's first slice may hold only its network and gateway).
    while (ip === undefined) {
      const s = pickSlice(plan, cfg, subnet, nodeId, w.network.name, members ? { members } : {});
      if (!s.ok) {
        errors.set(id, s.error);
        break;
      }
      const had = slicesOf(plan, subnet, nodeId).length;
      claim(s.value);
      if (slicesOf(plan, subnet, nodeId).length === had) break; // the claim did not take: never loop on it
      ip = pickAddress(plan, subnet, nodeId, w.key, u);
    }
    if (ip === undefined) continue;
    u.add(ip);
    addresses.set(id, ip);
  }
  return { writes, addresses, errors, nodeAddress, plan };
}

function fixedTwice(w: Want): FizzError {
  return new FizzError({
    code: "net.address_in_use",
    message: `ipv4_address of service ${w.service} on network ${w.network.name} is already used by another container on this node`,
    hint: "a fixed ipv4_address fits a service with one replica; remove it or scale the service to 1",
  });
}
