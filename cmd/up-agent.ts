/**
 * `fizz up -d` through the agent: the CLI loads and validates the project and
 * resolves its environment here (the user's shell environment and files never
 * leave the CLI: the agent gets the normalised project with every env_file
 * folded in), seals its secrets, sends it with the flags, and renders the
 * change's events (typed steps) as progress until its end event.
 */
import type { Project } from "../core/compose/model.ts";
import type { ApiClient } from "../platform/api/client.ts";
import type { DeployOptions } from "../platform/api/backend.ts";
import { paint, type Context } from "./context.ts";
import { agentInputs, progressRenderer, type ProgressMode } from "./progress.ts";

export async function upThroughAgent(ctx: Context, client: ApiClient, loadedProject: Project, options: DeployOptions, mode: Exclude<ProgressMode, "auto"> = "plain"): Promise<number> {
  // Secrets and configs: checked, uploaded encrypted, and only ciphertext or references left in the project.
  const [{ sealSecrets }, { loadedFrom }] = await Promise.all([import("./secret-compose.ts"), import("./project-common.ts")]);
  const from = loadedFrom(loadedProject);
  const project = await sealSecrets(ctx, client, loadedProject, { ...(from?.locate ? { locate: from.locate } : {}), env: { ...(from?.environment ?? {}), ...process.env }, upload: true });
  const { prepareProject } = await import("../platform/deploy/project.ts");
  const prepared = prepareProject(project, { hostEnv: process.env });
  for (const w of prepared.warnings) ctx.err(`${paint(ctx, "33", "warning:")} ${w}\n`);
  const name = project.name;
  const progress = progressRenderer(ctx, mode);
  let r;
  try {
    r = await client.up(
      name,
      { project: prepared.project as unknown as Record<string, unknown>, ...(prepared.project.working_dir ? { workingDir: prepared.project.working_dir } : {}), options },
      { onEvent: (e) => progress.onInputs(agentInputs(e)) },
    );
  } finally {
    progress.finish();
  }
  // The agent's answer repeats the warnings printed above (the same project prepared there): each is said once.
  for (const w of r.warnings ?? []) if (!prepared.warnings.includes(w)) ctx.err(`${paint(ctx, "33", "warning:")} ${w}\n`);
  // json is for tools (one object per event) and quiet says failures only, as without an agent.
  if (mode === "json" || mode === "quiet") return 0;
  const steps = Object.values(r.actions ?? {}).reduce((a, b) => a + b, 0);
  // `actions` are this node's steps: in a cluster a new spec may have changed only other nodes' replicas.
  const what = steps ? "deployed" : r.created || r.changed ? "deployed (nothing to change on this node)" : "is up to date";
  ctx.err(` ${paint(ctx, "32", "✔")} Project ${name} ${what}${options.wait ? ", running and healthy" : ""}; the fizz agent keeps it converged (generation ${r.generation})\n`);
  return 0;
}
