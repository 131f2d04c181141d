/**
 * The registry's metadata in SQLite (`<root>/meta.db`): which manifests each
 * repository has (with media type, size, the digests they reference and
 * their subject, for referrers and GC), tags, upload sessions, and when each
 * digest was last served. Writes that belong together (a manifest and its
 * tag) are one transaction, so a crash never leaves a tag pointing at a
 * manifest the repository does not have. Content bytes are in blob-store.ts.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import { statementCache } from "../store/statements.ts";
import type { Descriptor, Digest } from "../../core/registry/index.ts";

export interface ManifestRow {
  readonly repo: string;
  readonly digest: Digest;
  readonly mediaType: string;
  readonly size: number;
  readonly refs: readonly Digest[];
  readonly subject?: Digest;
  /** The descriptor the referrers API lists for it, when it has a subject. */
  readonly referrer?: Descriptor;
  readonly created: number;
}

export interface TagRow {
  readonly repo: string;
  readonly tag: string;
  readonly digest: Digest;
  readonly updated: number;
}

export interface UploadRow {
  readonly id: string;
  readonly repo: string;
  readonly started: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS manifests (
  repo TEXT NOT NULL, digest TEXT NOT NULL, media_type TEXT NOT NULL, size INTEGER NOT NULL,
  refs TEXT NOT NULL, subject TEXT, referrer TEXT, created INTEGER NOT NULL,
  PRIMARY KEY (repo, digest));
CREATE INDEX IF NOT EXISTS manifests_subject ON manifests(repo, subject) WHERE subject IS NOT NULL;
CREATE INDEX IF NOT EXISTS manifests_digest ON manifests(digest);
CREATE TABLE IF NOT EXISTS manifest_refs (repo TEXT NOT NULL, manifest TEXT NOT NULL, ref TEXT NOT NULL, PRIMARY KEY (repo, manifest, ref));
CREATE INDEX IF NOT EXISTS manifest_refs_ref ON manifest_refs(ref);
CREATE TABLE IF NOT EXISTS tags (repo TEXT NOT NULL, tag TEXT NOT NULL, digest TEXT NOT NULL, updated INTEGER NOT NULL, PRIMARY KEY (repo, tag));
CREATE INDEX IF NOT EXISTS tags_digest ON tags(digest);
CREATE TABLE IF NOT EXISTS access (digest TEXT PRIMARY KEY, last INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS uploads (id TEXT PRIMARY KEY, repo TEXT NOT NULL, started INTEGER NOT NULL);
`;

type Row = Record<string, unknown>;

function manifestOf(r: Row): ManifestRow {
  return {
    repo: r.repo as string,
    digest: r.digest as Digest,
    mediaType: r.media_type as string,
    size: Number(r.size),
    refs: JSON.parse(r.refs as string) as Digest[],
    ...(r.subject ? { subject: r.subject as Digest } : {}),
    ...(r.referrer ? { referrer: JSON.parse(r.referrer as string) as Descriptor } : {}),
    created: Number(r.created),
  };
}

export class RegistryMeta {
  private readonly db: DatabaseSync;
  /** Last-served times not yet written: one write per flush, not per GET. */
  private readonly pendingAccess = new Map<string, number>();

  /** Prepared statements by text, each made once (platform/store/statements.ts). */
  private readonly sql: (text: string) => StatementSync;

  constructor(path: string) {
    this.db = new DatabaseSync(path);
    this.sql = statementCache(this.db);
    this.db.exec("PRAGMA journal_mode = WAL");
    this.db.exec("PRAGMA synchronous = NORMAL");
    this.db.exec("PRAGMA busy_timeout = 5000");
    this.db.exec(SCHEMA);
    this.indexRefs();
  }

  /** Stores written before manifest_refs existed: index their manifests' references once. */
  private indexRefs(): void {
    if (this.sql("SELECT 1 FROM manifest_refs LIMIT 1").get() !== undefined) return;
    if (this.sql("SELECT 1 FROM manifests LIMIT 1").get() === undefined) return;
    this.tx(() => {
      const st = this.sql("INSERT OR IGNORE INTO manifest_refs (repo, manifest, ref) VALUES (?, ?, ?)");
      for (const m of this.allManifests()) for (const r of m.refs) st.run(m.repo, m.digest, r);
    });
  }

  close(): void {
    this.flushAccess();
    this.db.close();
  }

  private tx<T>(f: () => T): T {
    this.db.exec("BEGIN IMMEDIATE");
    try {
      const v = f();
      this.db.exec("COMMIT");
      return v;
    } catch (e) {
      this.db.exec("ROLLBACK");
      throw e;
    }
  }

  /** Records a manifest in a repository, and points `tag` at it when given, in one transaction. */
  putManifest(m: ManifestRow, tag?: string): void {
    this.tx(() => {
      this.sql("INSERT OR REPLACE INTO manifests (repo, digest, media_type, size, refs, subject, referrer, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .run(m.repo, m.digest, m.mediaType, m.size, JSON.stringify(m.refs), m.subject ?? null, m.referrer ? JSON.stringify(m.referrer) : null, m.created);
      this.sql("DELETE FROM manifest_refs WHERE repo = ? AND manifest = ?").run(m.repo, m.digest);
      const ref = this.sql("INSERT OR IGNORE INTO manifest_refs (repo, manifest, ref) VALUES (?, ?, ?)");
      for (const r of m.refs) ref.run(m.repo, m.digest, r);
      if (tag !== undefined) this.sql("INSERT OR REPLACE INTO tags (repo, tag, digest, updated) VALUES (?, ?, ?, ?)").run(m.repo, tag, m.digest, m.created);
    });
  }

  setTag(repo: string, tag: string, digest: Digest, at: number): void {
    this.sql("INSERT OR REPLACE INTO tags (repo, tag, digest, updated) VALUES (?, ?, ?, ?)").run(repo, tag, digest, at);
  }

  manifest(repo: string, digest: Digest): ManifestRow | undefined {
    const r = this.sql("SELECT * FROM manifests WHERE repo = ? AND digest = ?").get(repo, digest) as Row | undefined;
    return r ? manifestOf(r) : undefined;
  }

  /** The manifest with this digest in any repository (peers serve by digest alone). */
  manifestAnywhere(digest: Digest): ManifestRow | undefined {
    const r = this.sql("SELECT * FROM manifests WHERE digest = ? LIMIT 1").get(digest) as Row | undefined;
    return r ? manifestOf(r) : undefined;
  }

  /** Manifests (in any repository) that reference a digest as config, layer or child (by index). */
  manifestsReferencing(digest: Digest): ManifestRow[] {
    return (this.sql("SELECT m.* FROM manifest_refs r JOIN manifests m ON m.repo = r.repo AND m.digest = r.manifest WHERE r.ref = ?").all(digest) as Row[]).map(manifestOf);
  }

  /** Whether a digest is still needed by some manifest: one itself, or referenced by one. */
  inUseByManifest(digest: Digest): ManifestRow | undefined {
    return this.manifestAnywhere(digest) ?? this.manifestsReferencing(digest)[0];
  }

  tag(repo: string, tag: string): TagRow | undefined {
    const r = this.sql("SELECT * FROM tags WHERE repo = ? AND tag = ?").get(repo, tag) as Row | undefined;
    return r ? { repo: r.repo as string, tag: r.tag as string, digest: r.digest as Digest, updated: Number(r.updated) } : undefined;
  }

  tags(repo: string): string[] {
    return (this.sql("SELECT tag FROM tags WHERE repo = ?").all(repo) as Row[]).map((r) => r.tag as string);
  }

  allTags(): TagRow[] {
    return (this.sql("SELECT * FROM tags").all() as Row[]).map((r) => ({ repo: r.repo as string, tag: r.tag as string, digest: r.digest as Digest, updated: Number(r.updated) }));
  }

  repoExists(repo: string): boolean {
    return this.sql("SELECT 1 FROM manifests WHERE repo = ? LIMIT 1").get(repo) !== undefined || this.sql("SELECT 1 FROM tags WHERE repo = ? LIMIT 1").get(repo) !== undefined;
  }

  /** Repositories that hold at least one manifest. */
  repos(): string[] {
    return (this.sql("SELECT DISTINCT repo FROM manifests").all() as Row[]).map((r) => r.repo as string);
  }

  allManifests(): ManifestRow[] {
    return (this.sql("SELECT * FROM manifests").all() as Row[]).map(manifestOf);
  }

  referrers(repo: string, subject: Digest): Descriptor[] {
    return (this.sql("SELECT referrer FROM manifests WHERE repo = ? AND subject = ? AND referrer IS NOT NULL").all(repo, subject) as Row[]).map((r) => JSON.parse(r.referrer as string) as Descriptor);
  }

  /** Deletes a tag; true when it existed. */
  deleteTag(repo: string, tag: string): boolean {
    return Number(this.sql("DELETE FROM tags WHERE repo = ? AND tag = ?").run(repo, tag).changes) > 0;
  }

  /** Deletes a manifest from a repository and every tag of it there; true when it existed. */
  deleteManifest(repo: string, digest: Digest): boolean {
    return this.tx(() => {
      this.sql("DELETE FROM tags WHERE repo = ? AND digest = ?").run(repo, digest);
      this.sql("DELETE FROM manifest_refs WHERE repo = ? AND manifest = ?").run(repo, digest);
      return Number(this.sql("DELETE FROM manifests WHERE repo = ? AND digest = ?").run(repo, digest).changes) > 0;
    });
  }

  touch(digest: string, at: number): void {
    this.pendingAccess.set(digest, at);
    if (this.pendingAccess.size >= 1000) this.flushAccess();
  }

  flushAccess(): void {
    if (this.pendingAccess.size === 0) return;
    const entries = [...this.pendingAccess];
    this.pendingAccess.clear();
    this.tx(() => {
      const st = this.sql("INSERT INTO access (digest, last) VALUES (?, ?) ON CONFLICT(digest) DO UPDATE SET last = max(last, excluded.last)");
      for (const [d, at] of entries) st.run(d, at);
    });
  }

  /** Last-served times by digest. */
  accessTimes(): Map<string, number> {
    this.flushAccess();
    return new Map((this.sql("SELECT digest, last FROM access").all() as Row[]).map((r) => [r.digest as string, Number(r.last)]));
  }

  forgetAccess(digest: string): void {
    this.pendingAccess.delete(digest);
    this.sql("DELETE FROM access WHERE digest = ?").run(digest);
  }

  addUpload(u: UploadRow): void {
    this.sql("INSERT INTO uploads (id, repo, started) VALUES (?, ?, ?)").run(u.id, u.repo, u.started);
  }

  upload(id: string): UploadRow | undefined {
    const r = this.sql("SELECT * FROM uploads WHERE id = ?").get(id) as Row | undefined;
    return r ? { id: r.id as string, repo: r.repo as string, started: Number(r.started) } : undefined;
  }

  uploads(): UploadRow[] {
    return (this.sql("SELECT * FROM uploads").all() as Row[]).map((r) => ({ id: r.id as string, repo: r.repo as string, started: Number(r.started) }));
  }

  deleteUpload(id: string): void {
    this.sql("DELETE FROM uploads WHERE id = ?").run(id);
  }
}
