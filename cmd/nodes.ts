/** `fizz nodes`: the cluster's members as this agent's node sees them. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient, table } from "./agent-client.ts";

const GIB = 2 ** 30;

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("nodes [...names]", "List the cluster's nodes (state, incarnation, labels, resources, RTT), or only the named ones")
    .option("--format <format>", "table (default) or json")
    .example("fizz nodes")
    .example("fizz nodes --format json node-b")
    .action(
      action(async (ctx, args, options) => {
        const format = optString(options, "format") ?? "table";
        if (format !== "table" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format table or --format json");
        const client = await agentClient(ctx);
        const all = await client.clusterNodes();
        // Each node's secrets seal status (published in the replicated state); absent on an agent without secrets.
        const seal = new Map<string, string>();
        try {
          for (const n of (await client.json<{ nodes: { node: string; state: string }[] }>("GET", "/v1/seal")).nodes) seal.set(n.node, n.state);
        } catch {
          // no secrets controller: the column shows "-"
        }
        const unknown = args.filter((a) => !all.some((n) => n.name === a || n.id === a));
        if (unknown.length) throw usageError(`no node named ${unknown.map((u) => `'${u}'`).join(", ")} in the cluster`, `the nodes: ${all.map((n) => n.name).join(", ")}`);
        const nodes = args.length ? all.filter((n) => args.includes(n.name) || args.includes(n.id)) : all;
        if (format === "json") {
          ctx.out(`${JSON.stringify(nodes.map((n) => ({ ...n, secrets: seal.get(n.id) ?? null })), null, 2)}\n`);
          return 0;
        }
        const rows = nodes.map((n) => [
          n.self ? `${n.id} *` : n.id,
          n.name,
          n.address,
          n.state,
          String(n.incarnation),
          Object.entries(n.labels).map(([k, v]) => `${k}=${v}`).join(",") || "-",
          `${n.resources.cpuMillis / 1000}/${(n.resources.memoryBytes / GIB).toFixed(1)}G`,
          n.self || n.state === "dead" || n.state === "left" ? "-" : n.rttMs === null ? "?" : `${n.rttMs.toFixed(1)}ms`,
          seal.get(n.id) ?? "-",
        ]);
        ctx.out(table([["ID", "NAME", "ADDRESS", "STATE", "INCARNATION", "LABELS", "CPU/MEM", "RTT", "SECRETS"], ...rows]));
        return 0;
      }),
    );
};
