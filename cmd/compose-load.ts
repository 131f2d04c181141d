/**
 * Shared by every verb that takes a compose project (validate, config, up,
 * down, ps, …): declares -f/-p/--project-directory/--env-file/--profile on a
 * cac command, reads them back, and loads the project through the real file
 * reader.
 */
import type { Command } from "cac";
import type { LoadResult } from "../core/compose/load.ts";
import type { Project } from "../core/compose/model.ts";
import { diagnosticsError } from "../core/compose/diagnostics.ts";
import { optList, optString, type Options } from "./command.ts";

export interface ComposeCliOptions {
  files: string[];
  projectName: string | undefined;
  projectDirectory: string | undefined;
  envFiles: string[];
  profiles: string[];
}

/** Adds the compose project flags to a command. */
export function withComposeOptions(cmd: Command, opts: { shortP?: boolean } = {}): Command {
  // `fizz run` keeps -p for --publish, as `docker compose run` does.
  const projectFlag = opts.shortP === false ? "--project-name <name>" : "-p, --project-name <name>";
  return cmd
    .option("-f, --file <file>", "Compose file (repeatable; default: compose.yaml, docker-compose.yml, … and the override file)")
    .option(projectFlag, "Project name (default: name:, COMPOSE_PROJECT_NAME or the directory name)")
    .option("--project-directory <dir>", "Project directory (default: the first file's directory)")
    .option("--env-file <file>", "Environment file for interpolation (repeatable; default: <project dir>/.env)")
    .option("--profile <name>", "Enable a profile (repeatable; also COMPOSE_PROFILES)");
}

export function readComposeOptions(options: Options, extraFiles: readonly string[] = []): ComposeCliOptions {
  return {
    files: [...optList(options, "file"), ...extraFiles],
    projectName: optString(options, "projectName"),
    projectDirectory: optString(options, "projectDirectory"),
    envFiles: optList(options, "envFile"),
    profiles: optList(options, "profile").flatMap((p) => p.split(",")).filter(Boolean),
  };
}

/** Loads the project with all diagnostics (never throws for bad compose input). */
export async function loadProject(
  options: ComposeCliOptions,
  cwd: string = process.cwd(),
  env: Record<string, string | undefined> = process.env,
  extra: { resolveEnvironment?: boolean } = {},
): Promise<LoadResult> {
  const [{ loadProject: load }, { createFsReader }] = await Promise.all([import("../core/compose/load.ts"), import("../platform/fs-reader.ts")]);
  return load({
    files: options.files,
    ...(options.projectName !== undefined ? { projectName: options.projectName } : {}),
    ...(options.projectDirectory !== undefined ? { projectDirectory: options.projectDirectory } : {}),
    envFiles: options.envFiles,
    profiles: options.profiles,
    cwd,
    env,
    reader: createFsReader(),
    ...(options.files.includes("-") ? { stdin: await readStdinOnce() } : {}),
    ...extra,
  });
}

let stdinText: Promise<string> | undefined;

/** `-f -`: stdin, read once per process (config and up load the project more than once), bounded by the file size limit. */
function readStdinOnce(): Promise<string> {
  stdinText ??= (async () => {
    const { MAX_FILE_BYTES } = await import("../core/limits.ts");
    const chunks: Buffer[] = [];
    let n = 0;
    for await (const c of process.stdin) {
      chunks.push(c as Buffer);
      n += (c as Buffer).length;
      // One byte over is enough for the loader to report the file size limit.
      if (n > MAX_FILE_BYTES) break;
    }
    return Buffer.concat(chunks).toString("utf8");
  })();
  return stdinText;
}

/** Loads the project or throws one FizzError summarising every error (for verbs that act on it). */
export async function loadProjectOrThrow(options: ComposeCliOptions, cwd?: string, env?: Record<string, string | undefined>): Promise<{ project: Project; result: LoadResult }> {
  const result = await loadProject(options, cwd, env);
  if (!result.project || result.diagnostics.some((d) => d.severity === "error")) throw diagnosticsError(result.diagnostics);
  return { project: result.project, result };
}
