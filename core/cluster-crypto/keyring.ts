/**
 * The cluster keyring: every key this node accepts, and the one (primary) it
 * seals with. Rotation without a restart is three steps run on every node:
 * `install(k2)` everywhere → `use(k2)` everywhere → `remove(k1)` everywhere.
 * Between the steps nodes with different primaries still talk, because each
 * node opens anything sealed under any installed key.
 *
 * A Keyring is an immutable value; operations return a new keyring or a typed
 * error, never mutate and never throw. The transport holds the current value and
 * swaps it atomically.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { base64urlnopad } from "@scure/base";
import { FizzError } from "../errors.ts";

export const KEY_BYTES = 32;
export const KEY_ID_BYTES = 4;
/** Bounds the keyring so a misbehaving operator script cannot grow it forever. */
export const MAX_KEYS = 16;

/** 8 lower-case hex chars: the first 4 bytes of sha256("fizz-key-id/v1" ‖ key). */
export type KeyId = string;

export interface KeyEntry {
  readonly id: KeyId;
  /** The same id as 4 bytes, as it appears on the wire. */
  readonly idBytes: Uint8Array;
  readonly key: Uint8Array;
}

export interface Keyring {
  readonly primary: KeyId;
  /** All installed keys, primary included, in installation order. */
  readonly keys: readonly KeyEntry[];
}

export type KeyringError =
  | { readonly code: "bad-key-length"; readonly message: string }
  | { readonly code: "unknown-key"; readonly message: string; readonly keyId: string }
  | { readonly code: "remove-primary"; readonly message: string; readonly keyId: KeyId }
  | { readonly code: "key-id-collision"; readonly message: string; readonly keyId: KeyId }
  | { readonly code: "keyring-full"; readonly message: string };

export type KeyringResult = { readonly ok: true; readonly keyring: Keyring } | { readonly ok: false; readonly error: KeyringError };

const ID_LABEL = new TextEncoder().encode("fizz-key-id/v1");

/**
 * Domain-separated so the id is never "sha256 of the key" that some other
 * system might also publish; 4 bytes of a hash of a 256-bit random key tell an
 * observer nothing useful about the key.
 */
export function keyIdBytes(key: Uint8Array): Uint8Array {
  const buf = new Uint8Array(ID_LABEL.length + key.length);
  buf.set(ID_LABEL, 0);
  buf.set(key, ID_LABEL.length);
  return sha256(buf).slice(0, KEY_ID_BYTES);
}

export function keyIdHex(idBytes: Uint8Array): KeyId {
  let s = "";
  for (const b of idBytes) s += b.toString(16).padStart(2, "0");
  return s;
}

export function keyIdOf(key: Uint8Array): KeyId {
  return keyIdHex(keyIdBytes(key));
}

/** A fresh 32-byte key from the injected random source (core does no I/O). */
export function generateKey(randomBytes: (n: number) => Uint8Array): Uint8Array {
  const k = randomBytes(KEY_BYTES);
  if (k.length !== KEY_BYTES) throw new Error(`random source returned ${k.length} bytes, wanted ${KEY_BYTES}`);
  return Uint8Array.from(k);
}

function entry(key: Uint8Array): KeyEntry | KeyringError {
  if (!(key instanceof Uint8Array) || key.length !== KEY_BYTES) {
    const got = key instanceof Uint8Array ? `${key.length} bytes` : typeof key;
    return { code: "bad-key-length", message: `a cluster key is ${KEY_BYTES} bytes, got ${got}` };
  }
  const idBytes = keyIdBytes(key);
  return { id: keyIdHex(idBytes), idBytes, key: Uint8Array.from(key) };
}

function isError(x: KeyEntry | KeyringError): x is KeyringError {
  return "code" in x;
}

/** A keyring holding one key, which is primary. */
export function createKeyring(key: Uint8Array): KeyringResult {
  const e = entry(key);
  if (isError(e)) return { ok: false, error: e };
  return { ok: true, keyring: { primary: e.id, keys: [e] } };
}

/** Adds a key (not primary). Installing a key that is already there is a no-op. */
export function install(ring: Keyring, key: Uint8Array): KeyringResult {
  const e = entry(key);
  if (isError(e)) return { ok: false, error: e };
  const existing = ring.keys.find((k) => k.id === e.id);
  if (existing) {
    if (bytesEqual(existing.key, e.key)) return { ok: true, keyring: ring };
    return {
      ok: false,
      error: { code: "key-id-collision", keyId: e.id, message: `a different key with id ${e.id} is already installed; generate a new key` },
    };
  }
  if (ring.keys.length >= MAX_KEYS) {
    return { ok: false, error: { code: "keyring-full", message: `the keyring already holds ${MAX_KEYS} keys; remove old ones first` } };
  }
  return { ok: true, keyring: { primary: ring.primary, keys: [...ring.keys, e] } };
}

