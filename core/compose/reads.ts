/**
 * Every file one project load reads, through one gate: each path is read once
 * (discovery, then loading, reuse the text), a NUL byte in a path is refused,
 * each file is held to the file size limit and the load as a whole to the
 * project size and file count limits. Failures come back as values (code and
 * message naming the file and the limit), so the loader turns them into
 * located diagnostics; the injected FileReader may throw a FizzError for an
 * unreadable file (platform/fs-reader.ts does), which lands here the same way.
 */
import { isFizzError } from "../errors.ts";
import { echo, limitMessage, MAX_FILE_BYTES, MAX_PROJECT_BYTES, MAX_PROJECT_FILES } from "../limits.ts";

/** Synchronous file access, injected (platform/fs-reader.ts is the real one). */
export interface FileReader {
  /**
   * The file's text, or undefined when it does not exist. May throw a
   * FizzError for a file that exists but cannot be read (not a regular file,
   * over the size limit, permission denied); `what` names it in that error.
   */
  read(path: string, what?: string): string | undefined;
}

export type FileRead =
  | { readonly kind: "text"; readonly text: string }
  | { readonly kind: "missing" }
  | { readonly kind: "error"; readonly code: string; readonly message: string; readonly hint?: string };

export interface ReadLimits {
  readonly fileBytes: number;
  readonly projectBytes: number;
  readonly projectFiles: number;
}

const DEFAULTS: ReadLimits = { fileBytes: MAX_FILE_BYTES, projectBytes: MAX_PROJECT_BYTES, projectFiles: MAX_PROJECT_FILES };

export class ProjectFiles {
  private readonly cache = new Map<string, FileRead>();
  private bytes = 0;
  private files = 0;

  constructor(
    private readonly reader: FileReader,
    private readonly limits: ReadLimits = DEFAULTS,
  ) {}

  /** Reads `path` once per load; later calls get the same outcome. */
  read(path: string, what = "file"): FileRead {
    const hit = this.cache.get(path);
    if (hit) return hit;
    const r = this.readOnce(path, what);
    this.cache.set(path, r);
    return r;
  }

  /** True when the path exists (readable or not: a failure is reported where the file is loaded). */
  exists(path: string): boolean {
    return this.read(path).kind !== "missing";
  }

  private readOnce(path: string, what: string): FileRead {
    if (path.includes("\u0000")) return { kind: "error", code: "compose.bad_path", message: `${what} path '${echo(path)}' contains a NUL byte`, hint: "file names cannot contain NUL (\\0) characters" };
    if (this.files >= this.limits.projectFiles) {
      return { kind: "error", code: "compose.too_many_files", message: limitMessage("projectFiles", `the project's file count, with ${what} ${echo(path)},`, `more than ${this.limits.projectFiles} files`, this.limits.projectFiles), hint: "include fewer files" };
    }
    let text: string | undefined;
    try {
      text = this.reader.read(path, what);
    } catch (e) {
      if (!isFizzError(e)) throw e;
      return { kind: "error", code: e.code.replace(/^file\./, "compose.file_"), message: e.message, ...(e.hint ? { hint: e.hint } : {}) };
    }
    if (text === undefined) return { kind: "missing" };
    this.files++;
    const size = utf8Length(text);
    if (size > this.limits.fileBytes) {
      return { kind: "error", code: "compose.file_too_large", message: limitMessage("fileBytes", `${what} ${echo(path)}`, size, this.limits.fileBytes), hint: "split it into smaller files" };
    }
    this.bytes += size;
    if (this.bytes > this.limits.projectBytes) {
      return { kind: "error", code: "compose.project_too_large", message: limitMessage("projectBytes", `the project's total size, with ${what} ${echo(path)},`, this.bytes, this.limits.projectBytes), hint: "include fewer or smaller files" };
    }
    return { kind: "text", text };
  }
}

/** Bytes of `s` in UTF-8, without encoding it. */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n += 2; // 4 bytes for 2 UTF-16 units
        i++;
      } else n += 2;
    } else n += 2;
  }
  return n;
}
