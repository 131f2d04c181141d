/**
 * Delivered files on memory-backed storage. The root directory must be on
 * tmpfs or ramfs (read from /proc/self/mountinfo); if it is not, a tmpfs is
 * mounted there (root only), and refused otherwise, so a plaintext value is
 * never written to a disk. The mount stays across agent restarts: running
 * containers keep the bind mounts they started with.
 *
 * Each container has a directory `<root>/<container name>/` with
 *   run-secrets/      bind-mounted read-only at /run/secrets
 *   files/<n>         one file per other target, each bind-mounted alone
 *   manifest.json     what was delivered (names, versions, modes; no values)
 * A new version is written to a temporary name in the same directory with its
 * owner and mode set, then renamed over the old file: readers see the old
 * file or the new one, never a mix.
 */
import { execFile } from "node:child_process";
import { chmodSync, chownSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, readdirSync, renameSync, rmSync, rmdirSync, statSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { dirname, join } from "node:path";
import { FizzError } from "../../core/errors.ts";
import type { DeliveryManifest } from "../../core/secrets/delivery.ts";

export const MEMORY_FS: ReadonlySet<string> = new Set(["tmpfs", "ramfs"]);

/** The filesystem type of the mount holding `path` (longest mount point that prefixes it). */
export function filesystemOf(path: string, mountinfo = readMountinfo()): string | undefined {
  let best: { point: string; type: string } | undefined;
  for (const line of mountinfo.split("\n")) {
    const parts = line.split(" ");
    const sep = parts.indexOf("-");
    if (sep < 0 || parts.length < sep + 2) continue;
    const point = parts[4]!.replace(/\\040/g, " ");
    const type = parts[sep + 1]!;
    const under = point === "/" || path === point || path.startsWith(`${point}/`);
    if (under && (!best || point.length >= best.point.length)) best = { point, type };
  }
  return best?.type;
}

/** /proc/self/mountinfo ("" where there is none). */
export function readMountinfo(): string {
  return safeRead("/proc/self/mountinfo");
}

function safeRead(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
}

function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 10_000 }, (err, stdout, stderr) => resolve({ ok: !err, out: `${stdout}${stderr}`.trim() || (err?.message ?? "") }));
  });
}

/** Makes `root` a memory-backed directory (mode 0700), mounting a tmpfs if needed. */
export async function ensureMemoryBacked(root: string, sizeBytes: number): Promise<{ mounted: boolean; fs: string }> {
  mkdirSync(root, { recursive: true, mode: 0o700 });
  chmodSync(root, 0o700);
  const fs = filesystemOf(root);
  if (fs && MEMORY_FS.has(fs)) return { mounted: false, fs };
  const r = await run("mount", ["-t", "tmpfs", "-o", `size=${sizeBytes},mode=0700,nosuid,nodev,noexec`, "fizz-secrets", root]);
  const after = filesystemOf(root);
  if (!r.ok || !after || !MEMORY_FS.has(after)) {
    throw new FizzError({
      code: "secrets.not_memory_backed",
      message: `${root} is on ${fs ?? "an unknown filesystem"}, not tmpfs, and mounting a tmpfs there failed: ${r.out}`,
      hint: "run the agent as root, or set secrets.dir to a directory on tmpfs (e.g. under /dev/shm or $XDG_RUNTIME_DIR)",
    });
  }
  return { mounted: true, fs: after };
}

/** Unmounts `root` when Fizz's tmpfs is mounted there (by mountinfo), then removes the empty directory. */
export async function unmountIfMounted(root: string): Promise<void> {
  const mounted = readMountinfo()
    .split("\n")
    .some((l) => l.split(" ")[4]?.replace(/\\040/g, " ") === root && / - tmpfs fizz-secrets /.test(l));
  if (!mounted) return;
  const r = await run("umount", [root]);
  if (!r.ok) throw new Error(`umount ${root}: ${r.out}`);
  try {
    rmdirSync(root);
  } catch {
    // not empty or gone: leave it
  }
}

export function containerDir(root: string, container: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/.test(container)) throw new FizzError({ code: "secrets.bad_container_name", message: `container name ${JSON.stringify(container)} cannot name a directory` });
  return join(root, container);
}

/** Writes `bytes` to `path` atomically: temporary file, owner and mode, fsync, rename. */
export function writeAtomic(path: string, bytes: Uint8Array, o: { uid: number; gid: number; mode: number }): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tmp = join(dir, `.${randomBytes(6).toString("hex")}.tmp`);
  const fd = openSync(tmp, "wx", 0o600);
  try {
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    chownSync(tmp, o.uid, o.gid);
    chmodSync(tmp, o.mode & 0o7777);
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw e;
  }
}

export function readManifest(dir: string): DeliveryManifest | undefined {
  try {
    return JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as DeliveryManifest;
  } catch {
    return undefined;
  }
}

export function writeManifest(dir: string, m: DeliveryManifest): void {
  writeAtomic(join(dir, "manifest.json"), new TextEncoder().encode(JSON.stringify(m)), { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0, mode: 0o600 });
}

/** Container directories under the root (names). */
export function listContainerDirs(root: string): string[] {
  if (!existsSync(root)) return [];
  return readdirSync(root).filter((n) => {
    try {
      return statSync(join(root, n)).isDirectory();
    } catch {
      return false;
    }
  });
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Directories a container's mounts need to exist before create (files appear in them after). */
export function prepareDirs(dir: string): { runSecrets: string; files: string } {
  const runSecrets = join(dir, "run-secrets");
  const files = join(dir, "files");
  mkdirSync(runSecrets, { recursive: true, mode: 0o755 });
  mkdirSync(files, { recursive: true, mode: 0o755 });
  chmodSync(dir, 0o755);
  chmodSync(runSecrets, 0o755);
  return { runSecrets, files };
}
