/** `fizz logs`: the project's container output, prefixed and coloured per service. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { connect, projectOrName, withProjectOptions, requireServices } from "./project-common.ts";

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("logs [...services]", "Show the output of the project's containers"))
    .option("-f, --follow", "Keep streaming new output")
    .option("--tail <n>", "Lines from the end of each container's log (default: all)")
    .option("--since <time>", "Only output since a timestamp (RFC 3339, unix seconds) or a duration (10m)")
    .option("-t, --timestamps", "Show timestamps")
    .option("--no-prefix", "Do not prefix lines with the container name")
    .action(
      action(async (ctx, services, options) => {
        const tailOpt = optString(options, "tail");
        let tail: number | "all" | undefined;
        if (tailOpt !== undefined) {
          if (tailOpt === "all") tail = "all";
          else if (/^\d+$/.test(tailOpt)) tail = Number(tailOpt);
          else throw usageError(`--tail expects a number or 'all', got '${tailOpt}'`);
        }
        // A duration (10m) or a time, as unix seconds: the engine's logs endpoint takes nothing else.
        const sinceOpt = optString(options, "since");
        const since = sinceOpt === undefined ? undefined : (await import("../core/duration.ts")).sinceTimestamp(sinceOpt, Date.now());
        if (sinceOpt !== undefined && since === undefined) throw usageError(`--since expects a duration (10m, 1h30m), an RFC 3339 time or unix seconds, got '${sinceOpt}'`);
        const { project, name } = await projectOrName(options);
        if (project) {
          requireServices(project, services, { disabledToo: true });
        }
        // In a cluster, replicas on other nodes have their output there: said first (a followed stream never ends).
        const { onOtherNodes, printElsewhere } = await import("./service-containers.ts");
        printElsewhere(ctx, await onOtherNodes(ctx, name, services), "the output of replicas on other nodes is there, not here");
        const { explicitAgent } = await import("./agent-mode.ts");
        if (explicitAgent(ctx)) {
          // -H: that agent's containers, through its API (NDJSON log lines).
          const { agentClient } = await import("./agent-client.ts");
          const controller = new AbortController();
          const stop = () => controller.abort();
          process.once("SIGINT", stop);
          const sinceMs = since === undefined ? undefined : Number(since) * 1000;
          try {
            const client = await agentClient(ctx);
            await (await import("./engine-choice.ts")).checkAgentEngine(options, client, "logs");
            for await (const l of client.logs(name, { services, follow: options.follow === true, ...(typeof tail === "number" ? { tail } : {}), ...(sinceMs !== undefined ? { since: sinceMs } : {}), timestamps: options.timestamps === true }, controller.signal)) {
              const ts = l.time !== undefined ? `${new Date(l.time).toISOString()} ` : "";
              ctx.out(`${options.prefix !== false ? `${l.container}  | ` : ""}${ts}${l.line}\n`);
            }
          } catch (e) {
            if (!controller.signal.aborted) throw e;
          } finally {
            process.removeListener("SIGINT", stop);
          }
          return 0;
        }
        const engine = await connect(options, ctx);
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once("SIGINT", stop);
        try {
          const { streamLogs } = await import("./log-stream.ts");
          const failed = await streamLogs(ctx, engine, {
            project: name,
            services,
            follow: options.follow === true,
            prefix: options.prefix !== false,
            signal: controller.signal,
            ...(tail !== undefined ? { tail } : {}),
            ...(since !== undefined ? { since } : {}),
            ...(options.timestamps ? { timestamps: true } : {}),
          });
          // A stream that broke (its error is on stderr) makes the command fail, as docker compose logs does.
          return failed ? 1 : 0;
        } finally {
          process.removeListener("SIGINT", stop);
          await engine.close();
        }
      }),
    );
};
