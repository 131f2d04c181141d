/** `fizz leave`: the local agent's node leaves its cluster gracefully and forgets it. */
import { usageError } from "../core/errors.ts";
import type { RegisterVerb } from "./command.ts";
import { agentClient } from "./agent-client.ts";

export const register: RegisterVerb = (cli, action) => {
  cli.command("leave", "Leave the cluster (the other nodes see this node as left)").action(
    action(async (ctx, args) => {
      if (args.length) throw usageError(`'fizz leave' takes no arguments, got '${args[0]}'`);
      const r = await (await agentClient(ctx)).clusterLeave();
      ctx.err(`Node ${r.node} left the cluster.\n`);
      return 0;
    }),
  );
};
