/**
 * `fizz why <service>`: where each replica of a service runs, and why nodes
 * were passed over or excluded; for a service behind the ingress, which nodes
 * accept its ports and routes and to which replicas they go.
 */
import { FizzError, usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient } from "./agent-client.ts";
import { ingressWhy, ingressWhyText } from "./ingress-why.ts";
import { loadProject, readComposeOptions, withComposeOptions } from "./compose-load.ts";
import type { Options } from "./command.ts";

/** -p, COMPOSE_PROJECT_NAME, else the compose file here when there is one; undefined: every deployment. */
export async function projectNameIfAny(options: Options): Promise<string | undefined> {
  const named = optString(options, "projectName") ?? process.env.COMPOSE_PROJECT_NAME;
  if (named) return named;
  const explicit = readComposeOptions(options);
  const r = await loadProject(explicit).catch(() => undefined);
  if (r?.project) return r.project.name;
  if (explicit.files.length) throw usageError(`cannot read ${explicit.files.join(", ")}`, "run `fizz validate` to see why");
  return undefined;
}

export const register: RegisterVerb = (cli, action) => {
  withComposeOptions(cli.command("why <service>", "Explain where each replica of a service runs and why nodes were excluded"))
    .option("--format <format>", "text (default) or json")
    .action(
      action(async (ctx, args, options) => {
        const [service, extra] = args;
        if (!service) throw usageError("fizz why needs a service name", "e.g. fizz why web");
        if (extra) throw usageError(`'fizz why' takes one service, got '${extra}' too`);
        const format = optString(options, "format") ?? "text";
        if (format !== "text" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format text or --format json");
        const deployment = await projectNameIfAny(options);
        try {
          const client = await agentClient(ctx);
          const r = await client.why(service, deployment);
          // Which nodes accept the service's ports and routes, and to which replicas (issue 13).
          const st = await client.ingress().catch(() => undefined);
          const ing = st ? ingressWhy(st, r.deployment, r.service) : undefined;
          if (format === "json") ctx.out(`${JSON.stringify(ing ? { ...r, ingress: ing } : r, null, 2)}\n`);
          else ctx.out(`${r.text.replace(/\n?$/, "\n")}${ing && st ? ingressWhyText(ing, st.node) : ""}`);
        } catch (e) {
          if (e instanceof FizzError && e.status === 404 && deployment && !optString(options, "projectName")) {
            throw new FizzError({ code: e.code, message: e.message, hint: `${e.hint ? `${e.hint}; ` : ""}the deployment was taken from the compose file here; pass -p to name another` });
          }
          throw e;
        }
        return 0;
      }),
    );
};
