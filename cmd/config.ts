/**
 * `fizz config`: the normalised project, like `docker compose config`
 * (YAML or JSON), or just the services, profiles, volumes or config hashes.
 */
import type { RegisterVerb } from "./command.ts";
import { loadProject, readComposeOptions, withComposeOptions } from "./compose-load.ts";
import { formatDiagnostic } from "../core/compose/diagnostics.ts";
import { FizzError, usageError } from "../core/errors.ts";
import { optString } from "./command.ts";

export const register: RegisterVerb = (cli, action) => {
  withComposeOptions(cli.command("config [...services]", "Print the normalised compose project (like docker compose config)"))
    .option("--format <format>", "Output format: yaml (default) or json")
    .option("--services", "Print the service names, one per line")
    .option("--profiles", "Print the profile names, one per line")
    .option("--volumes", "Print the volume names, one per line")
    .option("--networks", "Print the network names, one per line")
    .option("--images", "Print the image names, one per line (<project>-<service> for a build without image:)")
    .option("-o, --output <file>", "Write the output to this file instead of stdout")
    .option("--hash <services>", "Print '<service> <config-hash>' for the given services ('*' for all)")
    .option("-q, --quiet", "Only validate; print nothing")
    .option("--no-env-resolution", "Keep env_file and variables without a value as written (default: fold env_file into environment and fill `- FOO` from .env and the shell, like Compose)")
    .example("fizz config")
    .example("fizz config --services")
    .example("fizz -f compose.yaml -f compose.prod.yaml config --format json")
    .action(
      action(async (ctx, args, options) => {
        const format = optString(options, "format") ?? "yaml";
        if (format !== "yaml" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format yaml or --format json");
        const compose = readComposeOptions(options);
        const extra = { resolveEnvironment: options.envResolution !== false };
        let result = await loadProject(compose, undefined, undefined, extra);
        // `config web` with web in an inactive profile enables its profiles, as Compose does (WithServicesEnabled).
        const profiles = args.length && result.project ? (await import("../core/compose/query.ts")).profilesEnabling(result.project, args) : undefined;
        if (profiles) result = await loadProject({ ...compose, profiles }, undefined, undefined, extra);
        const errors = result.diagnostics.filter((d) => d.severity === "error");
        // Like validate: every problem once, then a count (exit 1), not the first error again.
        for (const d of result.diagnostics) ctx.err(`${formatDiagnostic(d)}\n`);
        if (errors.length || !result.project) {
          throw new FizzError({
            code: errors[0]?.code ?? "compose.invalid",
            message: `the compose project has ${errors.length || 1} error${errors.length > 1 ? "s" : ""} (listed above)`,
            hint: "fix them and run again",
          });
        }
        const whole = result.project;
        // `config web` is web and what it depends on, transitively, as `docker compose config web` (compose-go's WithSelectedServices).
        for (const a of args) if (!Object.hasOwn(whole.services, a)) throw usageError(`no service '${a}' in project '${whole.name}'`);
        const keep = args.length ? new Set((await import("../core/deploy/targets.ts")).withDependencies(whole, args, false)) : undefined;
        const project = keep ? { ...whole, services: Object.fromEntries(Object.entries(whole.services).filter(([k]) => keep.has(k))) } : whole;
        if (options.quiet) return 0;
        const print = async (out: (text: string) => void): Promise<number> => {
          if (options.services) {
            for (const s of Object.keys(project.services)) out(`${s}\n`);
            return 0;
          }
          if (options.images) {
            const { serviceImage } = await import("../core/deploy/desired.ts");
            for (const s of Object.values(project.services)) out(`${serviceImage(project, s)}\n`);
            return 0;
          }
          if (options.networks) {
            for (const n of Object.keys(project.networks)) out(`${n}\n`);
            return 0;
          }
          if (options.profiles) {
            const all = new Set<string>();
            for (const s of [...Object.values(project.services), ...Object.values(project.disabled_services)]) for (const p of s.profiles) all.add(p);
            for (const p of [...all].sort()) out(`${p}\n`);
            return 0;
          }
          if (options.volumes) {
            for (const v of Object.keys(project.volumes)) out(`${v}\n`);
            return 0;
          }
          if (options.hash !== undefined && options.hash !== false) {
            const { serviceConfigHash } = await import("../core/compose/hash.ts");
            const want = String(options.hash === true ? "*" : options.hash);
            const names = want === "*" ? Object.keys(whole.services) : want.split(",").map((s) => s.trim());
            for (const n of names) {
              if (!Object.hasOwn(whole.services, n) && !Object.hasOwn(whole.disabled_services, n)) throw usageError(`no service '${n}' in project '${whole.name}'`);
              out(`${n} ${serviceConfigHash(whole, n)}\n`);
            }
            return 0;
          }
          const { projectDocument, projectYaml } = await import("../core/compose/serialize.ts");
          out(format === "json" ? `${JSON.stringify(projectDocument(project), null, 2)}\n` : projectYaml(project));
          return 0;
        };
        // `-o file`: the same output, written to the file (nothing on stdout), as docker compose config -o.
        const outFile = optString(options, "output");
        if (outFile === undefined) return print((t) => ctx.out(t));
        let text = "";
        const code = await print((t) => void (text += t));
        (await import("node:fs")).writeFileSync(outFile, text);
        return code;
      }),
    );
};
