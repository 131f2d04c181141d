/**
 * The compose fixture corpus (test/fixtures/compose/<case>/): each case is a
 * directory with compose files, an optional args.json ({files, profiles, env,
 * envFiles, projectName}) and its expectation: expected.yaml (the normalised
 * project, `fizz config` style) and/or expected-diagnostics.txt (every error
 * and warning, formatted as `fizz validate` prints them). Paths are written
 * relative to the case directory as <dir>.
 */
import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { formatDiagnostic } from "../../../core/compose/diagnostics.ts";
import { loadProject, type LoadResult } from "../../../core/compose/load.ts";
import { projectYaml } from "../../../core/compose/serialize.ts";
import { createFsReader } from "../../../platform/fs-reader.ts";

export const CORPUS = join(import.meta.dir, "../../fixtures/compose");

export interface CaseArgs {
  files?: string[];
  profiles?: string[];
  env?: Record<string, string>;
  envFiles?: string[];
  projectName?: string;
}

export function caseNames(): string[] {
  return readdirSync(CORPUS, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

export function caseArgs(name: string): CaseArgs {
  const p = join(CORPUS, name, "args.json");
  return existsSync(p) ? (JSON.parse(readFileSync(p, "utf8")) as CaseArgs) : {};
}

export function runCase(name: string): LoadResult {
  const dir = join(CORPUS, name);
  const a = caseArgs(name);
  return loadProject({
    files: a.files ?? [],
    profiles: a.profiles ?? [],
    envFiles: a.envFiles ?? [],
    ...(a.projectName ? { projectName: a.projectName } : {}),
    cwd: dir,
    env: { HOME: "/home/user", ...(a.env ?? {}) },
    reader: createFsReader(),
  });
}

export function rendered(name: string, r: LoadResult): { yaml: string | undefined; diagnostics: string } {
  const dir = join(CORPUS, name);
  const rel = (s: string) => s.split(dir).join("<dir>");
  return {
    yaml: r.project && !r.diagnostics.some((d) => d.severity === "error") ? rel(projectYaml(r.project)) : undefined,
    diagnostics: r.diagnostics.map((d) => rel(formatDiagnostic(d))).join("\n") + (r.diagnostics.length ? "\n" : ""),
  };
}
