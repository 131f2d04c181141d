/** `fizz init`: make the local agent's node a one-node cluster and print the join token. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient } from "./agent-client.ts";

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("init", "Create a cluster on this agent's node and print a join token")
    .option("--advertise <addr>", "Address other nodes reach this one at, <ip>[:port] (default: cluster.advertise, else the bind address)")
    .action(
      action(async (ctx, args, options) => {
        if (args.length) throw usageError(`'fizz init' takes no arguments, got '${args[0]}'`);
        const advertise = optString(options, "advertise");
        const r = await (await agentClient(ctx)).clusterInit(advertise ? { advertise } : {});
        ctx.err(`Created cluster ${r.cluster.slice(0, 8)}… on node ${r.node} (${r.address}).\n`);
        ctx.err("The token carries the cluster key: share it like a password.\nOn another node, run:\n\n");
        ctx.err(`  fizz join ${r.address} --token ${r.token}\n\n`);
        // The token alone on stdout, for scripts: TOKEN=$(fizz init).
        ctx.out(`${r.token}\n`);
        return 0;
      }),
    );
};
