/**
 * CPU time used by a harness cluster's hosts, read from /proc: per host and
 * process kind (dockerd, containerd, containerd-shim, the agent as fizz or
 * bun, wireguard-go, other), its own and, apart as `<kind>-children`, that of
 * the children it reaped (iptables, runc, dockerd's re-execs, ip, wg). Take
 * one reading before and one after what is measured; `cpuDelta` prints the
 * difference, `cpuTotal` sums it.
 */
import { readdirSync, readFileSync } from "node:fs";
import type { Cluster } from "../../test/cluster/harness.ts";

/** `<host> <kind>` and `<host> <kind>-children` to CPU ms. */
export function hostCpu(c: Cluster): Map<string, number> {
  const out = new Map<string, number>();
  const tick = 10; // USER_HZ = 100
  for (const h of c.hosts) {
    for (const pid of h.processes()) {
      let stat: string;
      try {
        stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      } catch {
        continue;
      }
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const own = (Number(f[11]) + Number(f[12])) * tick;
      const children = (Number(f[13]) + Number(f[14])) * tick;
      const kind = /^(dockerd|containerd|containerd-shim|fizz|bun|wireguard-go)/.exec(comm)?.[1] ?? "other";
      for (const [key, ms] of [[`${h.name} ${kind}`, own], [`${h.name} ${kind}-children`, children]] as const) out.set(key, (out.get(key) ?? 0) + ms);
    }
  }
  return out;
}

/** Each key's growth from `a` to `b`, as "key ms, …" (keys that did not grow left out). */
export function cpuDelta(a: Map<string, number>, b: Map<string, number>): string {
  const keys = [...new Set([...a.keys(), ...b.keys()])].sort();
  return keys.map((k) => [k, (b.get(k) ?? 0) - (a.get(k) ?? 0)] as const).filter(([, ms]) => ms > 0).map(([k, ms]) => `${k} ${ms.toFixed(0)}`).join(", ");
}

/** The growth from `a` to `b` summed over the keys `pick` accepts (all by default), in ms. */
export function cpuTotal(a: Map<string, number>, b: Map<string, number>, pick: (key: string) => boolean = () => true): number {
  let ms = 0;
  for (const [k, v] of b) if (pick(k)) ms += v - (a.get(k) ?? 0);
  return ms;
}

/** CPU ms of each thread of the hosts' agents (fizz or bun), as `<host> <thread name>`: which of the runtime's threads (JS, GC helpers, JIT, HTTP client, the DNS thread) worked. */
export function agentThreadCpu(c: Cluster): Map<string, number> {
  const out = new Map<string, number>();
  for (const h of c.hosts) {
    for (const pid of h.processes()) {
      let tasks: string[];
      try {
        const comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
        if (!/^(fizz|bun)/.test(comm)) continue;
        tasks = readdirSync(`/proc/${pid}/task`);
      } catch {
        continue;
      }
      for (const tid of tasks) {
        try {
          const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, "utf8");
          const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")).replace(/\d+$/, "#");
          const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          const key = `${h.name} ${name}`;
          out.set(key, (out.get(key) ?? 0) + (Number(f[11]) + Number(f[12])) * 10);
        } catch {
          /* the thread ended */
        }
      }
    }
  }
  return out;
}
