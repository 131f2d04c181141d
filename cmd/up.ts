/**
 * `fizz up`: converge the engine to the compose project (create networks,
 * volumes, pull/build images, create/recreate/start containers in dependency
 * order, waiting for health and completion conditions). Attached, it streams
 * logs and restarts unhealthy containers until Ctrl-C, which stops the stack;
 * with --wait it returns once everything is running and healthy.
 */
import { FizzError, usageError } from "../core/errors.ts";
import { optList, optString, type RegisterVerb } from "./command.ts";
import { paint } from "./context.ts";
import { connect, fizzVersion, loadForDeploy, openLocalStore, stepRenderer, withProjectOptions, projectEnvOf } from "./project-common.ts";
import { PROGRESS_FLAG, progressMode, progressRenderer } from "./progress.ts";

const PULL = ["always", "missing", "never"] as const;

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("up [...services]", "Create and start the project's containers (only what changed)"))
    .option("-d, --detach", "Run in the background: return once the stack is started")
    .option("--build", "Build images before starting containers")
    .option("--pull <policy>", "Pull images: always, missing (default) or never")
    .option("--force-recreate", "Recreate containers even if their configuration did not change")
    .option("--no-recreate", "Never recreate existing containers")
    .option("--no-deps", "Do not start the services the targets depend on")
    .option("--remove-orphans", "Remove containers of services no longer in the compose file")
    .option("--wait", "Wait until every service is running and healthy (implies --detach)")
    .option("--wait-timeout <seconds>", "Give up waiting after this many seconds (default 600)")
    .option("--scale <service=n>", "Run n replicas of a service (repeatable)")
    .option("--dry-run", "Print what would change, change nothing")
    .option("--abort-on-container-exit", "Attached: stop every container when one exits (exit with its code)")
    .option("--exit-code-from <service>", "Attached: exit with this service's exit code (implies --abort-on-container-exit)")
    .option(...PROGRESS_FLAG)
    .option("--no-agent", "With -d/--wait: converge directly on the engine instead of handing the project to the fizz agent (also FIZZ_NO_AGENT=1)")
    .action(
      action(async (ctx, services, options) => {
        const pull = optString(options, "pull");
        const mode = progressMode(options);
        if (pull !== undefined && !(PULL as readonly string[]).includes(pull)) throw usageError(`unknown pull policy '${pull}'`, "use --pull always, missing or never");
        const waitTimeoutS = Number(optString(options, "waitTimeout") ?? "600");
        if (!Number.isFinite(waitTimeoutS) || waitTimeoutS <= 0) throw usageError(`--wait-timeout must be a positive number of seconds`);
        const scale: Record<string, number> = {};
        for (const v of optList(options, "scale")) {
          const m = /^([^=]+)=(\d+)$/.exec(v);
          if (!m) throw usageError(`--scale expects service=count, got '${v}'`);
          scale[m[1]!] = Number(m[2]);
        }

        const exitCodeFrom = optString(options, "exitCodeFrom");
        const abortOnExit = options.abortOnContainerExit === true || exitCodeFrom !== undefined;
        if (abortOnExit && (options.detach || options.wait)) throw usageError(`${exitCodeFrom !== undefined ? "--exit-code-from" : "--abort-on-container-exit"} needs the attached up; drop ${options.wait ? "--wait" : "-d"}`);
        const project = await loadForDeploy(ctx, options);
        if (exitCodeFrom !== undefined && !project.services[exitCodeFrom] && !services.includes(exitCodeFrom)) {
          const { suggest } = await import("../core/text/suggest.ts");
          const near = suggest(exitCodeFrom, Object.keys(project.services));
          throw usageError(`--exit-code-from: no such service: ${exitCodeFrom}`, near ? `did you mean '${near}'?` : undefined);
        }
        for (const s of [...services, ...Object.keys(scale)]) {
          if (!project.services[s] && !project.disabled_services[s]) {
            const { suggest } = await import("../core/text/suggest.ts");
            const near = suggest(s, Object.keys(project.services));
            throw new FizzError({ code: "compose.unknown_service", message: `no such service: ${s}`, ...(near ? { hint: `did you mean '${near}'?` } : {}) });
          }
        }
        // x-fizz.scaling bounds --scale as it bounds fizz scale (the agent checks it again).
        const { scalingViolation } = await import("../core/compose/xfizz.ts");
        for (const [s, n] of Object.entries(scale)) {
          const bad = project.services[s] && scalingViolation(project.services[s], n, "--scale");
          if (bad) throw new FizzError({ code: "deploy.out_of_bounds", message: bad.message, hint: bad.hint });
        }
        // Detached, the project goes to the agent, which keeps it converged and healthy afterwards.
        // An agent drives one engine: it refuses when the user named another (cmd/engine-choice.ts).
        const { agentDisabled } = await import("./agent-mode.ts");
        if ((options.detach || options.wait) && !options.dryRun && !agentDisabled(options)) {
          const [{ upThroughAgent }, { agentForUp }] = await Promise.all([import("./up-agent.ts"), import("./engine-choice.ts")]);
          const { enableTargets } = await import("../core/deploy/targets.ts");
          return upThroughAgent(ctx, await agentForUp(ctx, options), services.length ? enableTargets(project, services) : project, {
            ...(pull ? { pull: pull as (typeof PULL)[number] } : {}),
            ...(options.build ? { build: true } : {}),
            ...(options.forceRecreate ? { forceRecreate: true } : {}),
            ...(options.recreate === false ? { noRecreate: true } : {}),
            ...(options.removeOrphans ? { removeOrphans: true } : {}),
            ...(options.wait ? { wait: true, timeoutSeconds: waitTimeoutS } : {}),
            ...(Object.keys(scale).length ? { scale } : {}),
            // `up -d web`: the agent changes web (and its dependencies unless --no-deps) and keeps the rest as it runs.
            ...(services.length ? { services } : {}),
            ...(services.length && options.deps === false ? { noDeps: true } : {}),
          }, mode);
        }
        const [engine, store, version] = await Promise.all([connect(options, ctx), openLocalStore(), fizzVersion()]);
        try {
          const { prepareProject, readActual } = await import("../platform/deploy/project.ts");
          const { plan } = await import("../core/reconcile/plan.ts");
          const { describePlan } = await import("../core/reconcile/describe.ts");
          const { executePlan } = await import("../platform/deploy/executor.ts");
          const { EngineExecutor } = await import("../platform/deploy/engine-adapter.ts");
          const { converge } = await import("../platform/deploy/converge.ts");

          const prepared = prepareProject(project, {
            hostEnv: process.env,
            ...projectEnvOf(project),
            ...(store ? { node: store.nodeId() } : {}),
            fizzVersion: version,
            replicas: scale,
            ...(services.length ? { targets: services } : {}),
            writeLocalFiles: !options.dryRun,
          });
          const { unhonouredByEngine } = await import("../core/engine/unhonoured.ts");
          for (const w of [...prepared.warnings, ...unhonouredByEngine(prepared.project, engine)]) ctx.err(`${paint(ctx, "33", "warning:")} ${w}\n`);
          const planOptions = {
            ...(services.length ? { services } : {}),
            ...(options.forceRecreate ? { forceRecreate: true } : {}),
            ...(options.recreate === false ? { noRecreate: true } : {}),
            ...(options.deps === false ? { noDeps: true } : {}),
            ...(options.removeOrphans ? { removeOrphans: true } : {}),
            ...(pull ? { pull: pull as (typeof PULL)[number] } : {}),
            ...(options.build ? { build: true } : {}),
          };
          if (options.dryRun) {
            const p = plan(prepared.desired, await readActual(engine, project.name), planOptions);
            for (const w of p.warnings) ctx.err(`${paint(ctx, "33", "warning:")} ${w}\n`);
            const lines = describePlan({ ...p, warnings: [] });
            ctx.out(lines.length ? `${lines.join("\n")}\n` : `Nothing to do: project ${project.name} is up to date\n`);
            return 0;
          }
          // Attached, only what the containers print from now on is shown, as Compose attaches (no replay of earlier runs),
          // read on the engine's clock so a remote engine's skew loses no line of the containers this up starts.
          const { sinceTimestamp } = await import("../core/duration.ts");
          const engineTime = options.detach || options.wait ? undefined : (await engine.info().catch(() => undefined))?.SystemTime;
          const attachFrom = options.detach || options.wait ? undefined : ((engineTime && sinceTimestamp(engineTime, Date.now())) ?? sinceTimestamp("0s", Date.now()));
          const instance = { ...(store ? { node: store.nodeId() } : {}), fizzVersion: version };
          const controller = new AbortController();
          const onSigint = () => controller.abort();
          process.once("SIGINT", onSigint);
          let outcome;
          const progress = progressRenderer(ctx, mode);
          try {
            outcome = await converge(engine, prepared, planOptions, {
              instance,
              onEvent: progress.onEvent,
              waitTimeoutMs: waitTimeoutS * 1000,
              signal: controller.signal,
            });
          } finally {
            progress.finish();
            process.removeListener("SIGINT", onSigint);
          }
          for (const w of outcome.plan.warnings) ctx.err(`${paint(ctx, "33", "warning:")} ${w}\n`);
          const { result } = outcome;
          if (!result.ok) throw result.error!;
          if (outcome.plan.steps.length === 0 && !outcome.imageSteps && mode !== "quiet" && mode !== "json") ctx.err(` ${paint(ctx, "32", "✔")} Project ${project.name} is up to date\n`);

          const { HealthMonitor, healthEngineOf } = await import("../platform/deploy/health-monitor.ts");
          const monitor = new HealthMonitor(healthEngineOf(engine), prepared.project, {
            ...(store ? { store } : {}),
            onEvent: (e) => {
              if (e.type === "restart") ctx.err(` ${paint(ctx, "33", "↻")} Container ${e.container} restarting: ${e.reason}\n`);
              else if (e.type === "give-up") ctx.err(` ${paint(ctx, "31", "✘")} Container ${e.container}: giving up: ${e.reason}\n`);
            },
          });

          if (options.wait) {
            const { waitHealthy } = await import("../platform/deploy/wait-healthy.ts");
            await waitHealthy(engine, prepared.desired, { services, timeoutMs: waitTimeoutS * 1000, monitor });
            ctx.err(` ${paint(ctx, "32", "✔")} Project ${project.name} is running and healthy\n`);
            return 0;
          }
          if (options.detach) return 0;

          // Attached: stream logs, keep containers healthy, stop the stack on Ctrl-C.
          const { streamLogs } = await import("./log-stream.ts");
          const logsAbort = new AbortController();
          let interrupted = false;
          let onInterrupt = () => {};
          const interrupt = new Promise<void>((r) => (onInterrupt = r));
          const stopOnSigint = () => {
            if (interrupted) process.exit(130);
            interrupted = true;
            ctx.err("Gracefully stopping... (press Ctrl+C again to force)\n");
            onInterrupt();
          };
          process.on("SIGINT", stopOnSigint);
          process.on("SIGTERM", stopOnSigint);
          monitor.start(2000);
          // The project's services only (an orphan is not attached to, as in Compose), or the ones named.
          const attached = services.length ? [...services] : Object.keys(project.services);
          const allDone = watchAllExited(engine, project.name, attached, logsAbort);
          const logs = streamLogs(ctx, engine, { project: project.name, follow: true, prefix: true, signal: logsAbort.signal, services: attached, ...(attachFrom ? { since: attachFrom } : {}) });
          // --abort-on-container-exit: the first container to exit (of those running when attached) stops the stack.
          const firstExit = abortOnExit ? watchFirstExit(engine, project.name, attached, logsAbort.signal) : new Promise<never>(() => {});
          let exited: Exited | undefined;
          await Promise.race([logs, interrupt, firstExit.then((e) => void (exited = e))]);
          monitor.stop();
          if (exited) {
            ctx.err(`Aborting on container exit... (${exited.name} exited with code ${exited.exitCode})\n`);
            const { planStop } = await import("../core/reconcile/lifecycle.ts");
            const stop = planStop(prepared.desired, await readActual(engine, project.name), services.length ? services : undefined);
            const r = await executePlan(stop, new EngineExecutor(engine), { project: project.name, instance: {}, onEvent: stepRenderer(ctx) });
            // Let the log streams flush what the containers printed while stopping.
            await new Promise((res) => setTimeout(res, 500));
            logsAbort.abort();
            await Promise.allSettled([logs, allDone]);
            process.removeListener("SIGINT", stopOnSigint);
            process.removeListener("SIGTERM", stopOnSigint);
            if (!r.ok) throw r.error!;
            if (exitCodeFrom === undefined || exitCodeFrom === exited.service) return exited.exitCode;
            return await exitCodeOf(engine, project.name, exitCodeFrom);
          }
          if (interrupted) {
            // The logs keep flowing while the containers stop: what they print on SIGTERM is shown, as Compose shows it.
            const { planStop } = await import("../core/reconcile/lifecycle.ts");
            const stop = planStop(prepared.desired, await readActual(engine, project.name), services.length ? services : undefined);
            const r = await executePlan(stop, new EngineExecutor(engine), { project: project.name, instance: {}, onEvent: stepRenderer(ctx) });
            logsAbort.abort();
            await Promise.allSettled([logs, allDone]);
            process.removeListener("SIGINT", stopOnSigint);
            process.removeListener("SIGTERM", stopOnSigint);
            if (!r.ok) throw r.error!;
            return 130;
          }
          await allDone.catch(() => {});
          process.removeListener("SIGINT", stopOnSigint);
          process.removeListener("SIGTERM", stopOnSigint);
          return 0;
        } finally {
          store?.close();
          await engine.close();
        }
      }),
    );
};

