/**
 * `fizz cp` path rules, the same as `docker cp` (which `docker compose cp`
 * uses): which side is the container (`service:path`), where the copied tree
 * lands, and how its top-level name is renamed. The engine's archive API
 * moves a tar whose top-level entry is the source's base name; copying to a
 * path that does not exist yet means renaming that entry to the new name.
 * `src/.` copies a directory's contents rather than the directory. Pure.
 */
import { posix } from "node:path";

export type CpEndpoint = { kind: "container"; service: string; path: string } | { kind: "local"; path: string } | { kind: "stream" };

/** `web:/etc/hosts` is a container path; `./a:b`, `/x`, `C:\x` and a bare `-` are not. */
export function parseCpArg(arg: string): CpEndpoint {
  if (arg === "-") return { kind: "stream" };
  if (/^[A-Za-z]:[\\/]/.test(arg) || arg.startsWith("/") || arg.startsWith(".")) return { kind: "local", path: arg };
  const colon = arg.indexOf(":");
  if (colon > 0 && /^[a-zA-Z0-9._-]+$/.test(arg.slice(0, colon))) return { kind: "container", service: arg.slice(0, colon), path: arg.slice(colon + 1) || "/" };
  return { kind: "local", path: arg };
}

/** What is at a path: nothing, a directory, or something else (file, symlink, device). */
export type PathKind = "missing" | "dir" | "other";

export interface CopyPlan {
  /** The directory the tar is unpacked into. */
  into: string;
  /** Rename the tar's top-level entry from → to (undefined: keep names). */
  rename?: { from: string; to: string };
  /** Drop the top-level entry and unpack what is under it (copying `dir/.`). */
  contentsOnly?: boolean;
}

export type CopyDecision = { ok: true; plan: CopyPlan } | { ok: false; message: string };

/** True for `dir/.`: copy what is inside the directory. */
export function wantsContents(path: string): boolean {
  return path === "." || path.endsWith("/.");
}

/**
 * Where a tar of `src` (a directory when `srcIsDir`) unpacks so it ends up at
 * `dest`, given what is at dest and at dest's parent. Used in both
 * directions: dest is on the host or in the container.
 */
export function planCopy(src: string, srcIsDir: boolean, srcName: string, dest: string, destKind: PathKind, parentKind: PathKind): CopyDecision {
  if (wantsContents(src) && !srcIsDir) return { ok: false, message: `${src}: not a directory` };
  const contents = wantsContents(src);
  if (destKind === "dir") return { ok: true, plan: { into: dest, ...(contents ? { contentsOnly: true } : {}) } };
  if (destKind === "other") {
    if (srcIsDir) return { ok: false, message: `cannot copy directory ${src} onto file ${dest}` };
    return { ok: true, plan: { into: parentOf(dest), rename: { from: srcName, to: posix.basename(stripSlash(dest)) } } };
  }
  // dest does not exist: it becomes the copy, so its parent must exist.
  if (dest.endsWith("/") && !srcIsDir) return { ok: false, message: `destination directory ${dest} does not exist` };
  if (parentKind !== "dir") return { ok: false, message: `destination ${parentOf(dest)} is not a directory (or does not exist)` };
  // A new directory named dest, holding src (or, for `src/.`, the same thing: src's contents).
  return { ok: true, plan: { into: parentOf(dest), rename: { from: srcName, to: posix.basename(stripSlash(dest)) } } };
}

/** The path to ask the archive API for: `dir/.` means `dir` (the plan strips the top-level entry). */
export function archivePath(src: string): string {
  if (src === ".") return ".";
  return wantsContents(src) ? src.slice(0, -2) || "/" : src;
}

function stripSlash(p: string): string {
  return p.length > 1 ? p.replace(/\/+$/, "") : p;
}

function parentOf(p: string): string {
  return posix.dirname(stripSlash(p));
}

/**
 * An entry name from the tar, mapped through the plan: renamed or stripped
 * of its top-level component, normalised, and refused (undefined) when it
 * would land outside the target directory.
 */
export function mapEntryName(name: string, plan: CopyPlan, srcName: string): string | undefined {
  let parts = name.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.some((p) => p === "..")) return undefined;
  if (plan.contentsOnly) {
    if (parts[0] !== srcName) return undefined;
    parts = parts.slice(1);
    if (!parts.length) return "";
  } else if (plan.rename && parts[0] === plan.rename.from) parts = [plan.rename.to, ...parts.slice(1)];
  return parts.join("/");
}
