/** `fizz rollback [-p project] <service>`: put a service's previous spec back (the one before the last change). */
import { FizzError, usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient } from "./agent-client.ts";
import { loadProjectOrThrow, readComposeOptions, withComposeOptions } from "./compose-load.ts";

export const register: RegisterVerb = (cli, action) => {
  withComposeOptions(cli.command("rollback <service>", "Roll a service back to its previous spec")).action(
    action(async (ctx, args, options) => {
      const [service, extra] = args;
      if (!service) throw usageError("fizz rollback needs a service name", "e.g. fizz rollback web");
      if (extra) throw usageError(`'fizz rollback' takes one service, got '${extra}' too`);
      const name = optString(options, "projectName") ?? process.env.COMPOSE_PROJECT_NAME ?? (await loadProjectOrThrow(readComposeOptions(options))).project.name;
      try {
        const r = await (await agentClient(ctx)).rollback(name, service);
        ctx.err(` ✔ ${`Service ${name}/${service}`.padEnd(34)} rolled back (generation ${r.generation})\n`);
      } catch (e) {
        if (e instanceof FizzError && e.status === 404) throw new FizzError({ code: e.code, message: e.message, hint: "see 'fizz ls' for deployments and their services" });
        throw e;
      }
      return 0;
    }),
  );
};
