/** `fizz pause|unpause [services…]`: freeze or thaw the project's running containers (the cgroup freezer). */
import type { RegisterVerb } from "./command.ts";
import { connect, projectOrName, withProjectOptions, requireServices } from "./project-common.ts";
import { containerName, doneLine, noteElsewhere, pickContainers } from "./service-containers.ts";
import { agentKeepsRunning, agentLeavesStopped } from "./user-stop.ts";

function registerOne(verb: "pause" | "unpause"): RegisterVerb {
  return (cli, action) => {
    withProjectOptions(cli.command(`${verb} [...services]`, verb === "pause" ? "Pause the project's running containers" : "Unpause the project's paused containers"))
      .example(`fizz ${verb}`)
      .example(`fizz ${verb} worker`)
      .action(
        action(async (ctx, services, options) => {
          const { project, name } = await projectOrName(options);
          requireServices(project, services);
          const engine = await connect(options, ctx);
          try {
            const want = verb === "pause" ? "running" : "paused";
            const list = (await pickContainers(engine, name, { services, all: true })).filter((c) => String(c.State).toLowerCase() === want);
            await noteElsewhere(ctx, name, services, verb === "pause" ? "paused" : "unpaused");
            if (!list.length) {
              ctx.err(`no ${want} container to ${verb}\n`);
              return 0;
            }
            if (verb === "pause") await agentLeavesStopped(ctx, engine, name, services, "pause");
            else await agentKeepsRunning(ctx, engine, name, services);
            let failed = 0;
            await Promise.all(
              list.map(async (c) => {
                try {
                  await (verb === "pause" ? engine.containers.pause(c.Id) : engine.containers.unpause(c.Id));
                  doneLine(ctx, containerName(c), verb === "pause" ? "Paused" : "Unpaused");
                } catch (e) {
                  failed++;
                  doneLine(ctx, containerName(c), e instanceof Error ? e.message : String(e), false);
                }
              }),
            );
            return failed ? 1 : 0;
          } finally {
            await engine.close();
          }
        }),
      );
  };
}

export const registerPause = registerOne("pause");
export const registerUnpause = registerOne("unpause");
