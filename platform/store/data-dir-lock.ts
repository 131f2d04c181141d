/**
 * One agent per data directory. Two agents on one directory (a second
 * `fizz agent` started by hand, or `-H unix:OTHER` starting one with the
 * default data directory while the usual agent runs) would share one node
 * identity and store, and both would reconcile the same deployments on the
 * same engine, each undoing the other's steps.
 *
 * The lock is an exclusive SQLite transaction held open on
 * `<data-dir>/agent.lock` (node:sqlite, on Bun and Deno alike): the kernel
 * drops it when the process ends, however it ends, so a crash or `kill -9`
 * leaves no stale lock behind, as a pid file would. The holder's pid is
 * written beside it (`agent.pid`) for the message the next one gets.
 */
import { chmodSync, closeSync, constants, mkdirSync, openSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { FizzError } from "../../core/errors.ts";

export interface DataDirLock {
  release(): void;
}

/** Takes the data directory for this process, or throws `data_dir.in_use` naming the holder. */
export function lockDataDir(dir: string): DataDirLock {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const path = join(dir, "agent.lock");
  // Private like the rest of the data directory (SQLite would make it 0644 under the usual umask, and the next start would warn).
  closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600));
  if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
  const db = new DatabaseSync(path, { timeout: 0 });
  try {
    db.exec("PRAGMA locking_mode = EXCLUSIVE");
    db.exec("BEGIN EXCLUSIVE");
  } catch (e) {
    db.close();
    if (!/locked|busy/i.test(e instanceof Error ? e.message : String(e))) throw e;
    const pid = holderPid(dir);
    throw new FizzError({
      code: "data_dir.in_use",
      message: `another fizz agent${pid ? ` (pid ${pid})` : ""} is running on data directory ${dir}`,
      hint: "stop that agent first, or give this one its own directory: fizz agent --data-dir DIR",
    });
  }
  try {
    writeFileSync(join(dir, "agent.pid"), `${process.pid}\n`, { mode: 0o600 });
  } catch {
    // Only for the message above.
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      db.close();
    },
  };
}

function holderPid(dir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dir, "agent.pid"), "utf8").trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
