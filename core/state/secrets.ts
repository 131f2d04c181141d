/**
 * The `secrets` collection: everything the secrets capability replicates, as
 * one LWW map whose keys say what a record is. Nothing in it is plaintext:
 * values are age-encrypted to a recipient derived from the master key and
 * the secret's path, shares to the node that holds them, offers to a sealed
 * node's in-memory key. Keys (and their one writer):
 *
 *   keyring                 cluster key check value, cluster recipient, recovery
 *                           share commitments                    (the node that made or rekeyed it)
 *   nodekey/<node>          the node's own age recipient          (that node)
 *   share/<node>            the node's Shamir share, encrypted to it (any unsealed node; deterministic)
 *   seal/<node>             sealed or not, why, and the in-memory recipient offers go to (that node)
 *   offer/<to>/<from>       <from>'s share, encrypted to <to>'s request key (<from>)
 *   secret/<path>           metadata: kind, versions, scope and grants (the node that changed it)
 *   version/<path>@<v>.<id> one version's ciphertext                (the node that wrote it; written
 *                           in one delta with the secret/<path> record that names it, so no node
 *                           sees one without the other; <id> tells two concurrent rotations'
 *                           version <v> apart: the metadata record's last writer wins, with its
 *                           own value. Versions from before ids: version/<path>@<v>)
 *   identity/<name>         an imported age identity, encrypted like a secret (the importing node)
 *
 * `<path>` is a cluster secret's name (`db_pw`) or a project's own secret or
 * config (`app/secret/db`, `app/config/nginx`).
 */
import { at, fail, field, readArray, readDict, readInt, readRecord, readString, type Dict, type Json } from "../crdt/index.ts";

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
const RECIPIENT_RE = /^age1[0-9a-z]{20,2000}$/;
const HEX_RE = /^[0-9a-f]{8,128}$/;
/** Names of secrets and configs; `/` joins a project-owned path's parts. */
export const SECRET_PATH_RE = /^[A-Za-z0-9._-]{1,63}(\/(secret|config)\/[A-Za-z0-9._-]{1,63})?$/;

/**
 * Why `path` may not name a new secret, or undefined: SECRET_PATH_RE (kept as
 * it is so stored state still reads), and no part may be `.` or `..`, which
 * no URL can address (the API refuses such segments).
 */
export function newSecretPathProblem(path: string): string | undefined {
  if (!SECRET_PATH_RE.test(path)) return "use letters, digits, '.', '_' and '-' (at most 63), or <project>/secret/<name> and <project>/config/<name>";
  const dots = path.split("/").find((s) => s === "." || s === "..");
  if (dots) return `'${dots}' cannot be a name or a part of one (it could not be addressed afterwards)`;
  return undefined;
}

/** The kind a project-owned path names (`<project>/config/<name>` is a config); undefined for a cluster secret's plain name. */
export function kindOfPath(path: string): SecretKind | undefined {
  const parts = path.split("/");
  return parts.length === 3 ? (parts[1] as SecretKind) : undefined;
}
const NODE_RE = /^[A-Za-z0-9._:-]{1,64}$/;
/** A stored value is at most 1 MiB (core/limits.ts); its base64 ciphertext fits in this. */
const MAX_CIPHERTEXT = 2 * 1024 * 1024;

export type SealState = "sealed" | "unsealed" | "recovered";
export type SecretKind = "secret" | "config";

export type KeyringRecord = {
  readonly type: "keyring";
  /** Hex key check value of the master key (keys.ts). */
  readonly check: string;
  /** The cluster's age recipient (`fizz secret recipient`). */
  readonly recipient: string;
  readonly created: number;
  /** Recovery shares (a separate polynomial, `recovery\0<id>`): threshold, count, one commitment each. */
  readonly recovery: { readonly id: string; readonly threshold: number; readonly commitments: readonly string[] } | null;
  /**
   * The node shares' generation (absent: 0). Bumped when a share holder
   * leaves the cluster: the shares are re-split from a new polynomial, so the
   * leaver's share no longer combines with anyone's.
   */
  readonly epoch?: number;
};

export type NodeKeyRecord = { readonly type: "nodekey"; readonly recipient: string };

export type ShareRecord = {
  readonly type: "share";
  readonly x: number;
  readonly t: number;
  /** base64 age file, to the holder's nodekey recipient */
  readonly ciphertext: string;
  readonly commitment: string;
  /** the node that minted it */
  readonly by: string;
  /** the keyring's share generation it belongs to (absent: 0) */
  readonly epoch?: number;
};

export type SealRecord = {
  readonly type: "seal";
  readonly state: SealState;
  readonly since: number;
  /** why, in words (e.g. "2 of 3 shares: waiting for more nodes") */
  readonly reason: string;
  /** While sealed: the in-memory recipient peers encrypt their shares to. */
  readonly request: string | null;
};

export type OfferRecord = {
  readonly type: "offer";
  /** the request recipient it answers (a stale offer answers an old request) */
  readonly request: string;
  readonly x: number;
  readonly t: number;
  readonly ciphertext: string;
  /** the share generation of the shares offered (absent: 0) */
  readonly epoch?: number;
};

