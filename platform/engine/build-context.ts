/**
 * Packs a build context directory into a tar stream for POST /build,
 * leaving out what `.dockerignore` excludes (the Dockerfile and
 * .dockerignore themselves always go, as Docker does).
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { readUserText } from "../user-file.ts";
import { join } from "node:path";
import { pack, type Pack } from "tar-stream";
import { canSkipDir, isIgnored, parseDockerignore } from "../../core/engine/dockerignore.ts";

export interface ContextEntry {
  /** "/"-separated, relative to the context root. */
  readonly path: string;
  readonly kind: "file" | "dir" | "symlink";
}

/** Lists what goes into the context, in a stable order. */
export function contextEntries(dir: string, dockerfile = "Dockerfile"): ContextEntry[] {
  // No .dockerignore: everything goes. One that is a fifo or a device is an error naming it, not a hang.
  const ignoreText = readUserText(join(dir, ".dockerignore"), { what: ".dockerignore" }) ?? "";
  const rules = parseDockerignore(ignoreText);
  const always = new Set([dockerfile, ".dockerignore"]);
  const out: ContextEntry[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, path));
      if (st.isDirectory()) {
        if (canSkipDir(rules, path)) continue;
        if (!isIgnored(rules, path)) out.push({ path, kind: "dir" });
        walk(path);
      } else if (always.has(path) || !isIgnored(rules, path)) {
        if (st.isSymbolicLink()) out.push({ path, kind: "symlink" });
        else if (st.isFile()) out.push({ path, kind: "file" });
      }
    }
  };
  walk("");
  return out;
}

/** A tar stream of the context; pipe it into the build request. */
export function packContext(dir: string, dockerfile = "Dockerfile"): Pack {
  const tar = pack();
  const entries = contextEntries(dir, dockerfile);
  // Entries are added synchronously in order; tar-stream buffers them.
  try {
    for (const e of entries) {
      const full = join(dir, e.path);
      const st = lstatSync(full);
      const common = { name: e.path, mode: st.mode & 0o7777, mtime: st.mtime, uid: 0, gid: 0 };
      if (e.kind === "dir") tar.entry({ ...common, type: "directory" });
      else if (e.kind === "symlink") tar.entry({ ...common, type: "symlink", linkname: readlinkSync(full) });
      else tar.entry({ ...common, type: "file" }, readFileSync(full));
    }
    tar.finalize();
  } catch (e) {
    tar.destroy(e as Error);
  }
  return tar;
}
