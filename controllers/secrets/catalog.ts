/**
 * Stored secrets and configs: create, rotate, list, inspect, remove, grant,
 * and reading a version's value (for delivery and export). A version is an
 * age file encrypted to the recipient derived from the master key and the
 * secret's path, so every write needs the key (an unsealed node) and no
 * ciphertext can be moved to another path. The last SECRET_VERSIONS_KEPT
 * versions are kept for rollback. Imported age identities (a team's key) are
 * stored the same way, under `identity/<name>`.
 */
import { randomBytes } from "node:crypto";
import { FizzError } from "../../core/errors.ts";
import { decryptAge } from "../../core/secrets/age.ts";
import type { Aead } from "../../core/secrets/age-stream.ts";
import { pathIdentity, recipientOfIdentity, equalBytes } from "../../core/secrets/keys.ts";
import { limitMessage } from "../../core/limits.ts";
import { mayRead } from "../../core/secrets/delivery.ts";
import {
  fromBase64,
  identityKey,
  kindOfPath,
  newSecretPathProblem,
  secretKey,
  SECRET_PATH_RE,
  SECRET_VERSIONS_KEPT,
  toBase64,
  versionKey,
  type SecretKind,
  type SecretMetaRecord,
  type SecretsRecord,
} from "../../core/state/index.ts";
import { encryptAge } from "../../platform/secrets/age-encrypt.ts";
import type { KeyHolder } from "./keyring.ts";
import type { SecretsRecords } from "./state.ts";

export interface SecretSummary {
  readonly name: string;
  readonly kind: SecretKind;
  readonly version: number;
  readonly versions: number;
  readonly size: number;
  readonly project: string | null;
  readonly grants: readonly string[];
  readonly created: number;
  readonly updated: number;
}

export interface SecretDetail extends SecretSummary {
  readonly history: SecretMetaRecord["versions"];
  readonly labels: Readonly<Record<string, string>>;
  /** deployment/service that reference it */
  readonly usedBy: readonly string[];
}

export interface CatalogDeps {
  readonly node: string;
  readonly state: SecretsRecords;
  readonly keys: KeyHolder;
  readonly aead: Aead;
  readonly now: () => number;
  readonly maxBytes: number;
  /** deployment/service pairs whose spec references the stored path. */
  readonly usedBy: (path: string) => string[];
  readonly emit: (type: string, message: string, data?: Record<string, unknown>) => void;
}

/** How long a rotation made here is watched for a concurrent one that supersedes it. */
const SETTLE_MS = 60_000;

const notFound = (path: string) => new FizzError({ code: "secrets.not_found", message: `no secret named ${path}`, hint: "fizz secret ls lists them", status: 404 });

export function checkPath(path: string): string {
  if (!SECRET_PATH_RE.test(path)) {
    throw new FizzError({ code: "secrets.bad_name", message: `'${path.slice(0, 80)}' is not a secret name: use letters, digits, '.', '_' and '-' (at most 63), or <project>/secret/<name> and <project>/config/<name>`, status: 400 });
  }
  return path;
}

export class Catalog {
  constructor(private readonly d: CatalogDeps) {}

  meta(path: string): SecretMetaRecord | undefined {
    const r = this.d.state.get(secretKey(path));
    return r?.type === "secret" ? r : undefined;
  }

  private summary(path: string, m: SecretMetaRecord): SecretSummary {
    const cur = m.versions.find((v) => v.v === m.current);
    return {
      name: path,
      kind: m.kind,
      version: m.current,
      versions: m.versions.length,
      size: cur?.size ?? 0,
      project: m.project,
      grants: m.grants,
      created: m.created,
      updated: cur?.created ?? m.created,
    };
  }

  list(): SecretSummary[] {
    return this.d.state
      .list("secret/")
      .filter(([, r]) => r.type === "secret")
      .map(([k, r]) => this.summary(k.slice("secret/".length), r as SecretMetaRecord));
  }

  inspect(path: string): SecretDetail {
    const m = this.meta(checkPath(path));
    if (!m) throw notFound(path);
    return { ...this.summary(path, m), history: m.versions, labels: m.labels, usedBy: this.d.usedBy(path) };
  }

  private checkSize(path: string, value: Uint8Array): void {
    if (value.length > this.d.maxBytes) throw new FizzError({ code: "secrets.too_large", message: limitMessage("secretBytes", `the value of ${path}`, value.length), status: 413 });
  }