export type SecretVersionMeta = {
  readonly v: number;
  readonly created: number;
  /** plaintext length in bytes (not secret; shown by inspect) */
  readonly size: number;
  readonly by: string;
  /** Which write of version `v` this is (its record is `version/<path>@<v>.<id>`); absent for versions written before ids. */
  readonly id?: string;
};

export type SecretMetaRecord = {
  readonly type: "secret";
  readonly kind: SecretKind;
  /** The newest version is what is delivered. */
  readonly current: number;
  /** Newest first, at most SECRET_VERSIONS_KEPT. */
  readonly versions: readonly SecretVersionMeta[];
  /** The project that owns it (compose-declared), or null for a cluster secret. */
  readonly project: string | null;
  /** Other projects (or project/service) allowed to read it. */
  readonly grants: readonly string[];
  readonly labels: Dict<string>;
  readonly created: number;
};

export type SecretVersionRecord = { readonly type: "version"; readonly ciphertext: string };

export type IdentityRecord = { readonly type: "identity"; readonly recipient: string; readonly ciphertext: string; readonly created: number };

export type SecretsRecord = KeyringRecord | NodeKeyRecord | ShareRecord | SealRecord | OfferRecord | SecretMetaRecord | SecretVersionRecord | IdentityRecord;

/** How many versions of a secret are kept (the current one and a few to roll back to). */
export const SECRET_VERSIONS_KEPT = 5;

// ---- keys ---------------------------------------------------------------------

export const KEYRING_KEY = "keyring";
export const nodeKeyKey = (node: string) => `nodekey/${node}`;
export const shareKey = (node: string) => `share/${node}`;
export const sealKey = (node: string) => `seal/${node}`;
export const offerKey = (to: string, from: string) => `offer/${to}/${from}`;
export const secretKey = (path: string) => `secret/${path}`;
export const versionKey = (path: string, v: number, id?: string) => `version/${path}@${v}${id ? `.${id}` : ""}`;
/** A version write's id: 16 hex digits. */
export const VERSION_ID_RE = /^[0-9a-f]{16}$/;
export const identityKey = (name: string) => `identity/${name}`;

export type ParsedSecretsKey =
  | { readonly type: "keyring" }
  | { readonly type: "nodekey" | "share" | "seal"; readonly node: string }
  | { readonly type: "offer"; readonly to: string; readonly from: string }
  | { readonly type: "secret"; readonly path: string }
  | { readonly type: "version"; readonly path: string; readonly v: number; readonly id?: string }
  | { readonly type: "identity"; readonly name: string };

export function parseSecretsKey(k: string): ParsedSecretsKey | undefined {
  if (k === KEYRING_KEY) return { type: "keyring" };
  const slash = k.indexOf("/");
  if (slash < 0) return undefined;
  const kind = k.slice(0, slash);
  const rest = k.slice(slash + 1);
  switch (kind) {
    case "nodekey":
    case "share":
    case "seal":
      return NODE_RE.test(rest) ? { type: kind, node: rest } : undefined;
    case "offer": {
      const [to, from, extra] = rest.split("/");
      return to && from && extra === undefined && NODE_RE.test(to) && NODE_RE.test(from) ? { type: "offer", to, from } : undefined;
    }
    case "secret":
      return SECRET_PATH_RE.test(rest) ? { type: "secret", path: rest } : undefined;
    case "version": {
      const m = /^(.+)@(0|[1-9][0-9]{0,9})(?:\.([0-9a-f]{16}))?$/.exec(rest);
      return m && SECRET_PATH_RE.test(m[1]!) ? { type: "version", path: m[1]!, v: Number(m[2]), ...(m[3] ? { id: m[3] } : {}) } : undefined;
    }
    case "identity":
      return /^[A-Za-z0-9._-]{1,63}$/.test(rest) ? { type: "identity", name: rest } : undefined;
  }
  return undefined;
}

export function checkSecretsKey(k: string, p: string): void {
  if (!parseSecretsKey(k)) fail(p, "invalid secrets key");
}

// ---- validators ---------------------------------------------------------------

function b64(v: unknown, p: string, max = MAX_CIPHERTEXT): string {
  const s = readString(v, p, max);
  if (s.length % 4 !== 0 || !B64_RE.test(s)) fail(p, "expected base64");
  return s;
}
function recipient(v: unknown, p: string): string {
  const s = readString(v, p, 2100);
  if (!RECIPIENT_RE.test(s)) fail(p, "expected an age recipient");
  return s;
}
function hexStr(v: unknown, p: string): string {
  const s = readString(v, p, 128);
  if (!HEX_RE.test(s)) fail(p, "expected hex");
  return s;
}
function oneOf<T extends string>(v: unknown, p: string, options: readonly T[]): T {
  if (typeof v !== "string" || !(options as readonly string[]).includes(v)) fail(p, `expected one of ${options.join(", ")}`);
  return v as T;
}

/** An optional share generation: a positive integer when present. */
function epochOf(o: Record<string, unknown>, p: string): { epoch?: number } {
  return o.epoch === undefined ? {} : { epoch: readInt(o.epoch, at(p, "epoch"), 1) };
}

