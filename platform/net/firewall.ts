/**
 * Applies core/net's firewall plan: Fizz's own chains are filled atomically
 * with iptables-restore --noflush (a declared chain is flushed and refilled,
 * other chains are left alone), and the jumps into them are kept first in
 * their parent chains (an engine restart may insert its own above). `remove`
 * takes all of it away again.
 */
import { FORWARD_CHAIN, NAT_CHAIN, firewallFlush, type FirewallPlan } from "../../core/net/firewall-plan.ts";
import { must, type ToolRunner } from "./exec.ts";

/**
 * `jumps: false` refills the chains only (one process), for a caller that
 * checked the jumps recently. With jumps (the default) each table's rules are
 * read once (`iptables-save -t`, one process per table: two, where asking
 * per parent chain took six) and a jump that is missing or not first is put
 * first again.
 */
export async function applyFirewall(run: ToolRunner, plan: FirewallPlan, o: { readonly jumps?: boolean } = {}): Promise<void> {
  await must(run, ["iptables-restore", "--noflush"], { input: plan.restore });
  if (o.jumps === false) return;
  const tables = new Map<string, string[]>();
  for (const j of plan.jumps) if (!tables.has(j.table)) tables.set(j.table, (await must(run, ["iptables-save", "-t", j.table])).split("\n"));
  for (const j of plan.jumps) {
    const lines = tables.get(j.table)!;
    if (!lines.some((l) => l.startsWith(`:${j.parent} `))) {
      if (j.optional) continue;
      // Not there (an engine that never made it, a table this kernel lacks): iptables says why.
      await must(run, ["iptables", "-t", j.table, "-L", j.parent, "-n"]);
    }
    const first = lines.find((l) => l.startsWith(`-A ${j.parent} `));
    if (first === `-A ${j.parent} -j ${j.target}`) continue;
    while ((await run(["iptables", "-t", j.table, "-D", j.parent, "-j", j.target])).code === 0);
    await must(run, ["iptables", "-t", j.table, "-I", j.parent, "1", "-j", j.target]);
  }
}

export async function removeFirewall(run: ToolRunner): Promise<void> {
  for (const [table, parent, chain] of [
    ["filter", "FORWARD", FORWARD_CHAIN],
    ["filter", "DOCKER-USER", FORWARD_CHAIN],
    ["nat", "POSTROUTING", NAT_CHAIN],
  ] as const) {
    while ((await run(["iptables", "-t", table, "-D", parent, "-j", chain])).code === 0);
  }
  await run(["iptables-restore", "--noflush"], { input: firewallFlush() });
  await run(["iptables", "-t", "filter", "-X", FORWARD_CHAIN]);
  await run(["iptables", "-t", "nat", "-X", NAT_CHAIN]);
}

/** proxy_arp on a bridge (so containers reach other nodes' slices on-link) and forwarding on. */
export async function enableBridgeRouting(run: ToolRunner, bridge: string): Promise<void> {
  await must(run, ["sysctl", "-qw", `net.ipv4.conf.${bridge}.proxy_arp=1`, "net.ipv4.ip_forward=1"]);
}
