/**
 * `fizz watch [services…]`: Compose's develop.watch. Starts the project
 * (unless --no-up, or the fizz agent already keeps it), then watches each
 * rule's path and, after a quiet moment (debounce), syncs changed files into
 * the service's running containers (then restarts or execs when the rule
 * says so), restarts, or rebuilds the image and recreates only that service.
 * One line per action. Ctrl-C stops watching and leaves the stack running.
 */
import { FizzError, usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { paint } from "./context.ts";
import { connect, loadForDeploy, stepRenderer, withProjectOptions, requireServices, projectEnvOf } from "./project-common.ts";

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("watch [...services]", "Sync, restart or rebuild services as their develop.watch paths change"))
    .option("--no-up", "Do not build and start the services first")
    .option("--debounce <ms>", "Quiet time before acting on a batch of changes (default 500)")
    .option("--quiet", "Only print errors")
    .example("fizz watch")
    .example("fizz watch web api")
    .example("fizz watch --no-up --debounce 200")
    .action(
      action(async (ctx, services, options) => {
        const debounce = Number(optString(options, "debounce") ?? "500");
        if (!Number.isInteger(debounce) || debounce < 0 || debounce > 60_000) throw usageError(`--debounce expects milliseconds from 0 to 60000, got '${optString(options, "debounce")}'`);
        const project = await loadForDeploy(ctx, options);
        requireServices(project, services);
        const watched = (services.length ? services : Object.keys(project.services)).filter((s) => project.services[s]!.develop?.watch?.length);
        if (!watched.length) {
          throw new FizzError({
            code: "watch.nothing",
            message: services.length ? `no develop.watch rules for ${services.join(", ")}` : "no service has develop.watch rules",
            hint: "add e.g. develop: {watch: [{path: ./src, action: sync, target: /app/src}]} to a service",
          });
        }
        const engine = await connect(options, ctx);
        try {
          const [{ prepareProject }, { converge }, { compileRules, watchRoots, planWatch }, { watchTrees }, apply, { EngineExecutor }, { managedByAgent, pickContainers, containerName }, fs] = await Promise.all([
            import("../platform/deploy/project.ts"),
            import("../platform/deploy/converge.ts"),
            import("../core/watch/index.ts"),
            import("../platform/watch/watcher.ts"),
            import("../platform/watch/apply.ts"),
            import("../platform/deploy/engine-adapter.ts"),
            import("./service-containers.ts"),
            import("node:fs"),
          ]);
          const prepared = prepareProject(project, { hostEnv: process.env, ...projectEnvOf(project), writeLocalFiles: true });
          const managed = await managedByAgent(ctx, project.name);
          const quiet = options.quiet === true;
          const say = (line: string) => {
            if (!quiet) ctx.err(`${line}\n`);
          };
          if (options.up !== false && !managed) {
            const r = await converge(engine, prepared, {}, { instance: {}, onEvent: stepRenderer(ctx, { quiet }) });
            if (!r.result.ok) throw r.result.error!;
          }
          const { readUserText } = await import("../platform/user-file.ts");
          const rules = compileRules(prepared.project, watched, (dir) => readUserText(`${dir}/.dockerignore`, { what: ".dockerignore" }));
          const roots = watchRoots(rules, (p) => fs.existsSync(p) && fs.statSync(p).isDirectory());
          const mark = paint(ctx, "36", "⦿");
          const bad = paint(ctx, "31", "✘");
          const { counted: plural } = await import("../core/text/counted.ts");

          const handle = async (changes: import("../core/watch/index.ts").Change[]) => {
            for (const a of planWatch(rules, changes)) {
              const t0 = performance.now();
              const ms = () => `${Math.round(performance.now() - t0)} ms`;
              try {
                if (a.kind === "rebuild") {
                  say(` ${mark} ${a.service}: ${plural(a.paths.length, "change")} under a rebuild path; rebuilding`);
                  const svc = prepared.desired.services.find((s) => s.name === a.service)!;
                  await new EngineExecutor(engine, prepared.builds).buildImage(undefined, a.service, svc.image, () => {});
                  if (managed) {
                    const { agentClient } = await import("./agent-client.ts");
                    await (await agentClient(ctx)).up(project.name, { project: prepared.project as unknown as Record<string, unknown>, workingDir: project.working_dir, options: {} });
                  } else {
                    const r = await converge(engine, prepared, { services: [a.service], noDeps: true }, { instance: {}, onEvent: quiet ? () => {} : stepRenderer(ctx) });
                    if (!r.result.ok) throw r.result.error!;
                  }
                  say(` ${mark} ${a.service}: rebuilt and recreated in ${ms()}`);
                  continue;
                }
                const running = await pickContainers(engine, project.name, { services: [a.service], all: false });
                if (!running.length) {
                  say(` ${bad} ${a.service}: no running container to ${a.kind === "sync" ? "sync into" : "restart"}; skipped`);
                  continue;
                }
                const names = running.map(containerName).join(", ");
                if (a.kind === "sync") {
                  await Promise.all(running.map((c) => apply.syncInto(engine, c, a.copy, a.remove)));
                  let then = "";
                  if (a.then === "restart") {
                    await Promise.all(running.map((c) => engine.containers.restart(c.Id, { timeout: 10 })));
                    then = " and restarted";
                  } else if (a.then && a.then.exec) {
                    for (const c of running) {
                      const r = await apply.execHook(engine, c, a.then.exec);
                      if (r.exitCode !== 0) say(` ${bad} ${containerName(c)}: ${(a.then.exec.command ?? []).join(" ")} exited ${r.exitCode}${r.output ? `: ${r.output}` : ""}`);
                    }
                    then = ` and ran ${(a.then.exec.command ?? []).join(" ")}`;
                  }
                  const what = [a.copy.length ? `synced ${plural(a.copy.length, "file")}` : "", a.remove.length ? `removed ${a.remove.length}` : ""].filter(Boolean).join(", ");
                  say(` ${mark} ${a.service}: ${what} to ${names}${then} in ${ms()}`);
                } else {
                  await Promise.all(running.map((c) => engine.containers.restart(c.Id, { timeout: 10 })));
                  say(` ${mark} ${a.service}: restarted ${names} after ${plural(a.paths.length, "change")} in ${ms()}`);
                }
              } catch (e) {
                ctx.err(` ${bad} ${a.service}: ${a.kind} failed: ${e instanceof Error ? e.message : String(e)}\n`);
              }
            }
          };

          const watcher = watchTrees(roots, handle, { debounceMs: debounce, onError: (e) => ctx.err(` ${bad} watch: ${e instanceof Error ? e.message : String(e)}\n`) });
          say(`Watching ${roots.join(", ")} for ${watched.join(", ")}${managed ? " (the fizz agent keeps the deployment)" : ""}; Ctrl-C to stop`);
          await new Promise<void>((resolve) => {
            const stop = () => {
              process.removeListener("SIGINT", stop);
              process.removeListener("SIGTERM", stop);
              resolve();
            };
            process.on("SIGINT", stop);
            process.on("SIGTERM", stop);
          });
          watcher.close();
          say("Stopped watching; the services keep running (fizz down stops them)");
          return 0;
        } finally {
          await engine.close();
        }
      }),
    );
};
