/** `fizz wait services…`: block until the services' containers stop; print each exit code; exit with the last one. */
import type { RegisterVerb } from "./command.ts";
import { connect, projectOrName, withProjectOptions, requireServices } from "./project-common.ts";
import { noContainerError, pickContainers } from "./service-containers.ts";

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("wait <service> [...services]", "Wait until the services' containers stop, and print their exit codes"))
    .option("--down-project", "Take the project down once they have stopped")
    .example("fizz wait migrate")
    .example("fizz wait --down-project tests")
    .action(
      action(async (ctx, services, options) => {
        const { project, name } = await projectOrName(options);
        requireServices(project, services, { disabledToo: true });
        const engine = await connect(options, ctx);
        let code = 0;
        try {
          const list = await pickContainers(engine, name, { services, all: true, oneoff: "include" });
          if (!list.length) throw await noContainerError(ctx, name, services[0]!, undefined);
          await Promise.all(
            list.map(async (c) => {
              const r = await engine.containers.wait(c.Id);
              ctx.out(`container "${c.Id}" exited with status code ${r.StatusCode}\n`);
              code = r.StatusCode;
            }),
          );
        } finally {
          await engine.close();
        }
        if (options.downProject) {
          const { runCli } = await import("./cli.ts");
          const passOn = ["--remove-orphans", ...(options.projectName ? ["-p", String(options.projectName)] : []), ...[options.file ?? []].flat().flatMap((f) => ["-f", String(f)])];
          const down = await runCli(["down", ...passOn]);
          if (down !== 0) return down;
        }
        return code;
      }),
    );
};