  /** A value encrypted for `path`, as a version record not yet written, and the id of this write. */
  private async sealVersion(path: string, value: Uint8Array): Promise<{ id: string; record: SecretsRecord }> {
    const m = this.d.keys.need(`store ${path}`);
    const c = await encryptAge(value, [pathIdentity(m, path).recipient], { aead: this.d.aead });
    return { id: randomBytes(8).toString("hex"), record: { type: "version", ciphertext: toBase64(c) } };
  }

  async create(path: string, value: Uint8Array, o: { kind?: SecretKind; project?: string | null; labels?: Record<string, string>; grants?: string[] } = {}): Promise<SecretSummary> {
    const problem = newSecretPathProblem(path);
    if (problem) throw new FizzError({ code: "secrets.bad_name", message: `'${path.slice(0, 80)}' is not a secret name: ${problem}`, status: 400 });
    // A project-owned path names its kind (<project>/config/<name>); a kind asked for must agree with it.
    const named = kindOfPath(path);
    if (named && o.kind && o.kind !== named) {
      throw new FizzError({ code: "secrets.kind_mismatch", message: `${path} names a ${named}, but a ${o.kind} was asked for`, hint: `use ${path.split("/")[0]}/${o.kind}/${path.split("/")[2]}${o.kind === "config" ? "" : ", or --config"}`, status: 400 });
    }
    const kind = named ?? o.kind ?? "secret";
    if (this.meta(path)) throw new FizzError({ code: "secrets.exists", message: `secret ${path} already exists`, hint: `to change its value: fizz secret rotate ${path} FILE|-`, status: 409 });
    this.checkSize(path, value);
    const { id, record } = await this.sealVersion(path, value);
    const now = this.d.now();
    const meta: SecretMetaRecord = {
      type: "secret",
      kind,
      current: 1,
      versions: [{ v: 1, created: now, size: value.length, by: this.d.node, id }],
      project: o.project ?? (path.includes("/") ? path.split("/")[0]! : null),
      grants: o.grants ?? [],
      labels: o.labels ?? {},
      created: now,
    };
    this.d.state.putAll([[versionKey(path, 1, id), record], [secretKey(path), meta]]);
    this.d.emit("secret.created", `secret ${path} created (version 1, ${value.length} bytes)`, { secret: path, version: 1 });
    return this.summary(path, meta);
  }

  /**
   * A new version. Its ciphertext and the metadata naming it go out in one
   * delta; two nodes rotating at once both write version v+1 under their own
   * ids and the later metadata write (the cluster clock) wins with its own
   * value: the loser sees that in `settle()`, drops its ciphertext and says
   * so. Version records the new metadata no longer names (rotated out, or
   * left by a lost rotation) go in the same delta.
   */
  async rotate(path: string, value: Uint8Array): Promise<SecretSummary> {
    if (!this.meta(checkPath(path))) throw notFound(path);
    this.checkSize(path, value);
    const { id, record } = await this.sealVersion(path, value);
    // Read after encrypting: a rotation that arrived meanwhile is the one this one follows.
    const cur = this.meta(path);
    if (!cur) throw notFound(path);
    const v = Math.max(...cur.versions.map((x) => x.v), cur.current) + 1;
    const versions = [{ v, created: this.d.now(), size: value.length, by: this.d.node, id }, ...cur.versions];
    const kept = versions.slice(0, SECRET_VERSIONS_KEPT);
    const next: SecretMetaRecord = { ...cur, current: v, versions: kept };
    const keep = new Set(kept.map((x) => versionKey(path, x.v, x.id)));
    // An earlier rotation of ours that this one builds on (the metadata read names it) and pushes out of the history was
    // pruned, not lost: settle() must not report it. One the metadata no longer names did lose, and settle() says so.
    const pruned = new Set(cur.versions.filter((x) => !keep.has(versionKey(path, x.v, x.id))).map((x) => `${x.v}@${x.id}`));
    this.pending = this.pending.filter((p) => p.path !== path || !pruned.has(`${p.v}@${p.id}`));
    const drop = this.d.state.list(`version/${path}@`).map(([k]) => k).filter((k) => !keep.has(k));
    this.d.state.putAll([[versionKey(path, v, id), record], [secretKey(path), next], ...drop.map((k) => [k, null] as const)]);
    this.pending.push({ path, v, id, at: this.d.now() });
    this.d.emit("secret.rotated", `secret ${path} rotated to version ${v} (${value.length} bytes)`, { secret: path, version: v });
    return this.summary(path, next);
  }

