/** `fizz validate [file…]`: every error and warning in a compose project, located; exit 0 when valid, 1 when not. */
import { isAbsolute, relative } from "node:path";
import type { RegisterVerb } from "./command.ts";
import { loadProject, readComposeOptions, withComposeOptions } from "./compose-load.ts";
import { formatDiagnostic } from "../core/compose/diagnostics.ts";
import { usageError } from "../core/errors.ts";
import { optString } from "./command.ts";
import { paint, type Context } from "./context.ts";
import type { LoadResult } from "../core/compose/load.ts";
import type { Diagnostic } from "../core/compose/model.ts";

export const register: RegisterVerb = (cli, action) => {
  withComposeOptions(cli.command("validate [...files]", "Check compose files: all errors and warnings with file:line:col"))
    .option("-q, --quiet", "Print nothing; only the exit code says whether the project is valid")
    .option("--format <format>", "Output format: text (default) or json")
    .action(
      action(async (ctx, args, options) => {
        const format = optString(options, "format") ?? "text";
        if (format !== "text" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format text or --format json");
        const result = await loadProject(readComposeOptions(options, args));
        if (result.project && !result.diagnostics.some((d) => d.severity === "error")) result.diagnostics.push(...(await secretDiagnostics(ctx, result)));
        const errors = result.diagnostics.filter((d) => d.severity === "error");
        const warnings = result.diagnostics.filter((d) => d.severity === "warning");
        const valid = errors.length === 0 && result.project !== undefined;
        if (options.quiet) return valid ? 0 : 1;
        if (format === "json") {
          ctx.out(`${JSON.stringify({ valid, project: result.project?.name ?? null, files: result.project?.files ?? [], errors, warnings }, null, 2)}\n`);
          return valid ? 0 : 1;
        }
        const cwd = process.cwd();
        for (const d0 of [...errors, ...warnings]) {
          // Paths relative to where the user is, like compilers print them.
          const rel = d0.file ? relative(cwd, d0.file) : undefined;
          const d = rel !== undefined && !rel.startsWith("..") && !isAbsolute(rel) ? { ...d0, file: rel } : d0;
          const line = formatDiagnostic(d);
          ctx.out(`${d.severity === "error" ? line.replace(": error:", `: ${paint(ctx, "31", "error")}:`) : line.replace(": warning:", `: ${paint(ctx, "33", "warning")}:`)}\n`);
        }
        const n = (k: number, w: string) => `${k} ${w}${k === 1 ? "" : "s"}`;
        const files = result.project?.files.map((f) => (relative(cwd, f).startsWith("..") ? f : relative(cwd, f))).join(", ") ?? "compose project";
        if (valid) {
          const count = Object.keys(result.project!.services).length;
          ctx.out(`${paint(ctx, "32", "valid")}: ${files} (${n(count, "service")}, ${n(warnings.length, "warning")})\n`);
        } else {
          ctx.out(`${paint(ctx, "31", "invalid")}: ${files}: ${n(errors.length, "error")}, ${n(warnings.length, "warning")}\n`);
        }
        return valid ? 0 : 1;
      }),
    );
};

/**
 * Secrets and configs: what can be checked here (files, variables, sizes,
 * formats), and with a running agent what only the cluster knows (stored
 * secrets exist, encrypted files open). Without an agent, one warning says
 * what was not checked.
 */
async function secretDiagnostics(ctx: Context, result: LoadResult): Promise<Diagnostic[]> {
  const project = result.project!;
  const { usesSecrets, checkSecrets } = await import("./secret-compose.ts");
  if (!usesSecrets(project)) return [];
  const { agentClient } = await import("./agent-client.ts");
  const client = await agentClient(ctx);
  const reachable = await Promise.race([client.info().then(() => true, () => false), new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref?.())]);
  const r = await checkSecrets(reachable ? client : undefined, project, { env: { ...result.environment, ...process.env } });
  const out: Diagnostic[] = r.findings.map((f) => {
    const loc = result.locate?.(f.where);
    return { severity: "error", code: f.code, message: f.message, ...(f.hint ? { hint: f.hint } : {}), path: f.where.join("."), ...(loc ? { file: loc.file, line: loc.line, column: loc.column } : {}) };
  });
  if (r.agentSkipped) out.push({ severity: "warning", code: "secrets.not_checked", message: "no fizz agent is reachable, so stored secrets and encrypted files were not checked against the cluster", hint: "fizz up checks them; or run fizz validate where an agent runs (-H)" });
  return out;
}
