/**
 * Tar streams for `fizz cp`, with tar-stream: pack a host file or directory
 * (files streamed, not buffered; symlinks kept as links; modes, mtimes and
 * owners recorded) and unpack an engine archive onto the host (modes and
 * mtimes restored, owners too with `chown`; entries that would escape the
 * target directory, directly or through a symlink, are refused).
 */
import { createReadStream, createWriteStream, lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, statSync, symlinkSync, linkSync, rmSync, chmodSync, utimesSync, lutimesSync, lchownSync, type Stats } from "node:fs";
import { join, dirname, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { extract, pack, type Header, type Pack } from "tar-stream";
import { FizzError } from "../../core/errors.ts";

/** A tar of `path` whose top-level entry is called `name`. Symlinks are kept, unless `followLink` (the top one only, as docker cp -L). */
export function packPath(path: string, name: string, opts: { followLink?: boolean } = {}): Pack {
  const tar = pack();
  const add = async (full: string, entryName: string, top: boolean): Promise<void> => {
    const st = top && opts.followLink ? statSync(full) : lstatSync(full);
    const common = { name: entryName, mode: st.mode & 0o7777, mtime: st.mtime, uid: st.uid, gid: st.gid };
    if (st.isSymbolicLink()) {
      tar.entry({ ...common, type: "symlink", linkname: readlinkSync(full) });
    } else if (st.isDirectory()) {
      tar.entry({ ...common, type: "directory" });
      for (const child of readdirSync(full).sort()) await add(join(full, child), `${entryName}/${child}`, false);
    } else if (st.isFile()) {
      await new Promise<void>((resolve, reject) => {
        const entry = tar.entry({ ...common, type: "file", size: st.size }, (err) => (err ? reject(err) : resolve()));
        createReadStream(full).on("error", reject).pipe(entry);
      });
    }
    // Sockets, FIFOs and devices are skipped, as docker cp does for the host side.
  };
  void add(path, name, true).then(
    () => tar.finalize(),
    (e: unknown) => tar.destroy(e as Error),
  );
  return tar;
}

export interface ExtractOptions {
  /** Maps an entry name to its path under `dir` ("" = dir itself); undefined skips it as unsafe. */
  map: (name: string) => string | undefined;
  /** Set owners from the archive (root only; `cp -a`). */
  chown?: boolean;
}

/** Unpacks `tar` into `dir`. Resolves once every entry is written. */
export async function extractTo(tar: AsyncIterable<Uint8Array> | Readable | Pack, dir: string, opts: ExtractOptions): Promise<{ entries: number }> {
  const root = realpathSync(dir);
  const x = extract();
  const dirs: { path: string; h: Header }[] = [];
  let entries = 0;
  const inside = (p: string) => p === root || p.startsWith(root.endsWith(sep) ? root : root + sep);
  x.on("entry", (h, stream, next) => {
    // When the extraction stops on an error, tar-stream destroys the entry stream with it too; it is reported once, by the pipeline.
    stream.on("error", () => {});
    const done = (err?: unknown) => {
      if (err) x.destroy(err as Error);
      else next();
    };
    try {
      const rel = opts.map(h.name);
      if (rel === undefined) throw new FizzError({ code: "cp.unsafe_entry", message: `refusing archive entry '${h.name}': it would land outside ${dir}` });
      const target = rel === "" ? root : join(root, rel);
      // The parent must resolve inside root: a symlink unpacked earlier cannot redirect later entries.
      const parent = dirname(target);
      if (target !== root && (!inside(realpathSync(parent)) || !inside(target))) throw new FizzError({ code: "cp.unsafe_entry", message: `refusing archive entry '${h.name}': it would land outside ${dir}` });
      entries++;
      const own = (p: string) => {
        if (opts.chown && h.uid !== undefined && h.gid !== undefined) lchownSync(p, h.uid, h.gid);
      };
      switch (h.type) {
        case "directory":
          mkdirSync(target, { recursive: true });
          own(target);
          dirs.push({ path: target, h });
          stream.resume();
          stream.on("end", () => done());
          return;
        case "symlink":
          rmExisting(target);
          symlinkSync(h.linkname ?? "", target);
          own(target);
          if (h.mtime) lutimesSync(target, h.mtime, h.mtime);
          stream.resume();
          stream.on("end", () => done());
          return;
        case "link": {
          const from = h.linkname ? opts.map(h.linkname) : undefined;
          if (from === undefined) throw new FizzError({ code: "cp.unsafe_entry", message: `refusing hard link '${h.name}' to '${h.linkname ?? ""}'` });
          rmExisting(target);
          linkSync(join(root, from), target);
          stream.resume();
          stream.on("end", () => done());
          return;
        }
        case "file":
        case "contiguous-file":
        case undefined:
        case null:
          rmExisting(target, true);
          pipeline(stream, createWriteStream(target, { mode: 0o600 })).then(() => {
            own(target);
            chmodSync(target, (h.mode ?? 0o644) & 0o7777);
            if (h.mtime) utimesSync(target, h.mtime, h.mtime);
            done();
          }, done);
          return;
        default:
          // Devices, FIFOs: not recreated on the host (docker cp does not either, unprivileged).
          stream.resume();
          stream.on("end", () => done());
      }
    } catch (e) {
      stream.resume();
      done(e);
    }
  });
  await pipeline(tar as unknown as Readable, x);
  // Directory modes and times last: a read-only directory would have refused its children.
  for (const d of dirs.reverse()) {
    chmodSync(d.path, (d.h.mode ?? 0o755) & 0o7777);
    if (d.h.mtime) utimesSync(d.path, d.h.mtime, d.h.mtime);
  }
  return { entries };
}

function rmExisting(target: string, keepDir = false): void {
  let st: Stats;
  try {
    st = lstatSync(target);
  } catch {
    return;
  }
  if (st.isDirectory() && keepDir) throw new FizzError({ code: "cp.conflict", message: `cannot overwrite directory ${target} with a file` });
  if (!st.isDirectory()) rmSync(target, { force: true });
}
