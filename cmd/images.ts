/** `fizz pull` and `fizz build`: fetch or build the project's images without starting anything. */
import type { RegisterVerb } from "./command.ts";
import { connect, loadForDeploy, withProjectOptions, requireServices } from "./project-common.ts";
import { PROGRESS_FLAG, progressMode, progressRenderer } from "./progress.ts";
import type { Step } from "../core/reconcile/types.ts";
import type { ServiceTemplate } from "../core/deploy/container-spec.ts";

function registerImages(verb: "pull" | "build"): RegisterVerb {
  return (cli, action) => {
    const cmd = withProjectOptions(
      cli.command(`${verb} [...services]`, verb === "pull" ? "Pull the images of the project's services" : "Build the images of services that have a build section"),
    );
    cmd.option(...PROGRESS_FLAG);
    if (verb === "pull") cmd.option("--ignore-buildable", "Skip services that have a build section");
    if (verb === "build") cmd.option("--no-cache", "Build without the engine's layer cache").option("--pull", "Always pull a newer base image");
    cmd.action(
      action(async (ctx, services, options) => {
        const mode = progressMode(options);
        const project = await loadForDeploy(ctx, options);
        requireServices(project, services);
        const engine = await connect(options, ctx);
        try {
          const { prepareProject } = await import("../platform/deploy/project.ts");
          const { executePlan } = await import("../platform/deploy/executor.ts");
          const { EngineExecutor } = await import("../platform/deploy/engine-adapter.ts");
          const prepared = prepareProject(project, { hostEnv: process.env });
          const steps: Step<ServiceTemplate>[] = [];
          const seen = new Set<string>();
          for (const s of prepared.desired.services) {
            if (services.length && !services.includes(s.name)) continue;
            if (verb === "build") {
              if (!s.hasBuild) continue;
              steps.push({ kind: "buildImage", id: `build:${s.name}`, after: [], image: s.image, service: s.name, reason: { code: "requested" } });
            } else {
              if (s.hasBuild && (options.ignoreBuildable || !project.services[s.name]!.image)) continue;
              if (seen.has(s.image)) continue;
              seen.add(s.image);
              steps.push({ kind: "pullImage", id: `pull:${s.image}`, after: [], image: s.image, services: [s.name], reason: { code: "requested" } });
            }
          }
          if (!steps.length) {
            ctx.err(verb === "build" ? "No service has a build section\n" : "No image to pull\n");
            return 0;
          }
          if (verb === "build") {
            for (const b of prepared.builds.values()) {
              if (options.cache === false) b.noCache = true;
              if (options.pull) b.pull = true;
            }
          }
          const progress = progressRenderer(ctx, mode);
          const r = await executePlan({ steps, warnings: [] }, new EngineExecutor(engine, prepared.builds), {
            project: project.name,
            instance: {},
            onEvent: progress.onEvent,
          }).finally(() => progress.finish());
          if (!r.ok) throw r.error!;
          return 0;
        } finally {
          await engine.close();
        }
      }),
    );
  };
}

export const registerPull = registerImages("pull");
export const registerBuild = registerImages("build");
