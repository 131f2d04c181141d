/**
 * Where Fizz keeps its state (FIZZ_DATA_DIR, else the node config's default:
 * /var/lib/fizz as root, $XDG_DATA_HOME/fizz otherwise), and keeping it the
 * node's own: the directory 0700, its files 0600, its subdirectories 0700,
 * whatever an earlier run, an older version or a umask left there.
 */
import { chmodSync, lstatSync, mkdirSync, readdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { dataDirDefault } from "../core/agent-config/schema.ts";
import { FizzError } from "../core/errors.ts";

export function defaultDataDir(env: Readonly<Record<string, string | undefined>> = process.env, uid = process.getuid?.() ?? 0): string {
  return env.FIZZ_DATA_DIR || dataDirDefault({ uid, env, home: env.HOME || homedir() });
}

/** The CLI's own store (what `fizz up --no-agent` and friends record: restarts, the node id). */
export function storePath(dataDir: string): string {
  return join(dataDir, "fizz.db");
}

/** The agent's store (deployments, events, the restarts its health monitor made). */
export function agentStorePath(dataDir: string): string {
  return join(dataDir, "state.db");
}

/** One mode this call changed, for a warning. */
export interface ModeFix {
  readonly path: string;
  readonly was: number;
  readonly now: number;
}

/** Subdirectories whose files are the node's keys: their files are made private too. */
const KEY_DIRS = ["keys"];

/**
 * Creates `dir` (0700) or makes an existing one private: the directory 0700,
 * every regular file directly in it 0600, every subdirectory 0700, and the
 * files of the key directories 0600. Sockets keep their configured mode (the
 * directory already keeps other users out). Returns what it changed; throws a
 * FizzError when `dir` is not a directory or cannot be made private.
 */
export function securePrivateDir(dir: string): ModeFix[] {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory()) throw new FizzError({ code: "data_dir.not_a_directory", message: `the data directory ${dir} is not a directory` });
  const fixes: ModeFix[] = [];
  const fix = (path: string, mode: number, want: number) => {
    const was = mode & 0o7777;
    if ((was & 0o077) === 0) return;
    try {
      chmodSync(path, want);
    } catch (e) {
      throw new FizzError({
        code: "data_dir.not_private",
        message: `${path} has mode ${octal(was)} and cannot be made private: ${(e as NodeJS.ErrnoException).code ?? String(e)}`,
        hint: `run the agent as the owner of ${dir} (or root), or chmod it yourself: chmod -R go-rwx ${dir}`,
      });
    }
    fixes.push({ path, was, now: want });
  };
  fix(dir, st.mode, 0o700);
  const walk = (d: string, keyDir: boolean) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      let s;
      try {
        s = lstatSync(path);
      } catch {
        continue; // gone meanwhile
      }
      if (s.isFile()) fix(path, s.mode, 0o600);
      else if (s.isDirectory()) {
        fix(path, s.mode, 0o700);
        if (!keyDir && KEY_DIRS.includes(name)) walk(path, true);
      }
    }
  };
  walk(dir, false);
  return fixes;
}

export function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, "0")}`;
}

/**
 * A key file the node reads from a path it was given (API token, TLS key):
 * made 0600 when others could read it. Returns the change, if any; a file it
 * may not chmod is left as it is and reported with `now` equal to `was`.
 */
export function privateKeyFile(path: string): ModeFix | undefined {
  let mode: number;
  try {
    const s = statSync(path);
    if (!s.isFile()) return undefined;
    mode = s.mode & 0o7777;
  } catch {
    return undefined;
  }
  if ((mode & 0o077) === 0) return undefined;
  try {
    chmodSync(path, 0o600);
    return { path, was: mode, now: 0o600 };
  } catch {
    return { path, was: mode, now: mode };
  }
}
