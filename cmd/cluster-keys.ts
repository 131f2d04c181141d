/**
 * `fizz cluster keys list|install <key>|use <id>|remove <id>`: this node's cluster keyring (rotation without restart);
 * `fizz cluster token`: a join token for the cluster as it is now, from any member.
 */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient, table } from "./agent-client.ts";

const USAGE = "fizz cluster token | keys list | install <key> | use <id> | remove <id>";

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("cluster [...args]", "A join token for the cluster (token), or the keyring: keys list | install <key> | use <id> | remove <id> (run on every node)")
    .option("--format <format>", "table (default) or json (for `keys list`)")
    .action(
      action(async (ctx, args, options) => {
        const [group, sub, arg, ...rest] = args;
        if (group === "token") {
          if (sub !== undefined) throw usageError("fizz cluster token takes no arguments", USAGE);
          // What `fizz init` printed, minted again: the current primary key (a rotation made older tokens stale), this node as seed.
          const r = await (await agentClient(ctx)).clusterToken();
          ctx.err(`The token carries the cluster key: share it like a password.\nOn the node to add, run:\n\n  fizz join ${r.address} --token ${r.token}\n\n`);
          ctx.out(`${r.token}\n`);
          return 0;
        }
        if (group !== "keys") throw usageError(group === undefined ? "fizz cluster needs a subcommand" : `unknown cluster subcommand '${group}'`, USAGE);
        const format = optString(options, "format") ?? "table";
        if (format !== "table" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format table or --format json");
        const needs = (what: string) => {
          if (arg === undefined || rest.length) throw usageError(`fizz cluster keys ${sub} takes one ${what}`, USAGE);
          return arg;
        };
        const client = await agentClient(ctx);
        let view;
        switch (sub) {
          case "list":
          case "ls":
            if (arg !== undefined) throw usageError("fizz cluster keys list takes no arguments", USAGE);
            view = await client.clusterKeys();
            break;
          case "install": {
            const r = await client.clusterKeyInstall(needs("key (base64 or hex, 32 bytes)"));
            ctx.err(`Installed key ${r.installed}. Install it on every node, then \`fizz cluster keys use ${r.installed}\` on every node.\n`);
            view = r;
            break;
          }
          case "use":
            view = await client.clusterKeyUse(needs("key id"));
            ctx.err(`Key ${view.primary} is now primary on this node.\n`);
            break;
          case "remove":
          case "rm":
            view = await client.clusterKeyRemove(needs("key id"));
            ctx.err(`Removed key ${arg}.\n`);
            break;
          default:
            throw usageError(sub === undefined ? "fizz cluster keys needs a subcommand" : `unknown keys subcommand '${sub}'`, USAGE);
        }
        if (format === "json") ctx.out(`${JSON.stringify(view, null, 2)}\n`);
        else if (sub === "list" || sub === "ls") ctx.out(table([["ID", "PRIMARY"], ...view.keys.map((k) => [k.id, k.primary ? "*" : ""])]));
        return 0;
      }),
    );
};
