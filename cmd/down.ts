/** `fizz down`: stop and remove the project's containers and networks (and volumes with -v, images with --rmi). */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { paint, type Context } from "./context.ts";
import { connect, projectOrName, withProjectOptions } from "./project-common.ts";
import { PROGRESS_FLAG, progressMode, progressRenderer } from "./progress.ts";

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("down", "Stop and remove the project's containers and networks"))
    .option("-v, --volumes", "Also remove named volumes declared in the file and anonymous volumes")
    .option("--rmi <type>", "Also remove images: local (built by the project) or all")
    .option("--remove-orphans", "Also remove containers of services no longer in the compose file")
    .option("-t, --timeout <seconds>", "Seconds to wait for a container to stop before killing it")
    .option("--no-agent", "Remove directly on the engine even when a fizz agent is running (also FIZZ_NO_AGENT=1)")
    .option(...PROGRESS_FLAG)
    .action(
      action(async (ctx, _args, options) => {
        const mode = progressMode(options);
        const rmi = optString(options, "rmi");
        if (rmi !== undefined && rmi !== "local" && rmi !== "all") throw usageError(`unknown --rmi value '${rmi}'`, "use --rmi local or --rmi all");
        const { project, name } = await projectOrName(options);
        // A deployment the agent owns is taken down by the agent (else its loop would bring it back).
        const { agentDisabled, runningAgent, explicitAgent } = await import("./agent-mode.ts");
        if (!agentDisabled(options)) {
          const running = await runningAgent(ctx);
          // An agent on another engine than the one named is not asked (cmd/engine-choice.ts).
          const client = running && (await (await import("./engine-choice.ts")).agentForDown(ctx, options, running, name));
          if (!running && explicitAgent(ctx)) {
            const { agentClient } = await import("./agent-client.ts");
            await (await agentClient(ctx)).health(); // throws the precise "no agent at …" error
          }
          if (client) {
            const { FizzError } = await import("../core/errors.ts");
            try {
              const r = await client.down(name, { volumes: options.volumes === true });
              const ok = paint(ctx, "32", "✔");
              const { counted } = await import("../core/text/counted.ts");
              const what = `${counted(r.removed.containers, "container")}, ${counted(r.removed.networks, "network")}, ${counted(r.removed.volumes, "volume")}`;
              if (mode !== "quiet") {
                ctx.err(r.cluster ? ` ${ok} Deployment ${name} removed from the cluster by the fizz agent; every node takes its part down (this node: ${what})\n` : ` ${ok} Deployment ${name} removed by the fizz agent: ${what}\n`);
              }
              // Named volumes are per node, and the removal other nodes see carries no -v.
              if (r.cluster && options.volumes === true && mode !== "quiet") ctx.err(`${paint(ctx, "33", "warning:")} -v removed this node's volumes only; other nodes that ran ${name}'s replicas keep theirs (remove them there with 'docker volume rm ${name}_<volume>')\n`);
              if (!rmi) return 0;
            } catch (e) {
              if (!(e instanceof FizzError && e.status === 404) || explicitAgent(ctx)) throw e;
              // Not the agent's: a deployment made with `fizz up` attached or --no-agent; remove it directly.
            }
          }
        } else await refuseAgentOwned(ctx, name);
        const engine = await connect(options, ctx);
        try {
          const { prepareProject, readActual } = await import("../platform/deploy/project.ts");
          const { planDown } = await import("../core/reconcile/lifecycle.ts");
          const { executePlan } = await import("../platform/deploy/executor.ts");
          const { EngineExecutor } = await import("../platform/deploy/engine-adapter.ts");
          // The services the active profiles leave out are the project's too: their containers go (else the
          // network they hold could not be removed), as with `docker compose down`.
          const desired = project ? prepareProject(project, { hostEnv: process.env, targets: Object.keys(project.disabled_services) }).desired : undefined;
          const actual = await readActual(engine, name);
          const p = planDown(desired ?? name, actual, {
            ...(options.volumes ? { volumes: true } : {}),
            // Without a compose file every container of the project is "ours" to remove.
            ...(options.removeOrphans || !project ? { removeOrphans: true } : {}),
          });
          for (const w of p.warnings) ctx.err(`${paint(ctx, "33", "warning:")} ${w}\n`);
          const timeout = optString(options, "timeout");
          const progress = progressRenderer(ctx, mode);
          const r = await executePlan(p, new EngineExecutor(engine), {
            project: name,
            instance: {},
            onEvent: progress.onEvent,
            ...(timeout ? { stopTimeoutSeconds: Number(timeout) } : {}),
          }).finally(() => progress.finish());
          if (!r.ok) throw r.error!;
          const { removeLocalFiles } = await import("../platform/deploy/local-files.ts");
          removeLocalFiles(name, process.env);
          if (rmi && desired) {
            for (const s of desired.services) {
              if (rmi === "local" && !s.hasBuild) continue;
              try {
                await engine.images.remove(s.image);
                ctx.err(` ${paint(ctx, "32", "✔")} ${`Image ${s.image}`.padEnd(34)} Removed\n`);
              } catch (e) {
                if (!(e instanceof Error && /not.found|No such image/i.test(e.message))) ctx.err(`${paint(ctx, "33", "warning:")} image ${s.image}: ${e instanceof Error ? e.message : String(e)}\n`);
              }
            }
          }
          if (p.steps.length === 0 && mode !== "quiet" && mode !== "json") ctx.err(`Nothing to remove for project ${name}\n`);
          return 0;
        } finally {
          await engine.close();
        }
      }),
    );
};

/**
 * `down --no-agent` of a deployment a running agent keeps: removing it from
 * the engine would say "Removed" and the agent would start it all again, so
 * it is refused, saying how to remove it. Without an agent answering, the
 * engine is all there is and the command goes ahead.
 */
async function refuseAgentOwned(ctx: Context, name: string): Promise<void> {
  const { runningAgent } = await import("./agent-mode.ts");
  const client = await runningAgent(ctx);
  if (!client) return;
  const kept = await client.getDeployment(name).then(
    () => true,
    () => false,
  );
  if (!kept) return;
  const { FizzError } = await import("../core/errors.ts");
  throw new FizzError({
    code: "cli.agent_owned",
    message: `deployment ${name} is kept by the running fizz agent: removed from the engine alone, the agent would start it again`,
    hint: "run `fizz down` without --no-agent, which removes it through the agent",
  });
}
