/**
 * Key material of the node (the cluster keyring; later secrets' master keys),
 * one file each in `<data dir>/keys/`, never in the SQLite store. The store is
 * a general-purpose file: it is copied for backups and bug reports, SQLite
 * writes its content again into -wal/-shm/-journal side files, and freed pages
 * keep old values until they are reused, so a rotated or removed key would
 * linger. A key file is created 0600 in a 0700 directory, replaced whole by
 * rename (never half-written), and deleted outright. The threat model is in
 * docs/ENGINEERING.md ("Secrets of the node").
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync, chmodSync, unlinkSync, writeSync, constants } from "node:fs";
import { join } from "node:path";
import { FizzError } from "../../core/errors.ts";
import { readUserText } from "../user-file.ts";

/** Key files are small; anything larger is not one of ours. */
const MAX_KEY_FILE_BYTES = 1024 * 1024;
const NAME = /^[a-z0-9][a-z0-9-]{0,63}$/;

export interface KeyFiles {
  /** The key file's text, or undefined when there is none. */
  read(name: string): string | undefined;
  /** Replaces the key file atomically (0600). */
  write(name: string, text: string): void;
  /** Deletes it; no error when absent. */
  remove(name: string): void;
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new FizzError({ code: "store.bad_key_name", message: `'${name}' is not a key file name`, status: 500 });
}

/** Key files in `dir` (created 0700 on first write). */
export function keyFilesIn(dir: string): KeyFiles {
  return {
    read(name) {
      checkName(name);
      const path = join(dir, name);
      const text = readUserText(path, { what: "key file", maxBytes: MAX_KEY_FILE_BYTES });
      if (text !== undefined && (statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
      return text;
    },
    write(name, text) {
      checkName(name);
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const path = join(dir, name);
      const tmp = `${path}.tmp-${process.pid}`;
      rmSync(tmp, { force: true });
      // O_EXCL with mode 0600: the bytes never sit in a file someone else could have opened first.
      const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        const buf = Buffer.from(text, "utf8");
        let off = 0;
        while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
      syncDir(dir);
    },
    remove(name) {
      checkName(name);
      try {
        unlinkSync(join(dir, name));
        syncDir(dir);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
      }
    },
  };
}

/** Key files for an in-memory store (tests): nothing touches the disk. */
export function keyFilesInMemory(): KeyFiles {
  const m = new Map<string, string>();
  return {
    read: (name) => (checkName(name), m.get(name)),
    write: (name, text) => void (checkName(name), m.set(name, text)),
    remove: (name) => void (checkName(name), m.delete(name)),
  };
}

/** Makes a rename or unlink durable (best effort: not every filesystem lets a directory be fsynced). */
function syncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, constants.O_RDONLY);
    fsyncSync(fd);
  } catch {
    /* durability only */
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
