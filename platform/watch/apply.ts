/**
 * Carries out `fizz watch` actions on one engine: a sync is one tar of the
 * changed files unpacked at the container's root (parents created by the
 * engine), then `rm -rf` for deleted paths; a restart restarts the
 * service's containers; an exec runs the rule's command in each; a rebuild
 * builds the service's image and recreates only that service's containers
 * (the caller converges, directly or through the agent).
 */
import { lstatSync, createReadStream, readlinkSync } from "node:fs";
import { pack } from "tar-stream";
import type { LifecycleHook } from "../../core/compose/model.ts";
import type { SyncFile } from "../../core/watch/index.ts";
import type { ContainerSummary, Engine } from "../engine/index.ts";

/** A tar whose entries are the files' container paths (without the leading /). */
function packFiles(files: readonly SyncFile[]) {
  const tar = pack();
  void (async () => {
    for (const f of files) {
      const st = lstatSync(f.host, { throwIfNoEntry: false });
      if (!st) continue;
      const name = f.container.replace(/^\/+/, "");
      const common = { name, mode: st.mode & 0o7777, mtime: st.mtime };
      if (st.isSymbolicLink()) tar.entry({ ...common, type: "symlink", linkname: readlinkSync(f.host) });
      else if (st.isDirectory()) tar.entry({ ...common, type: "directory" });
      else if (st.isFile()) {
        await new Promise<void>((resolve, reject) => {
          const entry = tar.entry({ ...common, type: "file", size: st.size }, (err) => (err ? reject(err) : resolve()));
          createReadStream(f.host).on("error", reject).pipe(entry);
        });
      }
    }
  })().then(
    () => tar.finalize(),
    (e: unknown) => tar.destroy(e as Error),
  );
  return tar;
}

export async function syncInto(engine: Engine, c: ContainerSummary, copy: readonly SyncFile[], remove: readonly string[]): Promise<void> {
  if (copy.length) await engine.containers.putArchive(c.Id, "/", packFiles(copy));
  if (remove.length) {
    const r = await engine.exec.run(c.Id, ["rm", "-rf", "--", ...remove]);
    if (r.exitCode !== 0) throw new Error(`removing ${remove.join(", ")} failed: ${r.stderr.trim() || `exit ${r.exitCode}`}`);
  }
}

export async function execHook(engine: Engine, c: ContainerSummary, hook: LifecycleHook): Promise<{ exitCode: number; output: string }> {
  const env = Object.entries(hook.environment ?? {})
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `${k}=${v}`);
  const r = await engine.exec.run(c.Id, hook.command ?? [], {
    ...(hook.user ? { User: hook.user } : {}),
    ...(hook.working_dir ? { WorkingDir: hook.working_dir } : {}),
    ...(hook.privileged ? { Privileged: true } : {}),
    ...(env.length ? { Env: env } : {}),
    AttachStdout: true,
    AttachStderr: true,
  });
  return { exitCode: r.exitCode, output: (r.stdout + r.stderr).trim() };
}
