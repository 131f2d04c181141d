/**
 * platform/net/firewall.ts against a runner that plays iptables: the chains
 * are refilled with one iptables-restore; with jumps, each table is read once
 * (iptables-save) and a jump that is missing or not first is put first, an
 * optional parent chain that is not there is skipped, a required one fails
 * with iptables' own words. The real tools run in test/cluster/mesh-*.
 */
import { describe, expect, test } from "bun:test";
import { FORWARD_CHAIN, NAT_CHAIN, firewallPlan } from "../../../core/net/firewall-plan.ts";
import { defaultIpamConfig } from "../../../core/net/ipam-config.ts";
import { applyFirewall, type ToolRunner } from "../../../platform/net/index.ts";

const plan = firewallPlan("fizz0", defaultIpamConfig().nodeBlock, []);

/** iptables-save output for a table: `chains` with their rules in order (`-A` lines). */
function dump(table: string, chains: Record<string, string[]>): string {
  return [`*${table}`, ...Object.keys(chains).map((c) => `:${c} ACCEPT [0:0]`), ...Object.entries(chains).flatMap(([c, rules]) => rules.map((r) => `-A ${c} ${r}`)), "COMMIT", ""].join("\n");
}

function fake(tables: Record<string, Record<string, string[]>>): { run: ToolRunner; calls: string[] } {
  const calls: string[] = [];
  const run: ToolRunner = async (argv) => {
    calls.push(argv.join(" "));
    const [tool, , table, op, chain] = argv;
    if (tool === "iptables-restore") return { code: 0, stdout: "", stderr: "" };
    if (tool === "iptables-save") return { code: 0, stdout: dump(table!, tables[table!] ?? {}), stderr: "" };
    const rules = tables[table!]?.[chain!];
    if (!rules) return { code: 1, stdout: "", stderr: `iptables: No chain/target/match by that name.` };
    if (op === "-L") return { code: 0, stdout: "", stderr: "" };
    const jump = `-j ${argv[argv.length - 1]}`;
    if (op === "-D") {
      const i = rules.indexOf(jump);
      if (i < 0) return { code: 1, stdout: "", stderr: "iptables: Bad rule (does a matching rule exist in that chain?)." };
      rules.splice(i, 1);
      return { code: 0, stdout: "", stderr: "" };
    }
    if (op === "-I") {
      rules.unshift(jump);
      return { code: 0, stdout: "", stderr: "" };
    }
    return { code: 2, stdout: "", stderr: `unexpected ${argv.join(" ")}` };
  };
  return { run, calls };
}

describe("applyFirewall", () => {
  test("jumps already first: the chains refilled and each table read once, nothing else", async () => {
    const f = fake({ filter: { FORWARD: [`-j ${FORWARD_CHAIN}`, "-j DOCKER-USER"], "DOCKER-USER": [`-j ${FORWARD_CHAIN}`, "-j RETURN"] }, nat: { POSTROUTING: [`-j ${NAT_CHAIN}`, "-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE"] } });
    await applyFirewall(f.run, plan);
    expect(f.calls).toEqual(["iptables-restore --noflush", "iptables-save -t filter", "iptables-save -t nat"]);
  });

  test("a jump missing, another below an engine's rule: both put first, other rules kept in order", async () => {
    const tables = { filter: { FORWARD: ["-s 192.0.2.1/32 -j ACCEPT", `-j ${FORWARD_CHAIN}`, "-j DOCKER-USER"], "DOCKER-USER": ["-j RETURN"] }, nat: { POSTROUTING: [`-j ${NAT_CHAIN}`] } };
    const f = fake(tables);
    await applyFirewall(f.run, plan);
    expect(tables.filter.FORWARD).toEqual([`-j ${FORWARD_CHAIN}`, "-s 192.0.2.1/32 -j ACCEPT", "-j DOCKER-USER"]);
    expect(tables.filter["DOCKER-USER"]).toEqual([`-j ${FORWARD_CHAIN}`, "-j RETURN"]);
    expect(tables.nat.POSTROUTING).toEqual([`-j ${NAT_CHAIN}`]);
  });

  test("no DOCKER-USER (no dockerd, or Podman): skipped; no POSTROUTING: iptables' own error", async () => {
    const tables = { filter: { FORWARD: [] as string[] }, nat: { POSTROUTING: [] as string[] } };
    const f = fake(tables);
    await applyFirewall(f.run, plan);
    expect(tables.filter.FORWARD).toEqual([`-j ${FORWARD_CHAIN}`]);
    expect(f.calls.some((c) => c.includes("DOCKER-USER"))).toBe(false);
    const broken = fake({ filter: { FORWARD: [] }, nat: {} });
    const e = await applyFirewall(broken.run, plan).then(() => undefined, (x: unknown) => x as { code?: string; message?: string });
    expect(e?.code).toBe("net.command_failed");
    expect(e?.message).toContain("iptables -t nat -L POSTROUTING -n failed");
    expect(e?.message).toContain("No chain/target/match by that name");
  });

  test("jumps: false refills the chains only", async () => {
    const f = fake({});
    await applyFirewall(f.run, plan, { jumps: false });
    expect(f.calls).toEqual(["iptables-restore --noflush"]);
  });
});
