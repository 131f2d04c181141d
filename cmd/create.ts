/** `fizz create [services…]`: create the project's containers (networks, volumes, images too) without starting them. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { connect, fizzVersion, loadForDeploy, openLocalStore, stepRenderer, withProjectOptions, requireServices, projectEnvOf } from "./project-common.ts";

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("create [...services]", "Create the project's containers without starting them"))
    .option("--build", "Build images first")
    .option("--pull <policy>", "Pull images: always, missing (default) or never")
    .option("--force-recreate", "Recreate containers even if their configuration did not change")
    .option("--no-recreate", "Never recreate existing containers")
    .option("--remove-orphans", "Remove containers of services no longer in the compose file")
    .example("fizz create")
    .example("fizz create --build web")
    .action(
      action(async (ctx, services, options) => {
        const pull = optString(options, "pull");
        if (pull !== undefined && !["always", "missing", "never"].includes(pull)) throw usageError(`unknown pull policy '${pull}'`, "use --pull always, missing or never");
        const project = await loadForDeploy(ctx, options);
        requireServices(project, services, { disabledToo: true });
        const [engine, store, version] = await Promise.all([connect(options, ctx), openLocalStore(), fizzVersion()]);
        try {
          const { prepareProject, readActual } = await import("../platform/deploy/project.ts");
          const { plan } = await import("../core/reconcile/plan.ts");
          const { executePlan } = await import("../platform/deploy/executor.ts");
          const { EngineExecutor } = await import("../platform/deploy/engine-adapter.ts");
          const prepared = prepareProject(project, { hostEnv: process.env, ...projectEnvOf(project), writeLocalFiles: true, ...(store ? { node: store.nodeId() } : {}), fizzVersion: version, ...(services.length ? { targets: services } : {}) });
          const opts = {
            ...(services.length ? { services } : {}),
            ...(options.forceRecreate ? { forceRecreate: true } : {}),
            ...(options.recreate === false ? { noRecreate: true } : {}),
            ...(options.removeOrphans ? { removeOrphans: true } : {}),
            ...(pull ? { pull: pull as "always" | "missing" | "never" } : {}),
            ...(options.build ? { build: true } : {}),
          };
          const executor = new EngineExecutor(engine, prepared.builds);
          const exec = { project: project.name, instance: { ...(store ? { node: store.nodeId() } : {}), fizzVersion: version }, onEvent: stepRenderer(ctx) };
          let p = plan(prepared.desired, await readActual(engine, project.name), opts);
          const images = p.steps.filter((s) => s.kind === "pullImage" || s.kind === "buildImage");
          if (images.length) {
            const ids = new Set(images.map((s) => s.id));
            const r = await executePlan({ steps: images.map((s) => ({ ...s, after: s.after.filter((a) => ids.has(a)) })), warnings: [] }, executor, exec);
            if (!r.ok) throw r.error!;
            p = plan(prepared.desired, await readActual(engine, project.name), { ...opts, pull: "missing", build: false });
          }
          // Everything but starting (and the health/completion gates, which need started containers).
          const steps = p.steps.filter((s) => s.kind !== "startContainer" && s.kind !== "waitFor" && s.kind !== "pullImage" && s.kind !== "buildImage");
          const kept = new Set(steps.map((s) => s.id));
          const r = await executePlan({ steps: steps.map((s) => ({ ...s, after: s.after.filter((a) => kept.has(a)) })), warnings: p.warnings }, executor, exec);
          if (!r.ok) throw r.error!;
          return 0;
        } finally {
          store?.close();
          await engine.close();
        }
      }),
    );
};
