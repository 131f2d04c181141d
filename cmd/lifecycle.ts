/** `fizz start|stop|restart [services…]`: act on existing containers, in dependency order. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { connect, loadForDeploy, stepRenderer, withProjectOptions, requireServices, projectEnvOf } from "./project-common.ts";
import { agentKeepsRunning, agentLeavesStopped } from "./user-stop.ts";

type Verb = "start" | "stop" | "restart";

const DESCRIPTIONS: Record<Verb, string> = {
  start: "Start the project's existing containers (dependencies first)",
  stop: "Stop the project's running containers (dependents first)",
  restart: "Restart the project's containers",
};

function registerOne(verb: Verb): RegisterVerb {
  return (cli, action) => {
    const cmd = withProjectOptions(cli.command(`${verb} [...services]`, DESCRIPTIONS[verb]));
    if (verb !== "start") cmd.option("-t, --timeout <seconds>", "Seconds to wait for a container to stop before killing it");
    if (verb === "restart") cmd.option("--no-deps", "Do not restart services that depend on the restarted ones");
    cmd.action(
      action(async (ctx, services, options) => {
        const timeout = optString(options, "timeout");
        if (timeout !== undefined && !/^\d+$/.test(timeout)) throw usageError(`--timeout expects whole seconds, got '${timeout}'`);
        const project = await loadForDeploy(ctx, options);
        requireServices(project, services);
        const engine = await connect(options, ctx);
        try {
          const { prepareProject, readActual } = await import("../platform/deploy/project.ts");
          const lifecycle = await import("../core/reconcile/lifecycle.ts");
          const { executePlan } = await import("../platform/deploy/executor.ts");
          const { EngineExecutor } = await import("../platform/deploy/engine-adapter.ts");
          const { desired } = prepareProject(project, {
            hostEnv: process.env,
            ...projectEnvOf(project),
            // start and restart start containers whose bind-mounted files a reboot took from tmpfs.
            writeLocalFiles: verb !== "stop",
          });
          const actual = await readActual(engine, project.name);
          const targets = services.length ? services : undefined;
          const p =
            verb === "start"
              ? lifecycle.planStart(desired, actual, targets)
              : verb === "stop"
                ? lifecycle.planStop(desired, actual, targets)
                : lifecycle.planRestart(desired, actual, targets, options.deps === false ? { noDeps: true } : {});
          // The agent that keeps this deployment leaves what is stopped stopped, and keeps what is started running.
          await (verb === "stop" ? agentLeavesStopped(ctx, engine, project.name, services, "stop") : agentKeepsRunning(ctx, engine, project.name, services));
          // This node's containers only: in a cluster the replicas on other nodes are said, as kill, rm and pause say them.
          const { noteElsewhere } = await import("./service-containers.ts");
          await noteElsewhere(ctx, project.name, services, `${verb}${verb === "stop" ? "ped" : "ed"}`);
          const r = await executePlan(p, new EngineExecutor(engine), {
            project: project.name,
            instance: {},
            onEvent: stepRenderer(ctx),
            ...(timeout ? { stopTimeoutSeconds: Number(timeout) } : {}),
          });
          if (!r.ok) throw r.error!;
          if (p.steps.length === 0) ctx.err(`Nothing to ${verb}${verb === "start" ? ": no stopped containers (use 'fizz up' to create them)" : ""}\n`);
          return 0;
        } finally {
          await engine.close();
        }
      }),
    );
  };
}

export const registerStart = registerOne("start");
export const registerStop = registerOne("stop");
export const registerRestart = registerOne("restart");
