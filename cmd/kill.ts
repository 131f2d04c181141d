/** `fizz kill [-s SIGNAL] [services…]`: send a signal (default SIGKILL) to the project's running containers. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { connect, projectOrName, withProjectOptions, requireServices } from "./project-common.ts";
import { containerName, doneLine, noteElsewhere, pickContainers } from "./service-containers.ts";
import { agentLeavesStopped } from "./user-stop.ts";

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("kill [...services]", "Send a signal (default SIGKILL) to the project's running containers"))
    .option("-s, --signal <signal>", "Signal to send, e.g. SIGTERM, HUP or 9 (default SIGKILL)")
    .option("--remove-orphans", "Also kill containers of services no longer in the compose file, and one-off containers")
    .example("fizz kill")
    .example("fizz kill -s SIGHUP web")
    .action(
      action(async (ctx, services, options) => {
        const signal = optString(options, "signal") ?? "SIGKILL";
        if (!/^(SIG)?[A-Z0-9+-]+$/i.test(signal)) throw usageError(`invalid signal '${signal}'`, "use a name like SIGTERM or HUP, or a number like 9");
        const { project, name } = await projectOrName(options);
        requireServices(project, services);
        const engine = await connect(options, ctx);
        try {
          const running = (await pickContainers(engine, name, { services, all: false, oneoff: options.removeOrphans ? "include" : "exclude" })).filter(
            (c) => options.removeOrphans || !project || Object.hasOwn(project.services, c.Labels?.["com.docker.compose.service"] ?? ""),
          );
          await noteElsewhere(ctx, name, services, "killed");
          if (!running.length) {
            ctx.err("no container to kill\n");
            return 0;
          }
          // A signal that ends the process: the agent leaves what was killed stopped (a HUP changes nothing it keeps).
          if (/KILL|TERM|INT|^9$|^15$/i.test(signal)) await agentLeavesStopped(ctx, engine, name, services, "kill");
          const failures: string[] = [];
          await Promise.all(
            running.map(async (c) => {
              try {
                await engine.containers.kill(c.Id, { signal });
                doneLine(ctx, containerName(c), "Killed");
              } catch (e) {
                doneLine(ctx, containerName(c), e instanceof Error ? e.message : String(e), false);
                failures.push(containerName(c));
              }
            }),
          );
          return failures.length ? 1 : 0;
        } finally {
          await engine.close();
        }
      }),
    );
};
