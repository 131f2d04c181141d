/**
 * `fizz rm [-f] [-s] [-v] [services…]`: remove the project's stopped
 * containers, as `docker compose rm` does: it lists them and asks first
 * (-f does not ask), -s stops running ones first, -v also removes their
 * anonymous volumes. One-off containers are left to `fizz down`.
 */
import { createInterface } from "node:readline";
import type { RegisterVerb } from "./command.ts";
import type { Context } from "./context.ts";
import { connect, projectOrName, withProjectOptions, requireServices } from "./project-common.ts";
import { containerName, doneLine, noteElsewhere, pickContainers } from "./service-containers.ts";
import { agentLeavesStopped } from "./user-stop.ts";

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("rm [...services]", "Remove the project's stopped containers"))
    .option("-f, --force", "Do not ask for confirmation")
    .option("-s, --stop", "Stop the containers first, if they run")
    .option("-v, --volumes", "Also remove anonymous volumes attached to the containers")
    .example("fizz rm -f")
    .example("fizz rm -sfv worker")
    .action(
      action(async (ctx, services, options) => {
        const { project, name } = await projectOrName(options);
        requireServices(project, services);
        const engine = await connect(options, ctx);
        try {
          const mine = (await pickContainers(engine, name, { services, all: true })).filter((c) => !project || Object.hasOwn(project.services, c.Labels?.["com.docker.compose.service"] ?? ""));
          // The agent is told before anything stops, so it neither starts nor recreates what goes.
          if (options.stop && mine.length) await agentLeavesStopped(ctx, engine, name, services, "rm");
          if (options.stop) {
            await Promise.all(
              mine
                .filter((c) => String(c.State).toLowerCase() === "running")
                .map(async (c) => {
                  await engine.containers.stop(c.Id);
                  doneLine(ctx, containerName(c), "Stopped");
                }),
            );
          }
          const stopped: typeof mine = [];
          for (const c of mine) {
            const ins = await engine.containers.find(c.Id);
            if (ins && !ins.State.Running) stopped.push(c);
          }
          await noteElsewhere(ctx, name, services, "removed");
          if (!stopped.length) {
            ctx.err("No stopped containers\n");
            return 0;
          }
          const msg = `Going to remove ${stopped.map(containerName).join(", ")}`;
          if (options.force) ctx.out(`${msg}\n`);
          else if (!(await confirm(ctx, msg))) return 0;
          if (!options.stop) await agentLeavesStopped(ctx, engine, name, services, "rm");
          let failed = 0;
          await Promise.all(
            stopped.map(async (c) => {
              try {
                await engine.containers.remove(c.Id, { volumes: options.volumes === true, force: true });
                doneLine(ctx, containerName(c), "Removed");
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

/** "Are you sure? [y/N]" on stderr, the answer read from stdin (no answer, or end of input, is no). */
function confirm(ctx: Context, msg: string): Promise<boolean> {
  ctx.err(`? ${msg}. Are you sure? [y/N] `);
  return new Promise((resolve) => {
    const rl = createInterface({ input: process.stdin });
    let answered = false;
    rl.once("line", (line) => {
      answered = true;
      rl.close();
      resolve(/^y(es)?$/i.test(line.trim()));
    });
    rl.once("close", () => {
      if (!answered) {
        ctx.err("\n");
        resolve(false);
      }
    });
  });
}
