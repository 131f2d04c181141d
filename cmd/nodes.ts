/** `fizz nodes`: the cluster's members as this agent's node sees them. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient, table } from "./agent-client.ts";

const GIB = 2 ** 30;

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("nodes", "List the cluster's nodes (state, incarnation, labels, resources, RTT)")
    .option("--format <format>", "table (default) or json")
    .action(
      action(async (ctx, args, options) => {
        if (args.length) throw usageError(`'fizz nodes' takes no arguments, got '${args[0]}'`);
        const format = optString(options, "format") ?? "table";
        if (format !== "table" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format table or --format json");
        const nodes = await (await agentClient(ctx)).clusterNodes();
        if (format === "json") {
          ctx.out(`${JSON.stringify(nodes, null, 2)}\n`);
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
          n.self ? "-" : n.rttMs === null ? "?" : `${n.rttMs.toFixed(1)}ms`,
        ]);
        ctx.out(table([["ID", "NAME", "ADDRESS", "STATE", "INCARNATION", "LABELS", "CPU/MEM", "RTT"], ...rows]));
        return 0;
      }),
    );
};
