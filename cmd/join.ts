/** `fizz join <peer-addr> --token T`: the local agent's node joins a cluster through a member. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient } from "./agent-client.ts";

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("join <address>", "Join the cluster a member at <ip>[:port] belongs to (token from `fizz init`)")
    .option("--token <token>", "Join token printed by `fizz init` (or FIZZ_JOIN_TOKEN)")
    .action(
      action(async (ctx, args, options) => {
        if (args.length !== 1) throw usageError("fizz join takes one address", "e.g. fizz join 10.0.0.5:7946 --token fizz1…");
        const token = optString(options, "token") ?? process.env.FIZZ_JOIN_TOKEN;
        if (!token) throw usageError("fizz join needs --token", "copy the token `fizz init` printed on the first node");
        const r = await (await agentClient(ctx)).clusterJoin(args[0]!, token);
        ctx.err(`Joined cluster ${r.cluster.slice(0, 8)}… via ${r.via}: node ${r.node} (${r.address}), ${r.members} members known.\n`);
        return 0;
      }),
    );
};
