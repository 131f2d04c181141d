/** `fizz init`: make the local agent's node a one-node cluster and print the join token. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient } from "./agent-client.ts";

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("init", "Create a cluster on this agent's node and print a join token")
    .option("--recovery-shares <n>", "Recovery shares of the secrets master key to print (default 5)")
    .option("--recovery-threshold <n>", "How many recovery shares unseal (default 3)")
    .option("--advertise <addr>", "Address other nodes reach this one at, <ip>[:port] (default: cluster.advertise, else the bind address)")
    .action(
      action(async (ctx, args, options) => {
        if (args.length) throw usageError(`'fizz init' takes no arguments, got '${args[0]}'`);
        const advertise = optString(options, "advertise");
        const recoveryShares = Number(optString(options, "recoveryShares") ?? 5);
        const recoveryThreshold = Number(optString(options, "recoveryThreshold") ?? 3);
        if (!Number.isInteger(recoveryShares) || recoveryShares < 1 || recoveryShares > 255) throw usageError("--recovery-shares must be 1..255");
        if (!Number.isInteger(recoveryThreshold) || recoveryThreshold < 1 || recoveryThreshold > recoveryShares) throw usageError(`--recovery-threshold must be 1..${recoveryShares}`);
        const client = await agentClient(ctx);
        const r = await client.clusterInit(advertise ? { advertise } : {});
        ctx.err(`Created cluster ${r.cluster.slice(0, 8)}… on node ${r.node} (${r.address}).\n`);
        ctx.err("The token carries the cluster key: share it like a password.\nOn another node, run:\n\n");
        ctx.err(`  fizz join ${r.address} --token ${r.token}\n\n(\`fizz cluster token\` on any member prints a current one again.)\n\n`);
        // Recovery shares for the master key (secrets), like Vault's unseal keys: on stderr, shown once.
        try {
          const rec = await client.json<{ threshold: number; shares: string[] }>("POST", "/v1/seal/recovery", { threshold: recoveryThreshold, shares: recoveryShares });
          ctx.err(`Recovery shares: any ${rec.threshold} of these ${rec.shares.length} unseal the cluster's secrets when too few nodes are up (fizz secret unseal SHARE).\nKeep them apart and offline; they are shown only now.\n\n${rec.shares.map((s) => `  ${s}\n`).join("")}\n`);
        } catch (e) {
          ctx.err(`warning: no recovery shares were made (${e instanceof Error ? e.message : String(e)}); make them with: fizz secret recovery\n`);
        }
        // The token alone on stdout, for scripts: TOKEN=$(fizz init).
        ctx.out(`${r.token}\n`);
        return 0;
      }),
    );
};