  /** Rotations made here that a concurrent one on another node may still supersede. */
  private pending: { path: string; v: number; id: string; at: number }[] = [];

  /**
   * After state changes: a rotation made here that lost to a concurrent one
   * (the metadata no longer names its write) drops its ciphertext and says
   * which node's rotation won. A rotation still named after a minute is
   * settled.
   */
  settle(): void {
    const still: typeof this.pending = [];
    for (const p of this.pending) {
      const m = this.meta(p.path);
      // Older than every version kept: rotations after it (here or on another node) pushed it out of the history, which is no loss.
      if (m && m.versions.length >= SECRET_VERSIONS_KEPT && m.versions.every((x) => x.v > p.v)) continue;
      if (m && !m.versions.some((x) => x.v === p.v && x.id === p.id)) {
        const won = m.versions.find((x) => x.v === p.v) ?? m.versions.find((x) => x.v === m.current);
        this.d.state.delete(versionKey(p.path, p.v, p.id));
        this.d.emit(
          "secret.rotation_lost",
          `the rotation of secret ${p.path} to version ${p.v} on node ${this.d.node} lost to a concurrent rotation${won ? ` on node ${won.by}` : ""} (the later write wins); its value was dropped, version ${m.current} is current`,
          { secret: p.path, version: p.v, ...(won ? { winner: won.by } : {}) },
        );
      } else if (m && this.d.now() - p.at <= SETTLE_MS) still.push(p);
    }
    this.pending = still;
  }

  /** Back to an earlier version still kept (it becomes a new version with that value). */
  async rollback(path: string, version: number): Promise<SecretSummary> {
    const value = await this.value(path, version);
    return this.rotate(path, value);
  }

  /** A project's own secret or config from `fizz up`: created, or rotated when the value differs. */
  async upsert(path: string, kind: SecretKind, project: string, value: Uint8Array): Promise<{ changed: boolean; version: number }> {
    const m = this.meta(checkPath(path));
    if (!m) {
      await this.create(path, value, { kind, project });
      return { changed: true, version: 1 };
    }
    const cur = await this.value(path);
    if (equalBytes(cur, value)) return { changed: false, version: m.current };
    const s = await this.rotate(path, value);
    return { changed: true, version: s.version };
  }

  remove(path: string): void {
    const m = this.meta(checkPath(path));
    if (!m) throw notFound(path);
    const users = this.d.usedBy(path);
    if (users.length) {
      throw new FizzError({ code: "secrets.in_use", message: `secret ${path} is used by ${users.join(", ")}`, hint: "remove it from those services (or fizz down the deployment) first", status: 409 });
    }
    const records = this.d.state.list(`version/${path}@`).map(([k]) => k);
    this.d.state.putAll([...records.map((k) => [k, null] as const), [secretKey(path), null]]);
    this.d.emit("secret.removed", `secret ${path} removed`, { secret: path });
  }

  grant(path: string, target: string, revoke = false): SecretSummary {
    const m = this.meta(checkPath(path));
    if (!m) throw notFound(path);
    if (!/^[a-z0-9][a-z0-9_-]{0,62}(\/[A-Za-z0-9._-]{1,63})?$/.test(target)) {
      throw new FizzError({ code: "secrets.bad_grant", message: `'${target.slice(0, 80)}' is not a project or project/service`, status: 400 });
    }
    if (revoke && !m.grants.includes(target)) {
      throw new FizzError({
        code: "secrets.no_grant",
        message: `secret ${path} is not granted to ${target}${m.grants.length ? ` (granted to ${m.grants.join(", ")})` : " (it has no grants)"}`,
        hint: "fizz secret inspect lists its grants",
        status: 404,
      });
    }
    const grants = revoke ? m.grants.filter((g) => g !== target) : [...new Set([...m.grants, target])].sort();
    const next = { ...m, grants };
    if (revoke) {
      // As `secret rm` of a secret in use: services that read it only through this grant would keep their files
      // until their next container, which the agent then could not create (every pass, until the spec changes).
      const lost = this.d.usedBy(path).filter((u) => {
        const [project = "", service = ""] = u.split("/");
        return mayRead(path, m, project, service).ok && !mayRead(path, next, project, service).ok;
      });
      if (lost.length) {
        throw new FizzError({ code: "secrets.in_use", message: `secret ${path} is used by ${lost.join(", ")}, which could no longer read it`, hint: "remove it from those services (or fizz down the deployment) and run fizz up first", status: 409 });
      }
    }
    this.d.state.put(secretKey(path), next);
    this.d.emit(revoke ? "secret.revoked" : "secret.granted", `secret ${path} ${revoke ? "no longer granted to" : "granted to"} ${target}`, { secret: path, target });
    return this.summary(path, next);
  }

