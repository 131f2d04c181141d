/** `fizz version [--short] [--format json]`: Fizz's version and build commit, like `docker compose version`. */
import { usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import { buildCommit, VERSION, versionLine } from "./version.ts";

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("version", "Print Fizz's version and build commit")
    .option("--short", "Only the version number")
    .option("-f, --format <format>", "pretty (default) or json")
    .example("fizz version")
    .example("fizz version --short")
    .example("fizz version --format json")
    .action(
      action((ctx, _args, options) => {
        const format = optString(options, "format") ?? "pretty";
        if (format !== "pretty" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format pretty or --format json");
        if (options.short) ctx.out(`${VERSION}\n`);
        else if (format === "json") ctx.out(`${JSON.stringify({ version: VERSION, commit: buildCommit() })}\n`);
        else ctx.out(`${versionLine()}\n`);
        return 0;
      }),
    );
};
