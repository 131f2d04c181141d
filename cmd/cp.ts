/**
 * `fizz cp [service:]src [service:]dst`: copy files between the host and a
 * service's containers, through the engine's archive API (tar streams, with
 * tar-stream), with docker cp's path rules (core/engine/copy-plan.ts). Into a
 * service, every replica gets the copy unless --index picks one; out of a
 * service, the first replica (or --index) is read. `-` reads or writes a tar
 * on stdin/stdout.
 */
import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { usageError, FizzError } from "../core/errors.ts";
import { archivePath, parseCpArg, planCopy, mapEntryName, type PathKind } from "../core/engine/copy-plan.ts";
import type { RegisterVerb } from "./command.ts";
import { connect, projectOrName, withProjectOptions, requireServices } from "./project-common.ts";
import { containerName, doneLine, indexOption, noContainerError, noteElsewhere, pickContainers } from "./service-containers.ts";

const DIR_BIT = 2 ** 31;

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("cp <src> <dest>", "Copy files between the host and a service's containers"))
    .option("-a, --archive", "Keep owners (uid/gid) as they are in the source")
    .option("-L, --follow-link", "Follow a symlink given as the source")
    .option("--index <n>", "Which replica (default: all replicas when copying in, the first when copying out)")
    .option("--all", "Include one-off (fizz run) containers")
    .example("fizz cp web:/etc/nginx/nginx.conf ./nginx.conf")
    .example("fizz cp ./site/. web:/usr/share/nginx/html")
    .example("fizz cp --index 2 worker:/tmp/dump.json -")
    .action(
      action(async (ctx, args, options) => {
        const [srcArg, destArg] = args;
        const src = parseCpArg(srcArg!);
        const dest = parseCpArg(destArg!);
        if (src.kind === "container" && dest.kind === "container") throw usageError("copying between services is not supported", "copy to the host first, then from there");
        if (src.kind !== "container" && dest.kind !== "container") throw usageError("one side must be a service path, like web:/etc/hosts", "e.g. fizz cp web:/etc/hosts ./hosts");
        const service = src.kind === "container" ? src.service : (dest as { service: string }).service;
        const index = indexOption(options.index);
        const { project, name } = await projectOrName(options);
        requireServices(project, [service], { disabledToo: true });
        const engine = await connect(options, ctx);
        try {
          const found = await pickContainers(engine, name, { services: [service], all: true, oneoff: options.all ? "include" : "exclude", ...(index ? { index } : {}) });
          if (!found.length) throw await noContainerError(ctx, name, service, index);
          const { extractTo, packPath } = await import("../platform/engine/archive.ts");
          if (src.kind === "container") {
            const c = found[0]!;
            const path = archivePath(src.path);
            const stat = await engine.containers.statPath(c.Id, path);
            if (!stat) throw new FizzError({ code: "cp.not_found", message: `${containerName(c)}:${src.path}: no such file or directory` });
            const srcIsDir = (stat.mode & DIR_BIT) !== 0;
            const tar = await engine.containers.getArchive(c.Id, path);
            if (dest.kind === "stream") {
              for await (const chunk of tar) process.stdout.write(chunk);
              return 0;
            }
            const { kind, parent } = localKinds(dest.path);
            const d = planCopy(src.path, srcIsDir, stat.name, dest.path, kind, parent);
            if (!d.ok) throw new FizzError({ code: "cp.bad_destination", message: d.message });
            await extractTo(tar, d.plan.into, { map: (n) => mapEntryName(n, d.plan, stat.name), chown: options.archive === true });
            doneLine(ctx, containerName(c), `Copied ${containerName(c)}:${src.path} to ${dest.path}`);
            return 0;
          }
          // Host (or stdin) → every targeted container on this node.
          if (!index) await noteElsewhere(ctx, name, [service], "copied to");
          const destPath = (dest as { path: string }).path;
          let stdinTar: Uint8Array | undefined;
          if (src.kind === "stream") stdinTar = readFileSync(0);
          for (const c of found) {
            const stat = await engine.containers.statPath(c.Id, destPath);
            const destKind: PathKind = !stat ? "missing" : (stat.mode & DIR_BIT) !== 0 ? "dir" : "other";
            if (stdinTar) {
              if (destKind !== "dir") throw new FizzError({ code: "cp.bad_destination", message: `destination ${destPath} must be an existing directory when copying a tar from stdin` });
              await engine.containers.putArchive(c.Id, destPath, stdinTar, { copyUIDGID: options.archive === true });
            } else {
              const local = resolve((src as { path: string }).path);
              const st = options.followLink ? statSync(local) : lstatSync(local);
              const srcName = basename(archivePath(local));
              const parentStat = destKind === "missing" ? await engine.containers.statPath(c.Id, parentPath(destPath)) : undefined;
              const parentKind: PathKind = destKind !== "missing" ? "dir" : !parentStat ? "missing" : (parentStat.mode & DIR_BIT) !== 0 ? "dir" : "other";
              const d = planCopy((src as { path: string }).path, st.isDirectory(), srcName, destPath, destKind, parentKind);
              if (!d.ok) throw new FizzError({ code: "cp.bad_destination", message: `${containerName(c)}: ${d.message}` });
              // The tar carries the final names: renamed top entry, or just the contents of `dir/.`.
              const topName = d.plan.rename ? d.plan.rename.to : srcName;
              if (d.plan.contentsOnly) {
                for (const child of readdirSync(archivePath(local)).sort()) {
                  await engine.containers.putArchive(c.Id, d.plan.into, packPath(join(archivePath(local), child), child), { copyUIDGID: options.archive === true });
                }
              } else {
                await engine.containers.putArchive(c.Id, d.plan.into, packPath(archivePath(local), topName, { followLink: options.followLink === true }), { copyUIDGID: options.archive === true });
              }
            }
            doneLine(ctx, containerName(c), `Copied ${src.kind === "stream" ? "-" : (src as { path: string }).path} to ${containerName(c)}:${destPath}`);
          }
          return 0;
        } finally {
          await engine.close();
        }
      }),
    );
};

function parentPath(p: string): string {
  const trimmed = p.length > 1 ? p.replace(/\/+$/, "") : p;
  const i = trimmed.lastIndexOf("/");
  return i <= 0 ? "/" : trimmed.slice(0, i);
}

/** What is at a host path and at its parent. */
function localKinds(path: string): { kind: PathKind; parent: PathKind } {
  const kindOf = (p: string): PathKind => {
    try {
      return statSync(p).isDirectory() ? "dir" : "other";
    } catch {
      return "missing";
    }
  };
  const abs = resolve(path);
  return { kind: kindOf(abs), parent: kindOf(dirname(abs)) };
}
