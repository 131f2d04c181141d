/**
 * Schema migrations, applied in order inside one transaction each and tracked
 * with PRAGMA user_version. Never edit a shipped migration: append a new one.
 */
import type { DatabaseSync } from "node:sqlite";
import { FizzError } from "../../core/errors.ts";

export const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `CREATE TABLE meta (
     key   TEXT PRIMARY KEY,
     value TEXT NOT NULL
   );
   CREATE TABLE deployments (
     name        TEXT PRIMARY KEY,
     spec_json   TEXT NOT NULL,
     source_json TEXT NOT NULL,
     generation  INTEGER NOT NULL,
     created_at  INTEGER NOT NULL,
     updated_at  INTEGER NOT NULL
   );
   CREATE TABLE replicas (
     deployment TEXT NOT NULL REFERENCES deployments(name) ON DELETE CASCADE,
     service    TEXT NOT NULL,
     replicas   INTEGER NOT NULL CHECK (replicas >= 0),
     PRIMARY KEY (deployment, service)
   );
   CREATE TABLE restarts (
     id         INTEGER PRIMARY KEY AUTOINCREMENT,
     deployment TEXT NOT NULL,
     service    TEXT NOT NULL,
     container  TEXT NOT NULL,
     at         INTEGER NOT NULL,
     reason     TEXT NOT NULL
   );
   CREATE INDEX restarts_by_container ON restarts(container, at);
   CREATE TABLE events (
     id         INTEGER PRIMARY KEY AUTOINCREMENT,
     at         INTEGER NOT NULL,
     type       TEXT NOT NULL,
     deployment TEXT,
     service    TEXT,
     container  TEXT,
     message    TEXT NOT NULL,
     data_json  TEXT
   );
   CREATE INDEX events_by_time ON events(at);`,
];

export function migrate(db: DatabaseSync, path: string): void {
  const row = db.prepare("PRAGMA user_version").get() as { user_version: number } | undefined;
  const current = row?.user_version ?? 0;
  if (current > MIGRATIONS.length) {
    throw new FizzError({
      code: "store.too_new",
      message: `the state database ${path} has schema version ${current}, newer than this fizz understands (${MIGRATIONS.length})`,
      hint: "upgrade fizz, or point --data-dir at another directory",
    });
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.exec("BEGIN IMMEDIATE");
    try {
      db.exec(MIGRATIONS[v]!);
      db.exec(`PRAGMA user_version = ${v + 1}`);
      db.exec("COMMIT");
    } catch (e) {
      db.exec("ROLLBACK");
      throw new FizzError({
        code: "store.migration_failed",
        message: `migrating ${path} to schema version ${v + 1} failed: ${e instanceof Error ? e.message : String(e)}`,
        cause: e,
      });
    }
  }
}