/** Makes an installed key the one this node seals with. */
export function use(ring: Keyring, keyId: string): KeyringResult {
  const id = keyId.toLowerCase();
  if (!ring.keys.some((k) => k.id === id)) return { ok: false, error: unknownKey(ring, keyId) };
  return { ok: true, keyring: { primary: id, keys: ring.keys } };
}

/** Forgets a key; packets sealed under it are rejected from now on. */
export function remove(ring: Keyring, keyId: string): KeyringResult {
  const id = keyId.toLowerCase();
  if (!ring.keys.some((k) => k.id === id)) return { ok: false, error: unknownKey(ring, keyId) };
  if (id === ring.primary) {
    return {
      ok: false,
      error: { code: "remove-primary", keyId: id, message: `key ${id} is the primary key; \`use\` another key first, then remove this one` },
    };
  }
  return { ok: true, keyring: { primary: ring.primary, keys: ring.keys.filter((k) => k.id !== id) } };
}

export function primaryEntry(ring: Keyring): KeyEntry {
  const e = ring.keys.find((k) => k.id === ring.primary);
  // Unreachable for keyrings built by this module; a hand-built bad value is a bug.
  if (!e) throw new Error(`keyring invariant broken: primary ${ring.primary} is not installed`);
  return e;
}

/** Fast path for open: the entry whose 4-byte id matches, or undefined. */
export function findByIdBytes(ring: Keyring, id: Uint8Array): KeyEntry | undefined {
  for (const k of ring.keys) {
    const b = k.idBytes;
    if (b[0] === id[0] && b[1] === id[1] && b[2] === id[2] && b[3] === id[3]) return k;
  }
  return undefined;
}

export function findById(ring: Keyring, keyId: string): KeyEntry | undefined {
  const id = keyId.toLowerCase();
  return ring.keys.find((k) => k.id === id);
}

/** For callers at the edge (CLI, API) that report failures as FizzError. */
export function keyringErrorToFizz(e: KeyringError): FizzError {
  const code = `keyring.${e.code.replaceAll("-", "_")}`;
  switch (e.code) {
    case "remove-primary":
      return new FizzError({ code, message: e.message, hint: `run \`use\` with the new key on every node before removing ${e.keyId}` });
    case "unknown-key":
      return new FizzError({ code, message: e.message, hint: "list installed keys to see their ids" });
    default:
      return new FizzError({ code, message: e.message });
  }
}

function unknownKey(ring: Keyring, keyId: string): KeyringError {
  const ids = ring.keys.map((k) => k.id).join(", ");
  return { code: "unknown-key", keyId, message: `no key with id ${JSON.stringify(keyId)} is installed (installed: ${ids})` };
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= (a[i] ?? 0) ^ (b[i] ?? 0);
  return d === 0;
}

/** Stored form (agent state file): keys as base64url, primary by id. Secret: write it 0600. */
export interface KeyringJSON {
  readonly primary: KeyId;
  readonly keys: readonly string[];
}

export function keyringToJSON(ring: Keyring): KeyringJSON {
  return { primary: ring.primary, keys: ring.keys.map((k) => base64urlnopad.encode(k.key)) };
}

export type KeyringParseResult = { readonly ok: true; readonly keyring: Keyring } | { readonly ok: false; readonly error: { readonly code: "bad-keyring"; readonly message: string } };

/** Never throws: a damaged state file gets a message naming what is wrong. */
export function keyringFromJSON(v: unknown): KeyringParseResult {
  const bad = (message: string): KeyringParseResult => ({ ok: false, error: { code: "bad-keyring", message: `stored keyring is invalid: ${message}` } });
  if (typeof v !== "object" || v === null) return bad("expected an object {primary, keys}");
  const o = v as { primary?: unknown; keys?: unknown };
  if (typeof o.primary !== "string") return bad("`primary` must be a key id string");
  if (!Array.isArray(o.keys) || o.keys.length === 0) return bad("`keys` must be a non-empty array");
  if (o.keys.length > MAX_KEYS) return bad(`more than ${MAX_KEYS} keys`);
  let ring: Keyring | undefined;
  for (let i = 0; i < o.keys.length; i++) {
    const s: unknown = o.keys[i];
    let key: Uint8Array;
    try {
      if (typeof s !== "string") throw new Error();
      key = base64urlnopad.decode(s);
    } catch {
      return bad(`keys[${i}] is not base64url`);
    }
    const r = ring ? install(ring, key) : createKeyring(key);
    if (!r.ok) return bad(`keys[${i}]: ${r.error.message}`);
    ring = r.keyring;
  }
  const u = use(ring!, o.primary);
  if (!u.ok) return bad(`primary ${JSON.stringify(o.primary)} is not one of the stored keys`);
  return { ok: true, keyring: u.keyring };
}
