/** `fizz events`: the agent's event stream (restarts, recreates, failures), live, resumable. */
import { usageError } from "../core/errors.ts";
import { optList, optString, type RegisterVerb } from "./command.ts";
import { agentClient } from "./agent-client.ts";
import { paint } from "./context.ts";

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("events", "Stream the agent's events")
    .option("--json", "One JSON object per line")
    .option("--since <id>", "Resume after this event id (0 = from the oldest kept)")
    .option("--filter <key=value>", "type=…, deployment=…, service=…, container=… (repeatable)")
    .option("--no-follow", "Print what is there and exit")
    .action(
      action(async (ctx, _args, options) => {
        const q: { types?: string[]; deployment?: string; service?: string; container?: string; since?: number; follow?: boolean } = {};
        const types: string[] = [];
        for (const f of optList(options, "filter")) {
          const m = /^(type|deployment|service|container)=(.+)$/.exec(f);
          if (!m) throw usageError(`unknown filter '${f}'`, "use type=, deployment=, service= or container=");
          if (m[1] === "type") types.push(m[2]!);
          else q[m[1] as "deployment" | "service" | "container"] = m[2]!;
        }
        if (types.length) q.types = types;
        const since = optString(options, "since");
        if (since !== undefined) {
          if (!/^\d+$/.test(since)) throw usageError(`--since expects an event id, got '${since}'`);
          q.since = Number(since);
        }
        q.follow = options.follow !== false;
        const controller = new AbortController();
        const stop = () => controller.abort();
        process.once("SIGINT", stop);
        try {
          for await (const e of (await agentClient(ctx)).events(q, controller.signal)) {
            if (options.json) ctx.out(`${JSON.stringify(e)}\n`);
            else {
              const who = [e.deployment, e.service, e.container].filter(Boolean).join(" ");
              ctx.out(`${new Date(e.at).toISOString()} ${paint(ctx, "36", e.type.padEnd(22))} ${who ? `${who}: ` : ""}${e.message}\n`);
            }
          }
        } catch (e) {
          if (!controller.signal.aborted) throw e;
        } finally {
          process.removeListener("SIGINT", stop);
        }
        return 0;
      }),
    );
};
