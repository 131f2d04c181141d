/** Typed access to the agent's SQLite database. All methods are synchronous. */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { randomUUID } from "node:crypto";
import { chmodSync, closeSync, constants, existsSync, mkdirSync, openSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { FizzError } from "../../core/errors.ts";
import { keyFilesIn, keyFilesInMemory, type KeyFiles } from "./key-files.ts";
import { statementCache } from "./statements.ts";
import { migrate } from "./migrations.ts";

/**
 * Meta keys that once held key material in the database, and the key file
 * each now lives in. Opening a store moves a value found there out and scrubs
 * it from the file; setMeta refuses them.
 */
const MOVED_TO_KEY_FILES: Readonly<Record<string, string>> = { cluster_keyring: "cluster-keyring" };

export interface StoredDeployment {
  name: string;
  /** The normalised compose project, as JSON-serialisable data. */
  spec: unknown;
  /** Where it came from: files, working dir, env file names, profiles. */
  source: unknown;
  /** Bumped on every update; lets readers detect change cheaply. */
  generation: number;
  createdAt: number;
  updatedAt: number;
}

export interface RestartRecord {
  id: number;
  deployment: string;
  service: string;
  container: string;
  at: number;
  reason: string;
}

export interface NewEvent {
  at: number;
  type: string;
  deployment?: string | undefined;
  service?: string | undefined;
  container?: string | undefined;
  message: string;
  data?: unknown;
}

export interface EventRecord extends NewEvent {
  id: number;
}

interface DeploymentRow {
  name: string;
  spec_json: string;
  source_json: string;
  generation: number;
  created_at: number;
  updated_at: number;
}

interface EventRow {
  id: number;
  at: number;
  type: string;
  deployment: string | null;
  service: string | null;
  container: string | null;
  message: string;
  data_json: string | null;
}

export class AgentStore {
  readonly path: string;
  /** The node's key material, in files of their own beside the database (never in it). */
  readonly keys: KeyFiles;
  private readonly db: DatabaseSync;

  /** Prepared statements by text: preparing costs more than most queries here run (measured in the cluster simulator). */
  private readonly sql: (text: string) => StatementSync;

  private constructor(path: string, db: DatabaseSync, keys: KeyFiles) {
    this.path = path;
    this.db = db;
    this.sql = statementCache(db);
    this.keys = keys;
  }

  /** Opens (creating if needed) the database at `path` and brings its schema up to date. */
  static open(path: string): AgentStore {
    let db: DatabaseSync;
    const memory = path === ":memory:";
    try {
      if (!memory) {
        mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
        privateFile(path);
      }
      db = new DatabaseSync(path);
      // Deleted and overwritten content is zeroed, not left in free pages.
      db.exec("PRAGMA secure_delete = ON");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = FULL");
      db.exec("PRAGMA foreign_keys = ON");
      db.exec("PRAGMA busy_timeout = 5000");
    } catch (e) {
      throw new FizzError({
        code: "store.open_failed",
        message: `cannot open the state database ${path}: ${e instanceof Error ? e.message : String(e)}`,
        hint: "check that the data directory exists and is writable (--data-dir)",
        cause: e,
      });
    }
    migrate(db, path);
    const store = new AgentStore(path, db, memory ? keyFilesInMemory() : keyFilesIn(join(dirname(path), "keys")));
    store.moveKeysOutOfDatabase();
    return store;
  }

  /** Key material an older fizz kept in the meta table goes to its key file, and every trace of it leaves the database file and its WAL. */
  private moveKeysOutOfDatabase(): void {
    let moved = false;
    for (const [meta, file] of Object.entries(MOVED_TO_KEY_FILES)) {
      const value = this.getMeta(meta);
      if (value === undefined) continue;
      if (value !== "" && this.keys.read(file) === undefined) this.keys.write(file, value);
      this.sql("DELETE FROM meta WHERE key = ?").run(meta);
      moved = true;
    }
    if (!moved) return;
    // VACUUM rewrites every page (old versions of the row sat in free space); the checkpoint empties the WAL.
    this.db.exec("VACUUM");
    this.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  close(): void {
    this.db.close();
  }

  /** This node's identity, generated once on first start and kept forever. */
  nodeId(): string {
    const existing = this.getMeta("node_id");
    if (existing) return existing;
    const id = randomUUID();
    this.sql("INSERT OR IGNORE INTO meta(key, value) VALUES ('node_id', ?)").run(id);
    return this.getMeta("node_id") ?? id;
  }

  getMeta(key: string): string | undefined {
    const row = this.sql("SELECT value FROM meta WHERE key = ?").get(key) as { value: string } | undefined;
    return row?.value;
  }

  setMeta(key: string, value: string): void {
    if (Object.hasOwn(MOVED_TO_KEY_FILES, key)) throw new FizzError({ code: "store.key_in_database", message: `'${key}' is key material: it belongs in store.keys, not the database`, status: 500 });
    this.sql("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value").run(key, value);
  }

  /** Creates or replaces a deployment; returns the stored record. Atomic. */
  putDeployment(name: string, spec: unknown, source: unknown, now: number): StoredDeployment {
    const specJson = JSON.stringify(spec);
    const sourceJson = JSON.stringify(source);
    this.sql(
        `INSERT INTO deployments(name, spec_json, source_json, generation, created_at, updated_at)
         VALUES (?, ?, ?, 1, ?, ?)
         ON CONFLICT(name) DO UPDATE SET spec_json = excluded.spec_json, source_json = excluded.source_json,
           generation = deployments.generation + 1, updated_at = excluded.updated_at`,
      )
      .run(name, specJson, sourceJson, now, now);
    return this.getDeployment(name)!;
  }

  getDeployment(name: string): StoredDeployment | undefined {
    const row = this.sql("SELECT * FROM deployments WHERE name = ?").get(name) as DeploymentRow | undefined;
    return row ? toDeployment(row) : undefined;
  }

  listDeployments(): StoredDeployment[] {
    return (this.sql("SELECT * FROM deployments ORDER BY name").all() as unknown as DeploymentRow[]).map(toDeployment);
  }

  /**
   * A deployment's version without reading its spec (cheap change detection):
   * its generation and when its row was created and last written (a deployment
   * deleted and made again starts over at generation 1 with a new creation time).
   */
  deploymentVersion(name: string): string | undefined {
    const row = this.sql("SELECT generation, created_at, updated_at FROM deployments WHERE name = ?").get(name) as { generation: number; created_at: number; updated_at: number } | undefined;
    return row ? versionOf(row.generation, row.created_at, row.updated_at) : undefined;
  }

  /** Every deployment's name and generation, without reading the specs (cheap change detection). */
  deploymentGenerations(): [string, number][] {
    return (this.sql("SELECT name, generation FROM deployments ORDER BY name").all() as unknown as { name: string; generation: number }[]).map((r) => [r.name, r.generation]);
  }

  /** Every deployment's name and version (`versionOf`), without reading the specs. */
  deploymentVersions(): [string, string][] {
    return (this.sql("SELECT name, generation, created_at, updated_at FROM deployments ORDER BY name").all() as unknown as { name: string; generation: number; created_at: number; updated_at: number }[]).map((r) => [
      r.name,
      versionOf(r.generation, r.created_at, r.updated_at),
    ]);
  }

  /** Removes a deployment and its replica overrides; true when it existed. */
  deleteDeployment(name: string): boolean {
    const r = this.sql("DELETE FROM deployments WHERE name = ?").run(name);
    return Number(r.changes) > 0;
  }

  setReplicas(deployment: string, service: string, replicas: number): void {
    if (!Number.isInteger(replicas) || replicas < 0) {
      throw new FizzError({ code: "store.bad_replicas", message: `replicas must be a non-negative integer, got ${replicas}` });
    }
    if (!this.getDeployment(deployment)) {
      throw new FizzError({ code: "deployment.not_found", message: `no deployment named '${deployment}'`, status: 404 });
    }
    this.sql(
        "INSERT INTO replicas(deployment, service, replicas) VALUES (?, ?, ?) ON CONFLICT(deployment, service) DO UPDATE SET replicas = excluded.replicas",
      )
      .run(deployment, service, replicas);
  }

  /** Drops a `fizz scale` override (the spec's count applies again); true when there was one. */
  clearReplicas(deployment: string, service: string): boolean {
    return Number(this.sql("DELETE FROM replicas WHERE deployment = ? AND service = ?").run(deployment, service).changes) > 0;
  }

  /** Desired replica overrides (from `fizz scale`) for a deployment. */
  replicas(deployment: string): Map<string, number> {
    const rows = this.sql("SELECT service, replicas FROM replicas WHERE deployment = ?").all(deployment) as unknown as {
      service: string;
      replicas: number;
    }[];
    return new Map(rows.map((r) => [r.service, r.replicas]));
  }

  recordRestart(r: Omit<RestartRecord, "id">): void {
    this.sql("INSERT INTO restarts(deployment, service, container, at, reason) VALUES (?, ?, ?, ?, ?)")
      .run(r.deployment, r.service, r.container, r.at, r.reason);
  }

  restarts(container: string, sinceMs = 0): RestartRecord[] {
    return this.sql("SELECT * FROM restarts WHERE container = ? AND at >= ? ORDER BY at")
      .all(container, sinceMs) as unknown as RestartRecord[];
  }

  appendEvent(e: NewEvent): EventRecord {
    const r = this.sql("INSERT INTO events(at, type, deployment, service, container, message, data_json) VALUES (?, ?, ?, ?, ?, ?, ?)")
      .run(e.at, e.type, e.deployment ?? null, e.service ?? null, e.container ?? null, e.message, e.data === undefined ? null : JSON.stringify(e.data));
    return { ...e, id: Number(r.lastInsertRowid) };
  }

  /** Several events in one transaction: one durable write for all of them. */
  appendEvents(es: readonly NewEvent[]): EventRecord[] {
    if (es.length === 0) return [];
    return this.transaction(() => es.map((e) => this.appendEvent(e)));
  }

  private depth = 0;

  /**
   * Runs `f`'s writes as one transaction: all or none of them survive a crash,
   * and they cost one durable write (fsync) instead of one each. Nested calls
   * join the outer transaction.
   */
  transaction<T>(f: () => T): T {
    if (this.depth > 0) return f();
    this.db.exec("BEGIN");
    this.depth++;
    try {
      const out = f();
      this.db.exec("COMMIT");
      return out;
    } catch (err) {
      this.db.exec("ROLLBACK");
      throw err;
    } finally {
      this.depth--;
    }
  }

  /** Events after `afterId` (for SSE resume), oldest first, at most `limit`. */
  events(afterId = 0, limit = 1000): EventRecord[] {
    const rows = this.sql("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?").all(afterId, limit) as unknown as EventRow[];
    return rows.map((r) => ({
      id: r.id,
      at: r.at,
      type: r.type,
      message: r.message,
      ...(r.deployment !== null ? { deployment: r.deployment } : {}),
      ...(r.service !== null ? { service: r.service } : {}),
      ...(r.container !== null ? { container: r.container } : {}),
      ...(r.data_json !== null ? { data: JSON.parse(r.data_json) as unknown } : {}),
    }));
  }

  /** Drops events older than `beforeMs` so the log stays bounded. */
  pruneEvents(beforeMs: number): number {
    return Number(this.sql("DELETE FROM events WHERE at < ?").run(beforeMs).changes);
  }
}

/**
 * Creates the database file 0600 before SQLite does (SQLite gives its -wal and
 * -shm files the database file's mode), and makes an existing one and its
 * side files 0600.
 */
function privateFile(path: string): void {
  closeSync(openSync(path, constants.O_RDWR | constants.O_CREAT, 0o600));
  for (const p of [path, `${path}-wal`, `${path}-shm`, `${path}-journal`]) {
    try {
      if ((statSync(p).mode & 0o077) !== 0) chmodSync(p, 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e;
    }
  }
}

/** What `deploymentVersion` answers for a row: equal strings, the same stored spec. */
/** Restart records read from a store another process owns (read-only: the agent's, for the CLI's `ps`). */
export interface RestartHistory {
  restarts(container: string, sinceMs?: number): RestartRecord[];
  close(): void;
}

/** The restart records of the store at `path`, opened read-only; undefined when there is none or it cannot be read. */
export function readRestartHistory(path: string): RestartHistory | undefined {
  if (!existsSync(path)) return undefined;
  try {
    const db = new DatabaseSync(path, { readOnly: true });
    db.exec("PRAGMA busy_timeout = 2000");
    const q = db.prepare("SELECT * FROM restarts WHERE container = ? AND at >= ? ORDER BY at");
    return {
      restarts: (container, sinceMs = 0) => {
        try {
          return q.all(container, sinceMs) as unknown as RestartRecord[];
        } catch {
          return [];
        }
      },
      close: () => db.close(),
    };
  } catch {
    return undefined;
  }
}

export function versionOf(generation: number, createdAt: number, updatedAt: number): string {
  return `${generation}@${createdAt}@${updatedAt}`;
}

function toDeployment(row: DeploymentRow): StoredDeployment {
  return {
    name: row.name,
    spec: JSON.parse(row.spec_json) as unknown,
    source: JSON.parse(row.source_json) as unknown,
    generation: row.generation,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}
