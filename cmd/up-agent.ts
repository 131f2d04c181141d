/**
 * `fizz up -d` through the agent: the CLI loads and validates the project and
 * resolves its environment here (the user's shell environment never leaves
 * the CLI), sends the normalised project, and prints the agent's step events
 * as progress while it converges.
 */
import type { Project } from "../core/compose/model.ts";
import type { ApiClient } from "../platform/api/client.ts";
import type { DeployOptions } from "../platform/api/backend.ts";
import { paint, type Context } from "./context.ts";

const VERB: Record<string, string> = {
  createNetwork: "Created",
  createVolume: "Created",
  pullImage: "Pulled",
  buildImage: "Built",
  createContainer: "Created",
  startContainer: "Started",
  stopContainer: "Stopped",
  removeContainer: "Removed",
  removeNetwork: "Removed",
  removeVolume: "Removed",
  waitFor: "Ready",
};

export async function upThroughAgent(ctx: Context, client: ApiClient, loadedProject: Project, options: DeployOptions, scale: Record<string, number>): Promise<number> {
  // Secrets and configs: checked, uploaded encrypted, and only ciphertext or references left in the project.
  const [{ sealSecrets }, { loadedFrom }] = await Promise.all([import("./secret-compose.ts"), import("./project-common.ts")]);
  const from = loadedFrom(loadedProject);
  const project = await sealSecrets(ctx, client, loadedProject, { ...(from?.locate ? { locate: from.locate } : {}), env: { ...(from?.environment ?? {}), ...process.env }, upload: true });
  const { prepareProject } = await import("../platform/deploy/project.ts");
  const prepared = prepareProject(project, { hostEnv: process.env });
  for (const w of prepared.warnings) ctx.err(`${paint(ctx, "33", "warning:")} ${w}\n`);
  const name = project.name;

  // Follow this deployment's events from now on, as progress.
  let last = 0;
  for await (const e of client.events({ deployment: name, follow: false })) last = Math.max(last, e.id);
  const follow = new AbortController();
  const ok = paint(ctx, "32", "✔");
  const progress = (async () => {
    for await (const e of client.events({ deployment: name, since: last }, follow.signal)) {
      const kind = e.type.replace(/^step\./, "").replace(/_([a-z])/g, (_m, c: string) => c.toUpperCase());
      if (e.type === "step.failed") ctx.err(` ${paint(ctx, "31", "✘")} ${e.message}\n`);
      else if (VERB[kind] && kind !== "renameContainer") {
        const subject = e.message.split(" ")[1] ?? "";
        const why = / \(([^)]*)\)$/.exec(e.message)?.[1] ?? "";
        const recreated = kind === "createContainer" && /config-changed|image-changed|force-recreate|dependency-recreated/.test(why) ? paint(ctx, "2", ` (recreated: ${why})`) : "";
        ctx.err(` ${ok} ${`${kind.replace(/[A-Z].*/, "") === "wait" ? "Service" : kind.replace(/^(create|start|stop|remove|pull|build)/, "")} ${subject}`.padEnd(34)} ${VERB[kind]}${recreated}\n`);
      }
    }
  })().catch(() => {});

  try {
    const r = await client.up(name, { project: prepared.project as unknown as Record<string, unknown>, ...(prepared.project.working_dir ? { workingDir: prepared.project.working_dir } : {}), options });
    for (const [service, n] of Object.entries(scale)) await client.scale(name, service, n);
    // Let the last step events arrive before we stop following.
    await new Promise((res) => setTimeout(res, 300));
    for (const w of r.warnings ?? []) ctx.err(`${paint(ctx, "33", "warning:")} ${w}\n`);
    const changed = Object.values(r.actions ?? {}).reduce((a, b) => a + b, 0);
    ctx.err(` ${ok} Project ${name} ${changed ? "deployed" : "is up to date"}${options.wait ? ", running and healthy" : ""}; the fizz agent keeps it converged (generation ${r.generation})\n`);
    return 0;
  } finally {
    follow.abort();
    await progress;
  }
}
