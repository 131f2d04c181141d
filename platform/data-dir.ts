/** Where Fizz keeps its state: FIZZ_DATA_DIR, else the node config's default (/var/lib/fizz as root, $XDG_DATA_HOME/fizz otherwise). */
import { homedir } from "node:os";
import { join } from "node:path";
import { dataDirDefault } from "../core/agent-config/schema.ts";

export function defaultDataDir(env: Readonly<Record<string, string | undefined>> = process.env, uid = process.getuid?.() ?? 0): string {
  return env.FIZZ_DATA_DIR || dataDirDefault({ uid, env, home: env.HOME || homedir() });
}

export function storePath(dataDir: string): string {
  return join(dataDir, "fizz.db");
}
