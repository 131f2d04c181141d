/**
 * This host's own IPv4 addresses and interfaces, as the kernel reports them
 * now (a bridge the engine just created shows up here): where the resolver
 * may bind, which askers are the node itself, which bridges exist.
 */
import { readFileSync } from "node:fs";
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

/**
 * Whether a network interface of that name exists here, up or down (an
 * engine's bridge with no running container is down). Read from
 * /proc/self/net/dev, which lists this process's network namespace;
 * /sys/class/net shows the namespace of whoever mounted sysfs, which for an
 * agent started with `nsenter --net` (the test harness, some service
 * managers) is the host's: there a bridge made in the agent's namespace never
 * appeared, and proxy ARP was never turned on. (node:os networkInterfaces
 * leaves out interfaces that are down.)
 */
export function interfaceExists(name: string): boolean {
  if (!/^[A-Za-z0-9_.-]{1,15}$/.test(name)) return false;
  try {
    return new RegExp(`^\\s*${name.replace(/\./g, "\\.")}:`, "m").test(readFileSync("/proc/self/net/dev", "utf8"));
  } catch {
    return false;
  }
}
