/**
 * Reading a file a user named (compose files, env files, node config, token
 * and TLS files): only regular files, never more than a byte limit, and every
 * error names the file. A path to /dev/zero, /dev/urandom, a fifo, a socket
 * or a directory is refused before a byte is read (the fifo is opened
 * non-blocking, so a missing writer cannot hang us); a file that grows while
 * we read it is cut off at the limit.
 */
import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from "node:fs";
import { FizzError } from "../core/errors.ts";
import { echo, limitMessage, MAX_FILE_BYTES } from "../core/limits.ts";

export interface UserFileOptions {
  /** Largest size accepted, in bytes (default: the file size limit). */
  readonly maxBytes?: number;
  /** What the file is, for messages: "env file", "config file". */
  readonly what?: string;
}

const CHUNK = 64 * 1024;

/** The file's bytes, or undefined when it does not exist. Throws a FizzError (code `file.*`) for anything else. */
export function readUserFile(path: string, opts: UserFileOptions = {}): Buffer | undefined {
  const what = opts.what ?? "file";
  const max = opts.maxBytes ?? MAX_FILE_BYTES;
  if (path.includes("\u0000")) {
    throw new FizzError({ code: "file.bad_path", message: `${what} path '${echo(path)}' contains a NUL byte`, hint: "file names cannot contain NUL (\\0) characters" });
  }
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOCTTY ?? 0));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    // A unix socket cannot be opened (ENXIO): say what it is rather than the errno.
    const st = statOrUndefined(path);
    if (st && !st.isFile()) throw notRegular(path, what, st);
    throw unreadable(path, what, e);
  }
  try {
    let st: Stats;
    try {
      st = fstatSync(fd);
    } catch (e) {
      throw unreadable(path, what, e);
    }
    if (!st.isFile()) throw notRegular(path, what, st);
    if (st.size > max) throw tooLarge(path, what, st.size, max);
    // Read to EOF rather than st.size: /proc files report 0, and a file may grow while we read.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const buf = Buffer.allocUnsafe(total === 0 && st.size > 0 ? Math.min(st.size + 1, max + 1) : CHUNK);
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        throw unreadable(path, what, e);
      }
      if (n === 0) break;
      total += n;
      if (total > max) throw tooLarge(path, what, total, max, true);
      chunks.push(n === buf.length ? buf : buf.subarray(0, n));
    }
    return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
  } finally {
    try {
      closeSync(fd);
    } catch {
      /* nothing to do: we only read */
    }
  }
}

/** The file's text (UTF-8), or undefined when it does not exist. */
export function readUserText(path: string, opts: UserFileOptions = {}): string | undefined {
  return readUserFile(path, opts)?.toString("utf8");
}

function notRegular(path: string, what: string, st: Stats): FizzError {
  return new FizzError({ code: "file.not_regular", message: `${what} ${echo(path)} is not a regular file (it is ${kindOf(st)})`, hint: "point it at an ordinary file; devices, fifos, sockets and directories are not read" });
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function tooLarge(path: string, what: string, size: number, max: number, atLeast = false): FizzError {
  return new FizzError({
    code: "file.too_large",
    message: limitMessage("fileBytes", `${what} ${echo(path)}`, atLeast ? `more than ${max} bytes` : size, max),
    hint: "split it into smaller files",
  });
}

const REASONS: Record<string, string> = {
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EIO: "input/output error",
  ELOOP: "too many levels of symbolic links",
  ENAMETOOLONG: "the path is too long",
  EISDIR: "it is a directory",
  ENXIO: "no such device or address",
  EAGAIN: "it would block (not a regular file)",
  EMFILE: "too many open files",
  ENFILE: "too many open files",
};

function unreadable(path: string, what: string, e: unknown): FizzError {
  const code = (e as NodeJS.ErrnoException).code;
  const reason = (code && REASONS[code]) ?? (code ? code : e instanceof Error ? e.message : String(e));
  return new FizzError({ code: "file.unreadable", message: `cannot read ${what} ${echo(path)}: ${reason}${code && REASONS[code] ? ` (${code})` : ""}`, cause: e });
}

function kindOf(st: Stats): string {
  if (st.isDirectory()) return "a directory";
  if (st.isCharacterDevice()) return "a character device";
  if (st.isBlockDevice()) return "a block device";
  if (st.isFIFO()) return "a fifo";
  if (st.isSocket()) return "a socket";
  return "not a file";
}
