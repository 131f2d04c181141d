/**
 * Everything derived from the cluster master key. The master key (32 random
 * bytes, made once per cluster) never leaves memory; what the cluster stores
 * and sends is derived from it with HKDF-SHA256 and a label per use:
 *
 *   cluster identity   "cluster-identity"     the age identity behind `fizz secret recipient`
 *   path identity      "secret\0<path>"       each stored secret is age-encrypted to its own
 *                                             X25519 recipient, so a ciphertext copied to
 *                                             another path does not decrypt there
 *   key check value    "check"                published, to tell a rebuilt key from garbage
 *   share polynomial   "shamir\0<t>\0<i>"     coefficients of the node-share polynomial (shamir.ts)
 *
 * An age X25519 identity is any 32 bytes (age clamps the scalar), so an HKDF
 * output is used as is and encoded the way age encodes its own identities.
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { bech32 } from "@scure/base";
import { x25519 } from "@noble/curves/ed25519.js";

export const MASTER_KEY_BYTES = 32;
const SALT = new TextEncoder().encode("fizz secrets v1");
const enc = new TextEncoder();

/** The cluster master key, in memory only. A class so it is never confused with other bytes. */
export class MasterKey {
  readonly #bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    if (bytes.length !== MASTER_KEY_BYTES) throw new RangeError(`a master key is ${MASTER_KEY_BYTES} bytes, got ${bytes.length}`);
    this.#bytes = Uint8Array.from(bytes);
  }
  /** The raw bytes (Shamir splits them); callers must not store them. */
  bytes(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
  derive(label: string | Uint8Array, length = 32): Uint8Array {
    return hkdf(sha256, this.#bytes, SALT, typeof label === "string" ? enc.encode(label) : label, length);
  }
  /** Never print key material by accident. */
  toJSON(): string {
    return "[master key]";
  }
  toString(): string {
    return "[master key]";
  }
}

/** An age X25519 identity and its recipient, both in age's text encodings. */
export interface AgeKeyPair {
  /** AGE-SECRET-KEY-1… */
  readonly identity: string;
  /** age1… */
  readonly recipient: string;
}

/** age's own encoding of a 32-byte X25519 scalar: upper-case bech32 with prefix AGE-SECRET-KEY-. */
export function identityFromScalar(scalar: Uint8Array): AgeKeyPair {
  if (scalar.length !== 32) throw new RangeError("an X25519 scalar is 32 bytes");
  const identity = bech32.encodeFromBytes("AGE-SECRET-KEY-", scalar).toUpperCase();
  const recipient = bech32.encodeFromBytes("age", x25519.getPublicKey(scalar));
  return { identity, recipient };
}

/** The recipient (age1…) of an X25519 identity (AGE-SECRET-KEY-1…); undefined if it is not one. */
export function recipientOfIdentity(identity: string): string | undefined {
  const scalar = scalarOfIdentity(identity);
  return scalar ? bech32.encodeFromBytes("age", x25519.getPublicKey(scalar)) : undefined;
}

export function scalarOfIdentity(identity: string): Uint8Array | undefined {
  try {
    const r = bech32.decodeToBytes(identity.trim());
    if (r.prefix.toUpperCase() !== "AGE-SECRET-KEY-" || r.bytes.length !== 32) return undefined;
    return r.bytes;
  } catch {
    return undefined;
  }
}

/** True for a well-formed X25519 recipient (age1… with a 32-byte key). */
export function isX25519Recipient(s: string): boolean {
  try {
    const r = bech32.decode(s as `${string}1${string}`, false);
    return r.prefix === "age" && bech32.fromWords(r.words).length === 32;
  } catch {
    return false;
  }
}

/** The identity whose recipient is `fizz secret recipient`: GitOps files are encrypted to it. */
export function clusterIdentity(master: MasterKey): AgeKeyPair {
  return identityFromScalar(master.derive("cluster-identity"));
}

/** The identity a stored secret's versions are encrypted to: bound to the secret's path. */
export function pathIdentity(master: MasterKey, path: string): AgeKeyPair {
  if (path.includes("\0")) throw new RangeError("a secret path has no NUL bytes");
  return identityFromScalar(master.derive(`secret\0${path}`));
}

/** Published next to the key material: a candidate master key is right iff its check value matches. */
export function keyCheckValue(master: MasterKey): string {
  return hex(master.derive("check", 16));
}

export function hex(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += x.toString(16).padStart(2, "0");
  return s;
}

export function fromHex(s: string): Uint8Array | undefined {
  if (!/^(?:[0-9a-f]{2})*$/.test(s)) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Constant-time equality for secrets (check values, MACs). */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let acc = 0;
  for (let i = 0; i < a.length; i++) acc |= a[i]! ^ b[i]!;
  return acc === 0;
}

export function sha256Hex(...parts: (Uint8Array | string)[]): string {
  const h = sha256.create();
  for (const p of parts) h.update(typeof p === "string" ? enc.encode(p) : p);
  return hex(h.digest());
}