  /** The plaintext of a version (the current one by default). Callers must not store it. */
  async value(path: string, version?: number): Promise<Uint8Array> {
    const m = this.meta(checkPath(path));
    if (!m) throw notFound(path);
    const v = version ?? m.current;
    const entry = m.versions.find((x) => x.v === v);
    if (!entry) throw new FizzError({ code: "secrets.no_version", message: `secret ${path} has no version ${v} (kept: ${m.versions.map((x) => x.v).join(", ")})`, status: 404 });
    const rec = this.d.state.get(versionKey(path, v, entry.id));
    if (rec?.type !== "version") throw new FizzError({ code: "secrets.version_missing", message: `version ${v} of ${path} has not reached node ${this.d.node} yet`, status: 503 });
    const key = this.d.keys.need(`read ${path}`);
    const r = await decryptAge(fromBase64(rec.ciphertext), [pathIdentity(key, path).identity], this.d.aead);
    if (!r.ok) throw new FizzError({ code: "secrets.corrupt", message: `version ${v} of ${path} does not decrypt: ${r.message}`, status: 500 });
    return r.plaintext;
  }

  async importIdentity(name: string, identity: string): Promise<{ name: string; recipient: string }> {
    if (!/^[A-Za-z0-9._-]{1,63}$/.test(name)) throw new FizzError({ code: "secrets.bad_name", message: `'${name.slice(0, 80)}' is not an identity name`, status: 400 });
    const id = identity.trim();
    const recipient = id.startsWith("AGE-SECRET-KEY-PQ-1") ? await import("age-encryption").then((a) => a.identityToRecipient(id)).catch(() => undefined) : recipientOfIdentity(id);
    if (!recipient) throw new FizzError({ code: "secrets.bad_identity", message: "that is not an age identity (AGE-SECRET-KEY-1… or AGE-SECRET-KEY-PQ-1…)", status: 400 });
    const m = this.d.keys.need("import an identity");
    const c = await encryptAge(new TextEncoder().encode(id), [pathIdentity(m, `identity:${name}`).recipient], { aead: this.d.aead });
    this.d.state.put(identityKey(name), { type: "identity", recipient, ciphertext: toBase64(c), created: this.d.now() });
    this.d.emit("secrets.identity_imported", `age identity ${name} (${recipient}) imported: files encrypted to it deploy as they are`, { name, recipient });
    return { name, recipient };
  }

  identitiesList(): { name: string; recipient: string; created: number }[] {
    return this.d.state
      .list("identity/")
      .flatMap(([k, r]) => (r.type === "identity" ? [{ name: k.slice("identity/".length), recipient: r.recipient, created: r.created }] : []));
  }

  removeIdentity(name: string): void {
    if (!this.d.state.get(identityKey(name))) throw new FizzError({ code: "secrets.not_found", message: `no identity named ${name}`, status: 404 });
    this.d.state.delete(identityKey(name));
  }

  /** The imported identities' secret keys (to open GitOps files). */
  async identities(): Promise<string[]> {
    return (await this.namedIdentities()).map((i) => i.identity);
  }

  /** The imported identities' secret keys, by name. */
  async namedIdentities(): Promise<{ name: string; identity: string }[]> {
    const m = this.d.keys.key;
    if (!m) return [];
    const out: { name: string; identity: string }[] = [];
    for (const [k, r] of this.d.state.list("identity/")) {
      if (r.type !== "identity") continue;
      const name = k.slice("identity/".length);
      const d = await decryptAge(fromBase64(r.ciphertext), [pathIdentity(m, `identity:${name}`).identity], this.d.aead);
      if (d.ok) out.push({ name, identity: new TextDecoder().decode(d.plaintext) });
    }
    return out;
  }

}
