/**
 * What the project verbs (up, down, ps, logs, start, stop, restart, exec,
 * pull, build) share: the --engine flag, connecting, loading the compose
 * project with its warnings printed, and rendering plan steps as they run.
 */
import type { Command } from "cac";
import type { Project } from "../core/compose/model.ts";
import type { SourceLocation } from "../core/errors.ts";
import type { ServiceTemplate } from "../core/deploy/container-spec.ts";
import { stepSubject, STEP_DONE, STEP_OBJECT } from "../core/reconcile/progress.ts";
import { reasonText } from "../core/reconcile/describe.ts";
import { optString, type Options } from "./command.ts";
import { loadProject, loadProjectOrThrow, readComposeOptions, withComposeOptions } from "./compose-load.ts";
import { paint, type Context } from "./context.ts";
import type { Engine } from "../platform/engine/index.ts";
import type { StepEvent } from "../platform/deploy/executor.ts";
import { formatDiagnostic } from "../core/compose/diagnostics.ts";
import { usageError } from "../core/errors.ts";
import { suggest } from "../core/text/suggest.ts";

export function withProjectOptions(cmd: Command, opts: { shortP?: boolean } = {}): Command {
  return withComposeOptions(cmd, opts).option(
    "--engine <engine>",
    "docker, podman, or unix:///path.sock / tcp://host:port (default: FIZZ_ENGINE, DOCKER_HOST, the running agent's engine, then the usual sockets)",
  );
}

/**
 * The engine a verb acts on: the one named (--engine, FIZZ_ENGINE,
 * DOCKER_HOST); else, given the context, the running local agent's engine;
 * else the usual sockets (cmd/engine-choice.ts).
 */
export async function connect(options: Options, ctx?: Context): Promise<Engine> {
  if (ctx) return (await import("./engine-choice.ts")).connectForProject(ctx, options);
  const { connectEngine } = await import("../platform/engine/index.ts");
  return connectEngine({ engine: optString(options, "engine") ?? process.env.FIZZ_ENGINE });
}

/** Loads the project, printing every error and warning (file:line:col) to stderr; throws when there are errors. */
/** Where each loaded project's paths were written, and its environment (for checks made after loading: secrets). */
const loaded = new WeakMap<Project, { locate?: (path: readonly (string | number)[]) => SourceLocation | undefined; environment: Record<string, string> }>();

export function loadedFrom(project: Project): { locate?: (path: readonly (string | number)[]) => SourceLocation | undefined; environment: Record<string, string> } | undefined {
  return loaded.get(project);
}

/** For prepareProject: the loaded project's environment (the shell over its .env), where `environment:` secrets are read. */
export function projectEnvOf(project: Project): { projectEnv?: Record<string, string> } {
  const env = loaded.get(project)?.environment;
  return env ? { projectEnv: env } : {};
}

export async function loadForDeploy(ctx: Context, options: Options): Promise<Project> {
  const result = await loadProject(readComposeOptions(options));
  if (result.project) loaded.set(result.project, { ...(result.locate ? { locate: result.locate } : {}), environment: result.environment });
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  for (const d of result.diagnostics) ctx.err(`${formatDiagnostic(d)}\n`);
  if (!result.project || errors.length) {
    const { FizzError } = await import("../core/errors.ts");
    throw new FizzError({
      code: "compose.invalid",
      message: `the compose project has ${errors.length || 1} error${errors.length === 1 ? "" : "s"} (listed above); nothing was changed`,
      hint: "fix them and run again; `fizz validate` checks without touching the engine",
    });
  }
  return result.project;
}

/** Loads the project if there is a compose file; else only the project name from -p / COMPOSE_PROJECT_NAME. */
export async function projectOrName(options: Options): Promise<{ project?: Project; name: string }> {
  const opts = readComposeOptions(options);
  try {
    const { project } = await loadProjectOrThrow(opts);
    return { project, name: project.name };
  } catch (e) {
    const name = opts.projectName ?? process.env.COMPOSE_PROJECT_NAME;
    if (name && opts.files.length === 0) return { name };
    throw e;
  }
}