export function readSecretsRecord(v: unknown, p: string): SecretsRecord {
  const type = field((v ?? {}) as Record<string, unknown>, "type");
  switch (type) {
    case "keyring": {
      const o = readRecord(v, p, ["type", "check", "recipient", "created", "recovery"], ["epoch"]);
      let recovery: KeyringRecord["recovery"] = null;
      if (o.recovery !== null) {
        const r = readRecord(o.recovery, at(p, "recovery"), ["id", "threshold", "commitments"]);
        recovery = {
          id: hexStr(r.id, at(p, "recovery.id")),
          threshold: readInt(r.threshold, at(p, "recovery.threshold"), 1, 255),
          commitments: readArray(r.commitments, at(p, "recovery.commitments"), hexStr, 255),
        };
      }
      return { type, check: hexStr(o.check, at(p, "check")), recipient: recipient(o.recipient, at(p, "recipient")), created: readInt(o.created, at(p, "created")), recovery, ...epochOf(o, p) };
    }
    case "nodekey": {
      const o = readRecord(v, p, ["type", "recipient"]);
      return { type, recipient: recipient(o.recipient, at(p, "recipient")) };
    }
    case "share": {
      const o = readRecord(v, p, ["type", "x", "t", "ciphertext", "commitment", "by"], ["epoch"]);
      return {
        type,
        x: readInt(o.x, at(p, "x"), 1, 255),
        t: readInt(o.t, at(p, "t"), 1, 255),
        ciphertext: b64(o.ciphertext, at(p, "ciphertext"), 8192),
        commitment: hexStr(o.commitment, at(p, "commitment")),
        by: readString(o.by, at(p, "by"), 64),
        ...epochOf(o, p),
      };
    }
    case "seal": {
      const o = readRecord(v, p, ["type", "state", "since", "reason", "request"]);
      return {
        type,
        state: oneOf(o.state, at(p, "state"), ["sealed", "unsealed", "recovered"] as const),
        since: readInt(o.since, at(p, "since")),
        reason: readString(o.reason, at(p, "reason"), 512),
        request: o.request === null ? null : recipient(o.request, at(p, "request")),
      };
    }
    case "offer": {
      const o = readRecord(v, p, ["type", "request", "x", "t", "ciphertext"], ["epoch"]);
      return { type, request: recipient(o.request, at(p, "request")), x: readInt(o.x, at(p, "x"), 1, 255), t: readInt(o.t, at(p, "t"), 1, 255), ciphertext: b64(o.ciphertext, at(p, "ciphertext"), 8192), ...epochOf(o, p) };
    }
    case "secret": {
      const o = readRecord(v, p, ["type", "kind", "current", "versions", "project", "grants", "labels", "created"]);
      return {
        type,
        kind: oneOf(o.kind, at(p, "kind"), ["secret", "config"] as const),
        current: readInt(o.current, at(p, "current"), 1),
        versions: readArray(
          o.versions,
          at(p, "versions"),
          (x, q) => {
            const r = readRecord(x, q, ["v", "created", "size", "by"], ["id"]);
            const id = r.id === undefined ? undefined : readString(r.id, at(q, "id"), 16);
            if (id !== undefined && !VERSION_ID_RE.test(id)) fail(at(q, "id"), "expected 16 hex digits");
            return { v: readInt(r.v, at(q, "v"), 1), created: readInt(r.created, at(q, "created")), size: readInt(r.size, at(q, "size")), by: readString(r.by, at(q, "by"), 64), ...(id ? { id } : {}) };
          },
          64,
        ),
        project: o.project === null ? null : readString(o.project, at(p, "project"), 63),
        grants: readArray(o.grants, at(p, "grants"), (x, q) => readString(x, q, 127), 256),
        labels: readDict(o.labels, at(p, "labels"), (x, q) => readString(x, q, 1024)),
        created: readInt(o.created, at(p, "created")),
      };
    }
    case "version": {
      const o = readRecord(v, p, ["type", "ciphertext"]);
      return { type, ciphertext: b64(o.ciphertext, at(p, "ciphertext")) };
    }
    case "identity": {
      const o = readRecord(v, p, ["type", "recipient", "ciphertext", "created"]);
      return { type, recipient: readString(o.recipient, at(p, "recipient"), 2100), ciphertext: b64(o.ciphertext, at(p, "ciphertext"), 16384), created: readInt(o.created, at(p, "created")) };
    }
  }
  return fail(at(p, "type"), "unknown secrets record type");
}

/** A record must be of the type its key names (a mismatch is forged or corrupt). */
export function checkSecretsEntry(k: string, rec: SecretsRecord, p: string): void {
  const parsed = parseSecretsKey(k);
  if (!parsed || parsed.type !== rec.type) fail(at(p, k), "record type does not match its key");
}

export function isSecretsRecord(v: Json): v is SecretsRecord & Json {
  return typeof v === "object" && v !== null && !Array.isArray(v) && typeof (v as { type?: unknown }).type === "string";
}

