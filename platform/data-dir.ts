/** Where Fizz keeps its state: --data-dir, FIZZ_DATA_DIR, /var/lib/fizz as root, else $XDG_DATA_HOME/fizz. */
import { homedir } from "node:os";
import { join } from "node:path";

export function defaultDataDir(env: Readonly<Record<string, string | undefined>> = process.env, uid = process.getuid?.() ?? 0): string {
  if (env.FIZZ_DATA_DIR) return env.FIZZ_DATA_DIR;
  if (uid === 0) return "/var/lib/fizz";
  return join(env.XDG_DATA_HOME || join(env.HOME || homedir(), ".local", "share"), "fizz");
}

export function storePath(dataDir: string): string {
  return join(dataDir, "fizz.db");
}
