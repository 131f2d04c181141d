/**
 * `fizz ls -a`: every Compose project this engine has (by the
 * com.docker.compose.project label), running or stopped, with Compose's
 * status summary (`running(2), exited(1)`) and config files, plus the fizz
 * agent's deployments when an agent answers (marked MANAGED).
 */
import type { Options } from "./command.ts";
import type { Context } from "./context.ts";
import { table } from "./agent-client.ts";
import { deploymentStatus } from "./deployment-status.ts";

interface Row {
  name: string;
  status: string;
  configFiles: string;
  managed: boolean;
}

export async function listAll(ctx: Context, options: Options, format: string): Promise<number> {
  const [{ connect }, { runningAgent }, { LABEL }] = await Promise.all([import("./project-common.ts"), import("./agent-mode.ts"), import("../core/labels.ts")]);
  const rows = new Map<string, Row>();
  const engine = await connect(options, ctx);
  try {
    const list = await engine.containers.list({ all: true, labels: [LABEL.project] });
    const byProject = new Map<string, { states: Map<string, number>; files: string }>();
    for (const c of list) {
      const p = c.Labels?.[LABEL.project];
      if (!p) continue;
      const e = byProject.get(p) ?? { states: new Map(), files: c.Labels?.[LABEL.configFiles] ?? "" };
      const st = String(c.State).toLowerCase();
      e.states.set(st, (e.states.get(st) ?? 0) + 1);
      byProject.set(p, e);
    }
    for (const [name, e] of byProject) {
      const status = [...e.states.entries()]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([s, n]) => `${s}(${n})`)
        .join(", ");
      rows.set(name, { name, status, configFiles: e.files, managed: false });
    }
  } finally {
    await engine.close();
  }
  const client = await runningAgent(ctx).catch(() => undefined);
  if (client) {
    for (const d of await client.listDeployments()) {
      const prev = rows.get(d.name);
      rows.set(d.name, { name: d.name, status: prev?.status ?? deploymentStatus(d), configFiles: prev?.configFiles ?? "", managed: true });
    }
  }
  const sorted = [...rows.values()].sort((a, b) => a.name.localeCompare(b.name));
  if (options.quiet) ctx.out(sorted.map((r) => `${r.name}\n`).join(""));
  else if (format === "json") ctx.out(`${JSON.stringify(sorted.map((r) => ({ Name: r.name, Status: r.status, ConfigFiles: r.configFiles, Managed: r.managed })), null, 2)}\n`);
  else ctx.out(table([["NAME", "STATUS", "MANAGED", "CONFIG FILES"], ...sorted.map((r) => [r.name, r.status, r.managed ? "agent" : "-", r.configFiles])]));
  return 0;
}
