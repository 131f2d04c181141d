/**
 * Issue 18: the cluster key sat in plaintext in state.db (0644) and a non-root
 * user read it from the WAL. Key material now lives in key files (0600, in a
 * 0700 directory); a store from before moves it there on open and scrubs it
 * from the database file and its WAL.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { DatabaseSync } from "node:sqlite";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AgentStore } from "../../../platform/store/index.ts";
import { keyFilesIn } from "../../../platform/store/key-files.ts";
import { securePrivateDir } from "../../../platform/data-dir.ts";

const root = mkdtempSync(join(tmpdir(), "fizz-keys-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const mode = (p: string) => statSync(p).mode & 0o777;

/** Every byte of the store's files (database, WAL, shared memory), as latin1 for searching. */
function storeBytes(dir: string): string {
  return readdirSync(dir)
    .filter((f) => f.startsWith("state.db"))
    .map((f) => readFileSync(join(dir, f)).toString("latin1"))
    .join("\n");
}

describe("key files", () => {
  test("written 0600 in a 0700 directory, replaced whole, removed", () => {
    const dir = join(root, "k1", "keys");
    const k = keyFilesIn(dir);
    expect(k.read("cluster-keyring")).toBeUndefined();
    k.write("cluster-keyring", "one");
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, "cluster-keyring"))).toBe(0o600);
    k.write("cluster-keyring", "two");
    expect(k.read("cluster-keyring")).toBe("two");
    expect(readdirSync(dir)).toEqual(["cluster-keyring"]);
    k.remove("cluster-keyring");
    k.remove("cluster-keyring");
    expect(k.read("cluster-keyring")).toBeUndefined();
    expect(() => k.write("../escape", "x")).toThrow("is not a key file name");
  });

  test("a key file others can read is made 0600 when read", () => {
    const dir = join(root, "k2");
    const k = keyFilesIn(dir);
    k.write("x", "secret");
    chmodSync(join(dir, "x"), 0o644);
    expect(k.read("x")).toBe("secret");
    expect(mode(join(dir, "x"))).toBe(0o600);
  });
});

describe("the store keeps no key material", () => {
  const KEYRING = JSON.stringify({ primary: "ab12", keys: ["S3CRETKEYMATERIALxxxxxxxxxxxxxxxxxxxxxxxxxx"] });

  test("a keyring an older fizz stored in the meta table moves to its key file and leaves no trace in state.db or its WAL", () => {
    const dir = join(root, "legacy");
    const path = join(dir, "state.db");
    AgentStore.open(path).close();
    // What an older fizz did: the keyring as a meta row (then rotated once: the old value lingers in free space).
    const db = new DatabaseSync(path);
    db.exec("PRAGMA journal_mode = WAL");
    db.prepare("INSERT INTO meta(key, value) VALUES ('cluster_keyring', ?)").run(KEYRING.replace("S3CRET", "OLDKEY").replace('"]}', `${"y".repeat(300)}"]}`));
    db.prepare("UPDATE meta SET value = ? WHERE key = 'cluster_keyring'").run(KEYRING);
    db.close();
    expect(storeBytes(dir)).toContain("S3CRETKEYMATERIAL");
    expect(storeBytes(dir)).toContain("OLDKEYKEYMATERIAL");

    const store = AgentStore.open(path);
    try {
      expect(store.keys.read("cluster-keyring")).toBe(KEYRING);
      expect(store.getMeta("cluster_keyring")).toBeUndefined();
      const bytes = storeBytes(dir);
      expect(bytes).not.toContain("S3CRETKEYMATERIAL");
      expect(bytes).not.toContain("OLDKEYKEYMATERIAL");
      expect(mode(join(dir, "keys", "cluster-keyring"))).toBe(0o600);
      expect(() => store.setMeta("cluster_keyring", KEYRING)).toThrow("belongs in store.keys");
    } finally {
      store.close();
    }
  });

  test("the database is created 0600 and so are its WAL and shared memory; an existing 0644 one is fixed", () => {
    const dir = join(root, "fresh");
    const store = AgentStore.open(join(dir, "state.db"));
    store.setMeta("x", "1");
    for (const f of ["state.db", "state.db-wal", "state.db-shm"]) expect({ f, mode: mode(join(dir, f)) }).toEqual({ f, mode: 0o600 });
    store.close();
    for (const f of readdirSync(dir)) chmodSync(join(dir, f), 0o644);
    AgentStore.open(join(dir, "state.db")).close();
    for (const f of readdirSync(dir).filter((f) => f.startsWith("state.db"))) expect({ f, mode: mode(join(dir, f)) }).toEqual({ f, mode: 0o600 });
  });
});

describe("securePrivateDir", () => {
  test("a 0755 data directory with 0644 files: everything made private, each change reported", () => {
    const dir = join(root, "data");
    securePrivateDir(dir);
    expect(mode(dir)).toBe(0o700);
    chmodSync(dir, 0o755);
    writeFileSync(join(dir, "api-token"), "t", { mode: 0o644 });
    writeFileSync(join(dir, "agent.log"), "l", { mode: 0o640 });
    keyFilesIn(join(dir, "keys")).write("k", "v");
    chmodSync(join(dir, "keys"), 0o755);
    chmodSync(join(dir, "keys", "k"), 0o604);
    const fixes = securePrivateDir(dir);
    expect(fixes.map((f) => [f.path.slice(dir.length), f.was.toString(8), f.now.toString(8)]).sort()).toEqual([
      ["", "755", "700"],
      ["/agent.log", "640", "600"],
      ["/api-token", "644", "600"],
      ["/keys", "755", "700"],
      ["/keys/k", "604", "600"],
    ]);
    expect(securePrivateDir(dir)).toEqual([]);
    expect(existsSync(join(dir, "keys", "k"))).toBe(true);
  });

  test("a data directory that is a file is refused", () => {
    const f = join(root, "plain");
    writeFileSync(f, "");
    expect(() => securePrivateDir(f)).toThrow();
  });
});
