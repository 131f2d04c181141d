/**
 * The mesh one node should have, as a pure function of membership (who is
 * alive, with which key and endpoint: SWIM metadata, mesh-meta.ts) and the
 * address plan (which blocks each node holds: claims.ts). Peers follow
 * membership: alive and suspect members are peers (a suspect one may only be
 * slow), dead and departed ones are not, and a returning member's new key
 * replaces the old. Each peer's allowed IPs are exactly the blocks it holds,
 * so WireGuard's cryptokey routing also refuses spoofed sources.
 *
 * The MTU is computed, not guessed: the smallest underlay MTU any live member
 * reports, minus the encapsulation (80 bytes for WireGuard over IPv6 or IPv4,
 * 50 for VXLAN), so every node picks the same value and no peer's packets
 * need fragmenting on the smallest link.
 */
import { formatCidr, type Cidr } from "./cidr.ts";
import { blocksOfNode, type ClaimPlan } from "./claims.ts";
import type { MeshDriver, MeshMeta } from "./mesh-meta.ts";

export const OVERHEAD: Readonly<Record<MeshDriver, number>> = { wireguard: 80, vxlan: 50 };
/** Below this the mesh still works, but IPv6 inside it would not: `fizz nodes` warns. */
export const MIN_SAFE_MTU = 1280;

export interface MeshMember {
  readonly id: string;
  readonly state: "alive" | "suspect" | "dead" | "left";
  /** The member's gossip address, host:port (the endpoint host unless meta.host says otherwise). */
  readonly address: string;
  readonly meta: MeshMeta | undefined;
  /** Why `meta` is missing, when it is. */
  readonly metaProblem?: string;
}

export interface PlannedPeer {
  readonly id: string;
  readonly publicKey?: string;
  /** host:port of its mesh endpoint. */
  readonly endpoint: string;
  readonly allowedIps: readonly string[];
  readonly suspect: boolean;
}

export interface MeshPlan {
  readonly driver: MeshDriver;
  /** This node's mesh address as a /32, when it holds one. */
  readonly address: string | undefined;
  readonly mtu: number;
  readonly peers: readonly PlannedPeer[];
  /** Blocks reached through the mesh interface (every peer's blocks). */
  readonly routes: readonly string[];
  /** Members that are alive but cannot be peers, and why. */
  readonly excluded: readonly { readonly id: string; readonly reason: string }[];
  readonly warnings: readonly string[];
}

export function endpointHost(address: string): string {
  // host:port, with [v6]:port allowed.
  const i = address.lastIndexOf(":");
  const host = i < 0 ? address : address.slice(0, i);
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function formatEndpoint(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

export function meshPlan(selfId: string, driver: MeshDriver, selfUnderlayMtu: number, members: readonly MeshMember[], claims: ClaimPlan): MeshPlan {
  const excluded: { id: string; reason: string }[] = [];
  const peers: PlannedPeer[] = [];
  const routes: string[] = [];
  const warnings: string[] = [];
  let minMtu = selfUnderlayMtu;
  for (const m of [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
    if (m.id === selfId || (m.state !== "alive" && m.state !== "suspect")) continue;
    if (!m.meta) {
      excluded.push({ id: m.id, reason: m.metaProblem ?? "runs no mesh" });
      continue;
    }
    if (m.meta.driver !== driver) {
      excluded.push({ id: m.id, reason: `runs the ${m.meta.driver} mesh driver, this node runs ${driver}` });
      continue;
    }
    minMtu = Math.min(minMtu, m.meta.underlayMtu);
    const blocks = blocksOfNode(claims, m.id).map((c: Cidr) => formatCidr(c));
    peers.push({
      id: m.id,
      ...(m.meta.publicKey ? { publicKey: m.meta.publicKey } : {}),
      endpoint: formatEndpoint(m.meta.host ?? endpointHost(m.address), m.meta.port),
      allowedIps: blocks,
      suspect: m.state === "suspect",
    });
    routes.push(...blocks);
  }
  const mtu = minMtu - OVERHEAD[driver];
  if (mtu < MIN_SAFE_MTU) warnings.push(`mesh MTU ${mtu} is below ${MIN_SAFE_MTU} (smallest underlay MTU ${minMtu} minus ${OVERHEAD[driver]}); IPv6 inside the mesh will not work`);
  const self = claims.nodeAddresses.get(selfId);
  return {
    driver,
    address: self === undefined ? undefined : formatCidr({ base: self, prefix: 32 }),
    mtu,
    peers,
    routes: routes.sort(),
    excluded,
    warnings,
  };
}

/** What the node has now (read back from `wg show dump` and `ip route`). */
export interface MeshActual {
  readonly peers: readonly { readonly publicKey: string; readonly endpoint: string | undefined; readonly allowedIps: readonly string[] }[];
  readonly routes: readonly string[];
}

export type MeshAction =
  | { readonly kind: "set-peer"; readonly publicKey: string; readonly endpoint: string; readonly allowedIps: readonly string[] }
  | { readonly kind: "remove-peer"; readonly publicKey: string }
  | { readonly kind: "add-route"; readonly cidr: string }
  | { readonly kind: "remove-route"; readonly cidr: string };

/**
 * What the mesh interface holds once `plan` has been applied: `meshDiff(plan,
 * meshApplied(plan))` is empty. Between full converges, the next plan is
 * diffed against this instead of reading the interface back (`wg show`,
 * `ip route`: two processes per converge).
 */
export function meshApplied(plan: MeshPlan): MeshActual {
  return {
    peers: plan.peers.flatMap((p) => (p.publicKey ? [{ publicKey: p.publicKey, endpoint: p.endpoint, allowedIps: p.allowedIps }] : [])),
    routes: plan.routes,
  };
}

/** The WireGuard and route changes that take `actual` to `plan` (peers set before routes added, routes removed before peers). */
export function meshDiff(plan: MeshPlan, actual: MeshActual): MeshAction[] {
  const out: MeshAction[] = [];
  const want = new Map(plan.peers.filter((p) => p.publicKey).map((p) => [p.publicKey!, p]));
  const have = new Map(actual.peers.map((p) => [p.publicKey, p]));
  const wantRoutes = new Set(plan.routes);
  for (const r of actual.routes) if (!wantRoutes.has(r)) out.push({ kind: "remove-route", cidr: r });
  for (const [k] of have) if (!want.has(k)) out.push({ kind: "remove-peer", publicKey: k });
  for (const [k, p] of want) {
    const h = have.get(k);
    const same = h && h.endpoint === p.endpoint && [...h.allowedIps].sort().join(",") === [...p.allowedIps].sort().join(",");
    if (!same) out.push({ kind: "set-peer", publicKey: k, endpoint: p.endpoint, allowedIps: p.allowedIps });
  }
  const haveRoutes = new Set(actual.routes);
  for (const r of plan.routes) if (!haveRoutes.has(r)) out.push({ kind: "add-route", cidr: r });
  return out;
}
