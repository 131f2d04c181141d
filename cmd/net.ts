/** `fizz net`: this node's end of the cluster mesh and each peer's endpoint, last handshake, RTT and traffic. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient, table } from "./agent-client.ts";

function bytes(n: number): string {
  if (n < 1024) return `${n}B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)}K`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)}M`;
  return `${(n / 1024 ** 3).toFixed(1)}G`;
}

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("net", "The cluster mesh as this node sees it: WireGuard via the kernel module or wireguard-go, address, MTU, per peer the endpoint, last handshake, RTT and bytes; the cluster networks on this node and where the resolver listens")
    .option("--format <format>", "table (default) or json")
    .example("fizz net")
    .example("fizz net --format json")
    .action(
      action(async (ctx, _args, options) => {
        const format = optString(options, "format") ?? "table";
        if (format !== "table" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format table or --format json");
        const m = await (await agentClient(ctx)).mesh();
        if (format === "json") {
          ctx.out(`${JSON.stringify(m, null, 2)}\n`);
          return 0;
        }
        if (m.problem) ctx.err(`mesh: ${m.problem.message}${m.problem.hint ? `\n  fix: ${m.problem.hint}` : ""}\n`);
        const how = !m.enabled ? "disabled" : m.driver === "wireguard" ? `WireGuard (${m.implementation ?? "not available"}), encrypted` : "VXLAN, NOT encrypted (trusted LAN only)";
        ctx.out(`mesh: ${how}; interface ${m.interface}, address ${m.address ?? "-"}, port ${m.port}, MTU ${m.mtu ?? "-"} (underlay ${m.underlayMtu})${m.inCluster ? "" : "; not in a cluster"}\n`);
        for (const w of m.warnings) ctx.err(`warning: ${w}\n`);
        const rows = m.peers.map((p) => [
          p.name,
          p.endpoint,
          p.lastHandshakeSeconds === null ? "never" : `${p.lastHandshakeSeconds}s ago`,
          p.rttMs === null ? "?" : `${p.rttMs.toFixed(1)}ms`,
          String(m.mtu ?? "-"),
          bytes(p.rxBytes),
          bytes(p.txBytes),
          p.allowedIps.join(",") || "-",
        ]);
        for (const x of m.excluded) rows.push([x.id, "-", "-", "-", "-", "-", "-", `not a peer: ${x.reason}`]);
        if (rows.length) ctx.out(table([["PEER", "ENDPOINT", "HANDSHAKE", "RTT", "MTU", "RX", "TX", "ALLOWED IPS"], ...rows]));
        const nets = m.networks ?? [];
        if (nets.length) {
          ctx.out("\n");
          ctx.out(table([["NETWORK", "SUBNET", "THIS NODE'S SLICES", "BRIDGE", "GATEWAY"], ...nets.map((n) => [`${n.deployment}/${n.network}${n.internal ? " (internal)" : ""}`, n.subnet, n.slices.join(","), `${n.bridge}${n.bridgeUp ? "" : " (not made yet)"}`, n.gateway])]));
        }
        const r = m.resolver;
        if (r) {
          ctx.out(`\nresolver: ${!r.enabled ? "disabled" : r.listening.length ? `listening on ${r.listening.join(", ")}` : "no cluster network on this node yet"}; other names go to ${r.upstreams.join(", ") || "no upstream (SERVFAIL)"}\n`);
          for (const p of r.problems) ctx.err(`warning: resolver cannot listen on ${p.address}: ${p.message}\n`);
        }
        return 0;
      }),
    );
};
