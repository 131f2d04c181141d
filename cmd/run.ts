/**
 * `fizz run [options] service [command…]`: a one-off container of a service,
 * as `docker compose run` makes it: dependencies started first (unless
 * --no-deps), the service's networks, volumes and image ensured, then a
 * container labelled oneoff=True (with a slug, not numbered, as in Compose)
 * runs the command attached, with a TTY when stdin and stdout are terminals,
 * and its exit code becomes fizz's. -d leaves it running and prints its id.
 * The planner and the agent never touch one-off containers.
 */
import { usageError } from "../core/errors.ts";
import { noTty, optList, optString, type RegisterVerb } from "./command.ts";
import { connect, loadForDeploy, stepRenderer, withProjectOptions } from "./project-common.ts";

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("run <service> [...command]", "Run a one-off command in a new container of a service"), { shortP: false })
    .option("-d, --detach", "Run in the background and print the container id")
    .option("--rm", "Remove the container when it exits")
    .option("-e, --env <KEY[=VALUE]>", "Set an environment variable; KEY alone takes the shell's value (repeatable)")
    .option("-l, --label <KEY=VALUE>", "Add or override a label (repeatable)")
    .option("-u, --user <user>", "Run as this user (name or uid[:gid])")
    .option("-w, --workdir <dir>", "Working directory inside the container")
    .option("--entrypoint <cmd>", "Override the image's entrypoint (split like a shell would)")
    .option("--name <name>", "Name the container (default <project>-<service>-run-<id>)")
    .option("--no-deps", "Do not start the services this one depends on")
    .option("-p, --publish <[ip:]host:container>", "Publish a container port (repeatable)")
    .option("-P, --service-ports", "Publish the service's own ports (off by default, as in Compose)")
    .option("-v, --volume <source:target[:ro]>", "Bind mount a host path or a volume (repeatable)")
    .option("-T", "Do not allocate a TTY (the same as --no-tty)")
    .option("--no-tty", "Do not allocate a TTY (default: one when stdin and stdout are terminals)")
    .option("-i, --interactive", "Keep stdin open (--no-interactive closes it)", { default: true })
    .option("--build", "Build the image before running")
    .option("--pull <policy>", "Pull the image: always, missing (default) or never")
    .option("-q, --quiet", "Do not print progress for dependencies, pulls and builds")
    .example("fizz run --rm api ./migrate.sh")
    .example("fizz run --rm -e DEBUG=1 -v ./seed:/seed api sh -c 'load /seed'")
    .example("fizz run -d --name nightly worker ./batch --all")
    .example("fizz run --service-ports web   # with web's published ports")
    .action(
      action(async (ctx, args, options) => {
        const [serviceName, ...rest] = args;
        const command = [...rest, ...((options["--"] as string[] | undefined) ?? [])];
        if (!serviceName) throw usageError("fizz run needs a service", "e.g. fizz run --rm api sh");
        const publish = optList(options, "publish");
        if (publish.length && options.servicePorts) throw usageError("--service-ports and --publish cannot be used together");
        const pull = optString(options, "pull");
        if (pull !== undefined && !["always", "missing", "never"].includes(pull)) throw usageError(`unknown pull policy '${pull}'`, "use --pull always, missing or never");
        const project = await loadForDeploy(ctx, options);
        const service = project.services[serviceName] ?? project.disabled_services[serviceName];
        if (!service) {
          const { suggest } = await import("../core/text/suggest.ts");
          const near = suggest(serviceName, Object.keys(project.services));
          throw usageError(`no such service: ${serviceName}`, near ? `did you mean '${near}'?` : `the project's services: ${Object.keys(project.services).join(", ")}`);
        }
        const entrypointRaw = optString(options, "entrypoint");
        const { shellSplit } = await import("../core/compose/normalize.ts");
        const tty = !noTty(options) && process.stdin.isTTY === true && process.stdout.isTTY === true;
        const detach = options.detach === true;
        const interactive = options.interactive !== false && !detach;
        const engine = await connect(options, ctx);
        try {
          const { runOneOff } = await import("./run-one-off.ts");
          return await runOneOff(ctx, engine, project, serviceName, {
            overrides: {
              ...(command.length ? { command } : {}),
              ...(entrypointRaw !== undefined ? { entrypoint: entrypointRaw === "" ? [] : shellSplit(entrypointRaw) } : {}),
              env: optList(options, "env"),
              labels: optList(options, "label"),
              ...(optString(options, "user") ? { user: optString(options, "user")! } : {}),
              ...(optString(options, "workdir") ? { workdir: optString(options, "workdir")! } : {}),
              ...(optString(options, "name") ? { name: optString(options, "name")! } : {}),
              publish,
              servicePorts: options.servicePorts === true,
              volumes: optList(options, "volume"),
              tty,
              interactive,
              autoRemove: options.rm === true,
            },
            detach,
            noDeps: options.deps === false,
            ...(pull ? { pull: pull as "always" | "missing" | "never" } : {}),
            build: options.build === true,
            render: stepRenderer(ctx, { quiet: options.quiet === true }),
          });
        } finally {
          await engine.close();
        }
      }),
    );
};
