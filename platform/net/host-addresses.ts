/**
 * This host's own IPv4 addresses and interfaces, as the kernel reports them
 * now (a bridge the engine just created shows up here): where the resolver
 * may bind, which askers are the node itself, which bridges exist.
 */
import { existsSync } from "node:fs";
import { networkInterfaces } from "node:os";
import { parseIp } from "../../core/net/cidr.ts";

/** Every IPv4 address on an interface of this host (network namespace). */
export function hostAddresses(): Set<number> {
  const out = new Set<number>();
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family !== "IPv4" && (a.family as unknown) !== 4) continue;
      const n = parseIp(a.address);
      if (n !== undefined) out.add(n);
    }
  }
  return out;
}

/** Whether a network interface of that name exists here. */
export function interfaceExists(name: string): boolean {
  return /^[A-Za-z0-9_.-]{1,15}$/.test(name) && existsSync(`/sys/class/net/${name}`);
}
