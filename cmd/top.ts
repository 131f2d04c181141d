/** `fizz top [services…]`: the processes running in each of the project's containers, `ps` style. */
import type { RegisterVerb } from "./command.ts";
import { table } from "./agent-client.ts";
import { connect, projectOrName, withProjectOptions, requireServices } from "./project-common.ts";
import { containerName, noContainerError, noteElsewhere, pickContainers } from "./service-containers.ts";

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("top [...services]", "Show the processes running in the project's containers"))
    .example("fizz top")
    .example("fizz top api")
    .action(
      action(async (ctx, services, options) => {
        const { project, name } = await projectOrName(options);
        requireServices(project, services);
        const engine = await connect(options, ctx);
        try {
          const running = await pickContainers(engine, name, { services, all: false, oneoff: "include" });
          if (!running.length && services.length === 1) throw await noContainerError(ctx, name, services[0]!, undefined, "running container");
          // Said with nothing here too: a cluster node that runs none of the project's replicas printed nothing at all.
          await noteElsewhere(ctx, name, services, "listed");
          if (!running.length) return 0;
          const parts: string[] = [];
          for (const c of running) {
            const t = await engine.containers.top(c.Id);
            parts.push(`${containerName(c)}\n${table([t.Titles, ...t.Processes])}`);
          }
          ctx.out(parts.join("\n"));
          return 0;
        } finally {
          await engine.close();
        }
      }),
    );
};
