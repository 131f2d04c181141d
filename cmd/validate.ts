/** `fizz validate [file…]`: every error and warning in a compose project, located; exit 0 when valid, 1 when not. */
import { isAbsolute, relative } from "node:path";
import type { RegisterVerb } from "./command.ts";
import { loadProject, readComposeOptions, withComposeOptions } from "./compose-load.ts";
import { formatDiagnostic } from "../core/compose/diagnostics.ts";
import { usageError } from "../core/errors.ts";
import { optString } from "./command.ts";
import { paint } from "./context.ts";

export const register: RegisterVerb = (cli, action) => {
  withComposeOptions(cli.command("validate [...files]", "Check compose files: all errors and warnings with file:line:col"))
    .option("-q, --quiet", "Print nothing; only the exit code says whether the project is valid")
    .option("--format <format>", "Output format: text (default) or json")
    .action(
      action(async (ctx, args, options) => {
        const format = optString(options, "format") ?? "text";
        if (format !== "text" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format text or --format json");
        const result = await loadProject(readComposeOptions(options, args));
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
