/**
 * `environment:` and `content:` secrets become files only for a command that
 * creates or starts containers: prepareProject gives every command the same
 * desired state (the files' paths), and writes them only when asked.
 */
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "../../../core/compose/load.ts";
import { prepareProject } from "../../../platform/deploy/project.ts";

const run = mkdtempSync(join(tmpdir(), "fizz-local-files-"));
afterAll(() => rmSync(run, { recursive: true, force: true }));

const yaml = 'name: lf\nservices:\n  app:\n    image: x\n    secrets: [pw]\n    configs: [conf]\nsecrets:\n  pw: {environment: PW}\nconfigs:\n  conf: {content: "k=v"}\n';

function project() {
  const r = loadProject({ files: ["/p/compose.yaml"], cwd: "/p", env: {}, reader: { read: (p: string) => (p === "/p/compose.yaml" ? yaml : undefined) } });
  if (!r.project) throw new Error(JSON.stringify(r.diagnostics));
  return r.project;
}

test("no files unless the command creates or starts containers; the same desired state either way", () => {
  const hostEnv = { XDG_RUNTIME_DIR: run, PW: "s3cret" };
  const dry = prepareProject(project(), { hostEnv });
  const paths = [dry.project.secrets.pw!.file!, dry.project.configs.conf!.file!];
  expect(paths.every((p) => p.startsWith(join(run, "fizz", "local", "lf")))).toBe(true);
  expect(existsSync(join(run, "fizz"))).toBe(false);

  const wet = prepareProject(project(), { hostEnv, writeLocalFiles: true });
  expect(wet.project.secrets.pw!.file).toBe(paths[0]!);
  expect(paths.map((p) => readFileSync(p, "utf8"))).toEqual(["s3cret", "k=v"]);
  expect(JSON.stringify(wet.desired)).toBe(JSON.stringify(dry.desired));
});
