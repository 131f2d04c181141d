/** `fizz attach [--index n] [--no-stdin] service`: attach this terminal to a running container's main process. */
import type { RegisterVerb } from "./command.ts";
import { connect, projectOrName, withProjectOptions, requireServices } from "./project-common.ts";
import { indexOption, noContainerError, pickContainers } from "./service-containers.ts";

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("attach <service>", "Attach to a service's running container (its output, and stdin when it has one open)"))
    .option("--index <n>", "Which replica (default 1)")
    .option("--no-stdin", "Do not forward stdin")
    .option("--sig-proxy", "Pass SIGINT and SIGTERM on to the container (default true; --no-sig-proxy detaches on Ctrl-C instead)", { default: true })
    .example("fizz attach web")
    .example("fizz attach --index 2 --no-stdin worker")
    .action(
      action(async (ctx, args, options) => {
        const [service] = args;
        const index = indexOption(options.index) ?? 1;
        const { project, name } = await projectOrName(options);
        requireServices(project, [service!]);
        const engine = await connect(options, ctx);
        try {
          const [c] = await pickContainers(engine, name, { services: [service!], index, all: false });
          if (!c) throw await noContainerError(ctx, name, service!, index, "running container");
          const ins = await engine.containers.inspect(c.Id);
          const withStdin = options.stdin !== false && (ins.Config as { OpenStdin?: boolean }).OpenStdin === true;
          const { attachAndWait } = await import("./attach-io.ts");
          return await attachAndWait(engine, c.Id, { tty: ins.Config.Tty, stdin: withStdin, signals: options.sigProxy !== false }, false);
        } finally {
          await engine.close();
        }
      }),
    );
};
