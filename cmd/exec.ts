/** `fizz exec service cmd…`: run a command in a running container of a service. */
import { FizzError, usageError } from "../core/errors.ts";
import { LABEL, projectFilter } from "../core/labels.ts";
import { noTty, optList, optString, type RegisterVerb } from "./command.ts";
import { connect, projectOrName, requireServices, withProjectOptions } from "./project-common.ts";
import { noContainerError } from "./service-containers.ts";

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("exec <service> [...command]", "Run a command in a running container of a service"))
    .option("-T", "Do not allocate a TTY (the same as --no-tty)")
    .option("--no-tty", "Do not allocate a TTY (default: a TTY when stdin is one)")
    .option("-e, --env <KEY=VALUE>", "Set an environment variable (repeatable)")
    .option("-u, --user <user>", "Run as this user")
    .option("-w, --workdir <dir>", "Working directory inside the container")
    .option("--index <n>", "Which replica (default 1)")
    .option("--privileged", "Give extended privileges to the command")
    .action(
      action(async (ctx, args, options) => {
        const [service, ...rest] = args;
        const command = [...rest, ...((options["--"] as string[] | undefined) ?? [])];
        if (!service) throw usageError("fizz exec needs a service and a command", "e.g. fizz exec web sh -c 'ls /'");
        if (!command.length) throw usageError(`fizz exec ${service}: no command given`, `e.g. fizz exec ${service} sh`);
        const index = Number(optString(options, "index") ?? "1");
        if (!Number.isInteger(index) || index < 1) throw usageError(`--index expects a replica number from 1`);
        const env = optList(options, "env");
        for (const e of env) if (!e.includes("=")) throw usageError(`--env expects KEY=VALUE, got '${e}'`);
        const { project, name } = await projectOrName(options);
        const engine = await connect(options, ctx);
        try {
          const list = await engine.containers.list({ labels: [...projectFilter(name), `${LABEL.service}=${service}`, `${LABEL.containerNumber}=${index}`] });
          const c = list.find((x) => x.Labels?.[LABEL.oneoff] !== "True");
          // A name the compose file does not have is a typo ('did you mean'), not a service to start; an orphan's container still answers above.
          if (!c) requireServices(project, [service], { disabledToo: true });
          // In a cluster the replica may run on another node: the error says which one to ask.
          if (!c) throw await noContainerError(ctx, name, service, index > 1 || optString(options, "index") !== undefined ? index : undefined, "running container");
          const tty = !noTty(options) && process.stdin.isTTY === true && process.stdout.isTTY === true;
          const body = {
            Cmd: command,
            AttachStdout: true,
            AttachStderr: true,
            Tty: tty,
            ...(env.length ? { Env: env } : {}),
            ...(optString(options, "user") ? { User: optString(options, "user")! } : {}),
            ...(optString(options, "workdir") ? { WorkingDir: optString(options, "workdir")! } : {}),
            ...(options.privileged ? { Privileged: true } : {}),
          };
          // stdin is forwarded when it is a terminal (TTY mode) or a pipe/file; -T with a terminal attaches none.
          const withStdin = tty || process.stdin.isTTY !== true;
          const execId = await engine.exec.create(c.Id, { ...body, ...(withStdin ? { AttachStdin: true } : {}) });
          if (withStdin) await runInteractive(engine, execId, tty);
          else {
            for await (const f of engine.exec.start(execId, { tty: false })) (f.stream === "stderr" ? process.stderr : process.stdout).write(f.data);
          }
          return (await engine.exec.exitCode(execId)) ?? 1;
        } finally {
          await engine.close();
        }
      }),
    );
};

/** Wires the terminal (or a pipe) to a hijacked exec: raw mode and window size with a TTY, EOF passed on. */
async function runInteractive(engine: import("../platform/engine/index.ts").Engine, execId: string, tty: boolean): Promise<void> {
  const stream = await engine.exec.startInteractive(execId, { tty });
  const stdin = process.stdin;
  const resize = () => {
    const { columns, rows } = process.stdout;
    if (!columns || !rows) return;
    void engine.transport
      .empty({ method: "POST", path: `/exec/${encodeURIComponent(execId)}/resize`, query: { h: rows, w: columns }, ctx: { action: "resize exec" } })
      .catch(() => {});
  };
  if (tty) {
    stdin.setRawMode?.(true);
    resize();
    process.stdout.on("resize", resize);
  }
  const onData = (d: Buffer) => void stream.write(d).catch(() => {});
  const onEnd = () => stream.end();
  stdin.on("data", onData);
  stdin.once("end", onEnd);
  stdin.resume();
  try {
    for await (const f of stream.output) (f.stream === "stderr" ? process.stderr : process.stdout).write(f.data);
  } finally {
    stdin.removeListener("data", onData);
    stdin.removeListener("end", onEnd);
    if (tty) {
      stdin.setRawMode?.(false);
      process.stdout.removeListener("resize", resize);
    }
    stdin.pause();
    stream.close();
  }
}
