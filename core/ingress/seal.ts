/**
 * Private keys of the ingress (ACME account keys, certificate keys) as the
 * replicated state holds them: encrypted with XChaCha20-Poly1305 under a key
 * derived (HKDF-SHA256, label "fizz-ingress-private-key/v1") from one of the
 * cluster keyring's keys, so every member opens them and nobody else does.
 * The record's key is the associated data, so a sealed value cannot be moved
 * to another record. A node with no keyring (not in a cluster) seals under a
 * key of its own, with the same function. Rotation: values sealed under a key
 * that is no longer the primary are re-sealed (`needsReseal`) by the node
 * that owns the record. Pure: randomness comes in.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { fromBase64, toBase64 } from "../state/cluster-state.ts";
import type { Sealed } from "../state/ingress.ts";

const LABEL = new TextEncoder().encode("fizz-ingress-private-key/v1");
const NONCE_BYTES = 24;
const enc = new TextEncoder();

/** A key that can seal and open: its id (as stored in `Sealed.kid`) and the derived bytes. */
export interface SealKey {
  readonly id: string;
  readonly key: Uint8Array;
}

/** The sealing key derived from a keyring key (or a node's own 32 random bytes). */
export function deriveSealKey(id: string, keyBytes: Uint8Array): SealKey {
  return { id, key: hkdf(sha256, keyBytes, undefined, LABEL, 32) };
}

export function sealValue(k: SealKey, recordKey: string, plaintext: string, randomBytes: (n: number) => Uint8Array): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  if (nonce.length !== NONCE_BYTES) throw new Error(`random source returned ${nonce.length} bytes, wanted ${NONCE_BYTES}`);
  const ct = xchacha20poly1305(k.key, nonce, enc.encode(recordKey)).encrypt(enc.encode(plaintext));
  const box = new Uint8Array(NONCE_BYTES + ct.length);
  box.set(nonce);
  box.set(ct, NONCE_BYTES);
  return { kid: k.id, box: toBase64(box) };
}

export type OpenResult = { readonly ok: true; readonly plaintext: string } | { readonly ok: false; readonly why: string };

/** Opens a sealed value with whichever of `keys` it names; never throws. */
export function openValue(keys: readonly SealKey[], recordKey: string, s: Sealed): OpenResult {
  const k = keys.find((x) => x.id === s.kid);
  if (!k) return { ok: false, why: `sealed under key ${s.kid}, which this node does not hold` };
  try {
    const box = fromBase64(s.box);
    if (box.length < NONCE_BYTES + 16) return { ok: false, why: "sealed value too short" };
    const pt = xchacha20poly1305(k.key, box.subarray(0, NONCE_BYTES), enc.encode(recordKey)).decrypt(box.subarray(NONCE_BYTES));
    return { ok: true, plaintext: new TextDecoder().decode(pt) };
  } catch {
    return { ok: false, why: `sealed value does not open under key ${s.kid} (corrupt, or moved from another record)` };
  }
}

/** Whether a value should be sealed again under the primary key (rotation). */
export function needsReseal(s: Sealed, primary: SealKey, held: readonly SealKey[]): boolean {
  return s.kid !== primary.id && held.some((k) => k.id === s.kid);
}