interface Exited {
  readonly service: string;
  readonly name: string;
  readonly exitCode: number;
}

/** The first of the attached services' containers to exit after this call (one already exited when it starts is not one). */
async function watchFirstExit(engine: import("../platform/engine/index.ts").Engine, project: string, services: readonly string[], signal: AbortSignal): Promise<Exited> {
  const { LABEL, projectFilter } = await import("../core/labels.ts");
  const { exitCodeFromStatus } = await import("../core/deploy/actual.ts");
  const list = async () => (await engine.containers.list({ all: true, labels: projectFilter(project) })).filter((c) => services.includes(c.Labels?.[LABEL.service] ?? "") && c.Labels?.[LABEL.oneoff] !== "True");
  const stopped = (c: { State: unknown }) => ["exited", "dead"].includes(String(c.State).toLowerCase());
  const before = new Set((await list()).filter(stopped).map((c) => c.Id));
  for (;;) {
    await new Promise((r) => setTimeout(r, 500));
    if (signal.aborted) return new Promise<never>(() => {});
    const gone = (await list().catch(() => [])).find((c) => stopped(c) && !before.has(c.Id));
    if (gone) return { service: gone.Labels?.[LABEL.service] ?? "", name: (gone.Names[0] ?? gone.Id).replace(/^\//, ""), exitCode: exitCodeFromStatus(gone.Status) ?? 0 };
  }
}

/** --exit-code-from: the exit code of that service's (first) container, once the stack is stopped. */
async function exitCodeOf(engine: import("../platform/engine/index.ts").Engine, project: string, service: string): Promise<number> {
  const { LABEL, projectFilter } = await import("../core/labels.ts");
  const cs = (await engine.containers.list({ all: true, labels: projectFilter(project) }))
    .filter((c) => c.Labels?.[LABEL.service] === service && c.Labels?.[LABEL.oneoff] !== "True")
    .sort((a, b) => Number(a.Labels?.[LABEL.containerNumber] ?? 0) - Number(b.Labels?.[LABEL.containerNumber] ?? 0));
  const c = cs[0] ? await engine.containers.find(cs[0].Id) : undefined;
  return c?.State.ExitCode ?? 0;
}

/** Like Compose attached mode: when every container of the project has stopped, stop following. */
async function watchAllExited(engine: import("../platform/engine/index.ts").Engine, project: string, services: readonly string[], abort: AbortController): Promise<void> {
  const { LABEL, projectFilter } = await import("../core/labels.ts");
  while (!abort.signal.aborted) {
    await new Promise((r) => setTimeout(r, 1000));
    const cs = (await engine.containers.list({ all: true, labels: projectFilter(project) })).filter((c) => services.includes(c.Labels?.[LABEL.service] ?? "") && c.Labels?.[LABEL.oneoff] !== "True");
    if (cs.length && cs.every((c) => ["exited", "dead"].includes(String(c.State).toLowerCase()))) {
      // Let log streams flush the last lines.
      await new Promise((r) => setTimeout(r, 500));
      abort.abort();
    }
  }
}
