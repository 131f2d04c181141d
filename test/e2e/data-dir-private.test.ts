/**
 * Issue 18 acceptance: after `fizz agent` starts on a pre-existing 0755 data
 * directory, no file under it is readable by another user, checked as a real
 * unprivileged user (nobody, through setpriv); the cluster key is in no file
 * of the store. Before the fix the directory stayed 0755, state.db 0644, and
 * the keyring was a row of state.db that nobody could read from the WAL.
 */
import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiClient } from "../../platform/api/client.ts";
import { AgentStore } from "../../platform/store/index.ts";
import { freePort, startAgent } from "../platform/api/agent-process.ts";

const NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"];

/** Runs argv as user nobody; true when it exited 0. */
function asNobody(argv: string[]): boolean {
  const r = spawnSync(NOBODY[0]!, [...NOBODY.slice(1), ...argv], { encoding: "utf8" });
  if (r.error) throw r.error;
  return r.status === 0;
}

/** Every path under dir (as root), directories included. */
function everything(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    out.push(p);
    if (e.isDirectory()) out.push(...everything(p));
  }
  return out;
}

describe("the data directory is the node's own (issue 18)", () => {
  test("a pre-existing 0755 data directory: after start, nobody can read any file in it, and the cluster key is not in the store", async () => {
    if (process.getuid?.() !== 0) throw new Error("this test needs root (it runs a check as user nobody through setpriv)");
    const dataDir = mkdtempSync(join(tmpdir(), "fizz-private-"));
    try {
      // What an older fizz and a umask of 022 left: everything world-readable, the keyring a row of state.db.
      chmodSync(dataDir, 0o755);
      AgentStore.open(join(dataDir, "state.db")).close();
      const legacyKey = "LEGACYKEYxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";
      const db = new DatabaseSync(join(dataDir, "state.db"));
      db.exec("PRAGMA journal_mode = WAL");
      db.prepare("INSERT INTO meta(key, value) VALUES ('cluster_keyring', ?)").run(JSON.stringify({ primary: "00", keys: [legacyKey] }));
      db.close();
      writeFileSync(join(dataDir, "api-token"), "legacy-token-0123456789abcdef\n", { mode: 0o644 });
      writeFileSync(join(dataDir, "agent.log"), "old log\n", { mode: 0o644 });
      for (const p of everything(dataDir)) chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
      // The check can fail: right now nobody reads the store.
      expect(asNobody(["cat", join(dataDir, "state.db")])).toBe(true);

      const sock = join(dataDir, "api.sock");
      const [apiPort, clusterPort] = [await freePort(), await freePort()];
      const agent = await startAgent({ dataDir, args: ["--api", `unix:${sock}`], env: { FIZZ_API_TCP_LISTEN: `127.0.0.1:${apiPort}`, FIZZ_CLUSTER_BIND: `127.0.0.1:${clusterPort}` }, listeners: 2 });
      let key: string;
      try {
        const warned = agent.logs.filter((l) => String(l.msg).includes("was open to other users")).map((l) => String(l.path).slice(dataDir.length));
        expect(warned).toEqual(expect.arrayContaining(["", "/state.db", "/api-token", "/agent.log"]));
        // A cluster now: the agent writes a fresh keyring.
        await new ApiClient({ address: { kind: "unix", path: sock } }).clusterInit();
        key = (JSON.parse(readFileSync(join(dataDir, "keys", "cluster-keyring"), "utf8")) as { keys: string[] }).keys[0]!;
        expect(key.length).toBeGreaterThan(40);

        const paths = everything(dataDir);
        expect(paths.map((p) => p.slice(dataDir.length))).toEqual(expect.arrayContaining(["/state.db", "/state.db-wal", "/keys/cluster-keyring", "/api-token"]));
        expect(asNobody(["ls", dataDir])).toBe(false);
        for (const p of paths) {
          if (statSync(p).isSocket()) continue; // sockets are connected to, not read; the API socket's own mode is 0660
          expect({ p, readable: asNobody(["cat", p]) }).toEqual({ p, readable: false });
          const mode = statSync(p).mode & 0o777;
          expect({ p, mode: mode.toString(8) }).toEqual({ p, mode: statSync(p).isDirectory() ? "700" : "600" });
        }
        expect(statSync(dataDir).mode & 0o777).toBe(0o700);
        const store = paths.filter((p) => p.includes("state.db")).map((p) => readFileSync(p).toString("latin1")).join("");
        expect(store).not.toContain(key);
        expect(store).not.toContain(legacyKey);
      } finally {
        expect(await agent.stop()).toBe(0);
        agent.cleanup();
      }
      // After a clean stop too (the WAL checkpointed into the database).
      const after = everything(dataDir).filter((p) => p.includes("state.db")).map((p) => readFileSync(p).toString("latin1")).join("");
      expect(after).not.toContain(key);
      expect(after).not.toContain(legacyKey);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);
});
