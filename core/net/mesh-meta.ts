/**
 * What a node tells the cluster about its end of the mesh, carried in its
 * gossiped SWIM metadata (labels + named ports), so a joining node's peers
 * learn its key and endpoint with the same alive message that announces it:
 *
 *   label io.fizz.mesh.driver   wireguard | vxlan
 *   label io.fizz.mesh.impl     kernel | wireguard-go   (which WireGuard it runs)
 *   label io.fizz.mesh.key      WireGuard public key, base64 (never the private key)
 *   label io.fizz.mesh.mtu      the node's underlay MTU
 *   label io.fizz.mesh.host     endpoint host, when it differs from the gossip address
 *   port  mesh                  UDP port of the WireGuard / VXLAN endpoint
 *
 * A node without the mesh (tools missing) sends none of these and runs only
 * single-node workloads; its peers see `driver: none`.
 */

export const MESH_LABEL_PREFIX = "io.fizz.mesh.";
export const MESH_PORT_NAME = "mesh";
export const MESH_DRIVERS = ["wireguard", "vxlan"] as const;
export type MeshDriver = (typeof MESH_DRIVERS)[number];
export const WG_IMPLS = ["kernel", "wireguard-go"] as const;
export type WgImpl = (typeof WG_IMPLS)[number];

export interface MeshMeta {
  readonly driver: MeshDriver;
  /** For wireguard: which implementation runs the interface. */
  readonly impl?: WgImpl;
  /** For wireguard: the public key (base64 of 32 bytes). */
  readonly publicKey?: string;
  readonly port: number;
  readonly underlayMtu: number;
  /** Endpoint host when not the host of the node's gossip address. */
  readonly host?: string;
}

const KEY_RE = /^[A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]=$/;

export function isWgPublicKey(s: string): boolean {
  return KEY_RE.test(s);
}

/** Labels and ports to merge into the node's SWIM metadata. */
export function meshMetaFields(m: MeshMeta): { labels: Record<string, string>; ports: Record<string, number> } {
  const labels: Record<string, string> = { [`${MESH_LABEL_PREFIX}driver`]: m.driver, [`${MESH_LABEL_PREFIX}mtu`]: String(m.underlayMtu) };
  if (m.impl) labels[`${MESH_LABEL_PREFIX}impl`] = m.impl;
  if (m.publicKey) labels[`${MESH_LABEL_PREFIX}key`] = m.publicKey;
  if (m.host) labels[`${MESH_LABEL_PREFIX}host`] = m.host;
  return { labels, ports: { [MESH_PORT_NAME]: m.port } };
}

export type MeshMetaRead = { readonly ok: true; readonly value: MeshMeta } | { readonly ok: false; readonly reason: string };

/** Reads a member's mesh metadata; `reason` says why the member cannot be a peer. */
export function readMeshMeta(labels: Readonly<Record<string, string>>, ports: Readonly<Record<string, number>>): MeshMetaRead {
  const get = (k: string): string | undefined => (Object.prototype.hasOwnProperty.call(labels, MESH_LABEL_PREFIX + k) ? labels[MESH_LABEL_PREFIX + k] : undefined);
  const driver = get("driver");
  if (driver === undefined) return { ok: false, reason: "runs no mesh (WireGuard tools missing or mesh disabled)" };
  if (!(MESH_DRIVERS as readonly string[]).includes(driver)) return { ok: false, reason: `unknown mesh driver ${JSON.stringify(driver.slice(0, 40))}` };
  const port = Object.prototype.hasOwnProperty.call(ports, MESH_PORT_NAME) ? ports[MESH_PORT_NAME]! : undefined;
  if (port === undefined || !Number.isInteger(port) || port < 1 || port > 65535) return { ok: false, reason: "advertises no mesh port" };
  const mtu = Number(get("mtu"));
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 65535) return { ok: false, reason: `invalid underlay MTU ${JSON.stringify(get("mtu"))}` };
  const host = get("host");
  if (driver === "vxlan") return { ok: true, value: { driver, port, underlayMtu: mtu, ...(host ? { host } : {}) } };
  const key = get("key");
  if (!key || !isWgPublicKey(key)) return { ok: false, reason: "advertises no valid WireGuard public key" };
  const impl = get("impl");
  return {
    ok: true,
    value: { driver: "wireguard", publicKey: key, port, underlayMtu: mtu, ...(impl && (WG_IMPLS as readonly string[]).includes(impl) ? { impl: impl as WgImpl } : {}), ...(host ? { host } : {}) },
  };
}

/** Labels without the mesh's own (what placement constraints and `fizz nodes` LABELS should see). */
export function withoutMeshLabels(labels: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(labels)) if (!k.startsWith(MESH_LABEL_PREFIX)) out[k] = v;
  return out;
}