/**
 * Refuses a service name the project does not have, naming the nearest one
 * (or listing them); services off by profile count when `disabledToo`. No
 * project (only a name from -p) checks nothing: the engine's labels decide.
 */
export function requireServices(project: Project | undefined, services: readonly string[], o: { disabledToo?: boolean } = {}): void {
  if (!project) return;
  for (const s of services) {
    if (project.services[s] || (o.disabledToo && project.disabled_services[s])) continue;
    const names = Object.keys(project.services);
    const near = suggest(s, names);
    throw usageError(`no such service: ${s}`, near ? `did you mean '${near}'?` : `the project's services: ${names.join(", ") || "(none)"}`);
  }
}

/** Compose-style lines (` ✔ Container shop-web-1  Started`); progress only on a TTY or for builds. */
export function stepRenderer(ctx: Context, opts: { quiet?: boolean } = {}): (e: StepEvent) => void {
  const tty = process.stderr.isTTY === true;
  const ok = paint(ctx, "32", "✔");
  const bad = paint(ctx, "31", "✘");
  let live = false;
  const clearLive = () => {
    if (live) ctx.err("\r\x1b[K");
    live = false;
  };
  return (e) => {
    if (opts.quiet && e.type !== "failed") return;
    if (e.type === "rollback") {
      clearLive();
      ctx.err(` ${paint(ctx, "33", "↺")} Rolled back ${e.what}\n`);
      return;
    }
    const step = e.step;
    const label = `${STEP_OBJECT[step.kind]} ${stepSubject(step)}`.padEnd(34);
    switch (e.type) {
      case "start":
        if (step.kind === "waitFor" && tty) {
          clearLive();
          ctx.err(` … ${label} Waiting (${step.condition === "service_healthy" ? "healthy" : "completed"})`);
          live = true;
        }
        return;
      case "progress":
        if (step.kind === "buildImage" && !tty) ctx.err(`   ${stepSubject(step)} | ${e.line}\n`);
        else if (tty) {
          clearLive();
          ctx.err(` … ${label} ${e.line.slice(0, Math.max(10, (process.stderr.columns ?? 100) - 45))}`);
          live = true;
        }
        return;
      case "done": {
        clearLive();
        const verb = step.kind === "waitFor" ? (step.condition === "service_healthy" ? "Healthy" : "Completed") : STEP_DONE[step.kind];
        if (step.kind === "renameContainer") return;
        // Say why a container is replaced: the question users of Compose ask most.
        const why = step.kind === "createContainer" && step.replaces ? paint(ctx, "2", ` (recreated: ${reasonText(step.reason)})`) : "";
        ctx.err(` ${ok} ${label} ${verb}${why}\n`);
        return;
      }
      case "failed":
        clearLive();
        ctx.err(` ${bad} ${label} ${e.error.message}\n`);
        return;
    }
  };
}

export function fizzVersion(): Promise<string> {
  return import("./version.ts").then((m) => m.VERSION);
}

/**
 * The local state store (node id, restart history) when the data directory is
 * usable; the CLI works without it (restart counts then live in memory only).
 */
export async function openLocalStore(): Promise<import("../platform/store/index.ts").AgentStore | undefined> {
  const [{ AgentStore }, { defaultDataDir, storePath }] = await Promise.all([import("../platform/store/index.ts"), import("../platform/data-dir.ts")]);
  try {
    return AgentStore.open(storePath(defaultDataDir()));
  } catch {
    return undefined;
  }
}

/**
 * The restarts the local agent made (its health monitor, read-only from its
 * store in the same data directory), for a `ps` that reads the engine itself:
 * a project the agent keeps is restarted by the agent, not by this CLI.
 */
export async function openAgentRestarts(): Promise<import("../platform/store/index.ts").RestartHistory | undefined> {
  const [{ readRestartHistory }, { defaultDataDir, agentStorePath }] = await Promise.all([import("../platform/store/index.ts"), import("../platform/data-dir.ts")]);
  return readRestartHistory(agentStorePath(defaultDataDir()));
}
