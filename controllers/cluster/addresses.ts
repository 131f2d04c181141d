/** The addresses membership works with: seeds, bind and advertise (host:port, default port 7946). */
import { parseHostPort, withDefaultPort as withPort } from "../../core/address.ts";
import type { SeedAddress } from "../../core/cluster-crypto/index.ts";
import { FizzError } from "../../core/errors.ts";

export const DEFAULT_CLUSTER_PORT = 7946;

/** `127.0.0.11` → `127.0.0.11:7946`; `::1` → `[::1]:7946`; ports kept. */
export function withDefaultPort(addr: string, port = DEFAULT_CLUSTER_PORT): string {
  return withPort(addr, port);
}

export function splitHostPort(addr: string): SeedAddress {
  const r = parseHostPort(addr, { allowZero: true });
  if (!r.ok) throw new FizzError({ code: "cluster.bad_address", message: `'${addr}' is not <host>:<port>: ${r.why}`, status: 400 });
  return r.value;
}

/**
 * A concrete address peers can reach when bound to a wildcard: the first
 * non-internal IPv4, else loopback. Undefined for a concrete bind address
 * (the node then advertises what it bound, which also resolves port 0).
 */
export async function guessAdvertise(bind: string): Promise<string | undefined> {
  const { host, port } = splitHostPort(bind);
  if (host !== "0.0.0.0" && host !== "::") return undefined;
  const { networkInterfaces } = await import("node:os");
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (i.family === "IPv4" && !i.internal) return `${i.address}:${port}`;
  }
  return `127.0.0.1:${port}`;
}
