/** `fizz ls`: the agent's deployments with their status, like `docker compose ls`. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient, ago, table } from "./agent-client.ts";
import { deploymentStatus } from "./deployment-status.ts";

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("ls", "List the agent's deployments with their status")
    .option("--format <format>", "table (default) or json")
    .option("-q, --quiet", "Only print deployment names")
    .option("-a, --all", "Also list projects the agent does not manage (run with --no-agent, attached, or by docker compose), stopped ones too")
    .option("--engine <engine>", "With -a: the engine to look at (default: FIZZ_ENGINE, DOCKER_HOST, then the usual sockets)")
    .example("fizz ls")
    .example("fizz ls -a --format json")
    .action(
      action(async (ctx, _args, options) => {
        const format = optString(options, "format") ?? "table";
        if (format !== "table" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format table or --format json");
        if (options.all) {
          const { listAll } = await import("./ls-all.ts");
          return listAll(ctx, options, format);
        }
        const list = await (await agentClient(ctx)).listDeployments();
        if (options.quiet) ctx.out(list.map((d) => `${d.name}\n`).join(""));
        else if (format === "json") ctx.out(`${JSON.stringify(list, null, 2)}\n`);
        else {
          ctx.out(table([["NAME", "STATUS", "SERVICES", "GENERATION", "UPDATED"], ...list.map((d) => [d.name, deploymentStatus(d), String(d.services), String(d.generation), ago(d.updatedAt)])]));
        }
        return 0;
      }),
    );
};
