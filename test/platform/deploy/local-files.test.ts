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
import { localFilesDir } from "../../../platform/deploy/local-files.ts";
import { prepareProject } from "../../../platform/deploy/project.ts";

const run = mkdtempSync(join(tmpdir(), "fizz-local-files-"));
// Where this host puts project lf's files (run when it is memory-backed, else /run or /dev/shm).
const dir = localFilesDir("lf", { XDG_RUNTIME_DIR: run });
afterAll(() => {
  rmSync(run, { recursive: true, force: true });
  rmSync(dir, { recursive: true, force: true });
});

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
  expect(paths.every((p) => p.startsWith(dir))).toBe(true);
  expect(existsSync(dir)).toBe(false);

  const wet = prepareProject(project(), { hostEnv, writeLocalFiles: true });
  expect(wet.project.secrets.pw!.file).toBe(paths[0]!);
  expect(paths.map((p) => readFileSync(p, "utf8"))).toEqual(["s3cret", "k=v"]);
  expect(JSON.stringify(wet.desired)).toBe(JSON.stringify(dry.desired));
});

/** A mountinfo line: mount point `point`, filesystem `type`. */
const mount = (point: string, type: string) => `36 25 0:32 / ${point} rw,relatime shared:1 - ${type} ${type} rw`;

test("the files go to memory: the first of $XDG_RUNTIME_DIR, /run (root) and /dev/shm on tmpfs, never a disk when one is in memory", () => {
  const root = process.getuid?.() === 0;
  const disk = [mount("/", "ext4")];
  const at = (env: Record<string, string>, lines: string[]) => localFilesDir("p", env, lines.join("\n"));
  expect(at({ XDG_RUNTIME_DIR: "/run/user/1000" }, [...disk, mount("/run/user/1000", "tmpfs"), mount("/dev/shm", "tmpfs")])).toBe("/run/user/1000/fizz/local/p");
  // An $XDG_RUNTIME_DIR (and /run) on disk: /dev/shm.
  expect(at({ XDG_RUNTIME_DIR: "/home/u/rt" }, [...disk, mount("/dev/shm", "tmpfs")])).toBe("/dev/shm/fizz/local/p");
  expect(at({}, [...disk, mount("/run", "tmpfs"), mount("/dev/shm", "tmpfs")])).toBe(root ? "/run/fizz/local/p" : "/dev/shm/fizz/local/p");
  expect(at({}, [...disk, mount("/dev/shm", "ramfs")])).toBe("/dev/shm/fizz/local/p");
  // Nothing in memory: $XDG_RUNTIME_DIR, else /run as root, else the temp directory.
  expect(at({ XDG_RUNTIME_DIR: "/home/u/rt" }, disk)).toBe("/home/u/rt/fizz/local/p");
  expect(at({}, disk)).toBe(join(root ? "/run" : tmpdir(), "fizz", "local", "p"));
});
