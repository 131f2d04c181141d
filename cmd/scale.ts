/** `fizz scale [-p project] service=N…`: set desired replicas (kept by the agent across restarts). */
import { FizzError, usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { agentClient } from "./agent-client.ts";
import { paint } from "./context.ts";
import { scalingViolation } from "../core/compose/xfizz.ts";
import type { XFizzService } from "../core/compose/model.ts";
import { suggest } from "../core/text/suggest.ts";
import { readComposeOptions, withComposeOptions, loadProjectOrThrow } from "./compose-load.ts";

export const register: RegisterVerb = (cli, action) => {
  withComposeOptions(cli.command("scale [...assignments]", "Set the number of replicas of services (service=N …)")).action(
    action(async (ctx, args, options) => {
      if (!args.length) throw usageError("fizz scale needs service=N", "e.g. fizz scale web=3 worker=5");
      const wanted: [string, number][] = args.map((a) => {
        const m = /^([^=]+)=(\d+)$/.exec(a);
        if (!m) throw usageError(`expected service=N, got '${a}'`, "e.g. fizz scale web=3");
        return [m[1]!, Number(m[2])];
      });
      const name = optString(options, "projectName") ?? process.env.COMPOSE_PROJECT_NAME ?? (await loadProjectOrThrow(readComposeOptions(options))).project.name;
      const client = await agentClient(ctx);
      // Every assignment is checked (the service exists, x-fizz.scaling) before any is applied (the agent checks each again).
      await refuseBadAssignments(client, name, wanted);
      for (const [service, n] of wanted) {
        try {
          const r = await client.scale(name, service, n);
          ctx.err(` ✔ ${`Service ${name}/${service}`.padEnd(34)} scaled ${r.previous} → ${r.replicas}\n`);
          for (const w of r.warnings ?? []) ctx.err(`${paint(ctx, "33", "warning:")} ${w}\n`);
        } catch (e) {
          if (e instanceof FizzError && e.status === 404) throw new FizzError({ code: e.code, message: e.message, hint: "see 'fizz ls' for deployments and their services" });
          throw e;
        }
      }
      return 0;
    }),
  );
};

async function refuseBadAssignments(client: Awaited<ReturnType<typeof agentClient>>, name: string, wanted: [string, number][]): Promise<void> {
  const detail = await client.getDeployment(name).catch(() => undefined); // an unknown deployment is the scale call's 404
  const services = (detail?.spec as { services?: Record<string, { x_fizz?: XFizzService }> } | undefined)?.services ?? {};
  for (const [service, n] of wanted) {
    const svc = Object.hasOwn(services, service) ? services[service] : undefined;
    if (detail && !svc) {
      const near = suggest(service, Object.keys(services));
      throw usageError(`deployment ${name} has no service ${service}`, near ? `did you mean '${near}'?` : `its services: ${Object.keys(services).join(", ") || "(none)"}`);
    }
    const bad = svc && scalingViolation({ name: service, x_fizz: svc.x_fizz }, n, "fizz scale");
    if (bad) throw new FizzError({ code: "deploy.out_of_bounds", message: bad.message, hint: bad.hint });
  }
}
