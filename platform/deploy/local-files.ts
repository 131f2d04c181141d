/**
 * Where the files of a project's `environment:` and `content:` secrets and
 * configs live when the CLI drives the engine itself
 * (core/deploy/local-file-objects.ts): the first of $XDG_RUNTIME_DIR, /run
 * (as root) and /dev/shm that is memory-backed (tmpfs, ramfs: a host whose
 * /run is on disk still keeps them off the disk), one directory per project,
 * 0700, so only the engine's bind mount reads them; `fizz down` removes it.
 * With none of them in memory, the first of them (or the temp directory).
 */
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { LocalFileObject } from "../../core/deploy/local-file-objects.ts";
import { filesystemOf, MEMORY_FS, readMountinfo } from "../secrets/files.ts";

/** `mountinfo`: /proc/self/mountinfo's text (a parameter for tests). */
export function localFilesDir(project: string, env: Readonly<Record<string, string | undefined>>, mountinfo = readMountinfo()): string {
  const candidates = [env.XDG_RUNTIME_DIR, process.getuid?.() === 0 ? "/run" : undefined, "/dev/shm"].filter((d): d is string => !!d);
  const base = candidates.find((d) => MEMORY_FS.has(filesystemOf(d, mountinfo) ?? "")) ?? env.XDG_RUNTIME_DIR ?? (process.getuid?.() === 0 ? "/run" : tmpdir());
  return join(base, "fizz", "local", project.replace(/[^A-Za-z0-9_.-]/g, "_"));
}

/** Writes each file that is not there yet (its name is its value's digest): 0700 directory, 0444 file (the container's user reads it). */
export function writeLocalFiles(files: readonly LocalFileObject[]): void {
  for (const f of files) {
    if (existsSync(f.path)) continue;
    const dir = dirname(f.path);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    const tmp = `${f.path}.tmp-${process.pid}`;
    writeFileSync(tmp, f.bytes, { mode: 0o444 });
    renameSync(tmp, f.path);
  }
}

/** `fizz down`: the project's files go with its containers. */
export function removeLocalFiles(project: string, env: Readonly<Record<string, string | undefined>>): void {
  rmSync(localFilesDir(project, env), { recursive: true, force: true });
}
