/**
 * Versioned, authenticated encryption of one cluster message (a UDP packet, a
 * TCP frame or a handshake message) under the cluster keyring.
 *
 * Wire format (version 1):
 *
 *     [version u8 = 1][key id 4][nonce 24][ciphertext ‖ Poly1305 tag 16]
 *
 * Cipher: XChaCha20-Poly1305 (@noble/ciphers). Every node of the cluster seals
 * under the same key with random nonces and no coordination. With 96-bit random
 * nonces (plain ChaCha20-Poly1305) the collision bound is ~2^32 messages per
 * key for a 2^-32 risk; a 1,000-node cluster at 100 packets/s/node reaches
 * 2^32 in about 12 hours, and one nonce reuse leaks the Poly1305 key. The
 * 192-bit XChaCha nonce makes random nonces safe for any realistic key
 * lifetime, for 12 extra bytes per packet (overhead 45 bytes: a 1,400-byte
 * SWIM packet becomes 1,445 bytes, still under the 1,472-byte IPv4/UDP payload
 * of a 1,500-byte MTU).
 *
 * AAD = version ‖ key id ‖ purpose label ‖ 0x00 ‖ context. The purpose label
 * stops a UDP packet from being replayed as a TCP frame or handshake (and vice
 * versa); `context` lets a stream bind frames to a session, direction and
 * sequence number. Replay of a UDP packet as the same kind is not prevented
 * here: SWIM messages carry sequence numbers and incarnations that make
 * replays stale.
 *
 * `open` never throws: every failure is a typed reason the transport counts.
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";
import { findByIdBytes, KEY_ID_BYTES, primaryEntry, type KeyEntry, type KeyId, type Keyring } from "./keyring.ts";

export const SEAL_VERSION = 1;
export const NONCE_BYTES = 24;
export const TAG_BYTES = 16;
export const HEADER_BYTES = 1 + KEY_ID_BYTES + NONCE_BYTES;
/** Bytes a sealed message adds to its plaintext. */
export const SEAL_OVERHEAD = HEADER_BYTES + TAG_BYTES;

export type Purpose = "udp" | "tcp-frame" | "handshake";

/**
 * Source of random bytes for nonces. In production this MUST be a CSPRNG
 * (node:crypto randomBytes, the transports' default), never core/random's
 * seeded Rng: a predictable or repeated nonce breaks the cipher.
 */
export type RandomBytes = (n: number) => Uint8Array;

export type OpenFailure = "malformed" | "unknown-key" | "auth-failed" | "bad-version";

export type OpenResult =
  | { readonly ok: true; readonly plaintext: Uint8Array; readonly keyId: KeyId }
  | { readonly ok: false; readonly reason: OpenFailure };

const enc = new TextEncoder();
const LABELS: Record<Purpose, Uint8Array> = {
  udp: enc.encode("fizz/udp"),
  "tcp-frame": enc.encode("fizz/tcp-frame"),
  handshake: enc.encode("fizz/handshake"),
};
const EMPTY = new Uint8Array(0);

function aad(version: number, keyId: Uint8Array, purpose: Purpose, context: Uint8Array): Uint8Array {
  const label = LABELS[purpose];
  const out = new Uint8Array(1 + KEY_ID_BYTES + label.length + 1 + context.length);
  out[0] = version;
  out.set(keyId, 1);
  out.set(label, 1 + KEY_ID_BYTES);
  // out[1 + KEY_ID_BYTES + label.length] = 0: separator; labels never contain 0x00.
  out.set(context, 2 + KEY_ID_BYTES + label.length);
  return out;
}

/** Seals under the keyring's primary key. */
export function seal(ring: Keyring, purpose: Purpose, plaintext: Uint8Array, randomBytes: RandomBytes, context: Uint8Array = EMPTY): Uint8Array {
  return sealWith(primaryEntry(ring), purpose, plaintext, randomBytes, context);
}

/** Seals under a given key (e.g. answering a peer under the key it used). */
export function sealWith(
  key: KeyEntry,
  purpose: Purpose,
  plaintext: Uint8Array,
  randomBytes: RandomBytes,
  context: Uint8Array = EMPTY,
): Uint8Array {
  const nonce = randomBytes(NONCE_BYTES);
  if (nonce.length !== NONCE_BYTES) throw new Error(`random source returned ${nonce.length} bytes, wanted ${NONCE_BYTES}`);
  const ct = xchacha20poly1305(key.key, nonce, aad(SEAL_VERSION, key.idBytes, purpose, context)).encrypt(plaintext);
  const out = new Uint8Array(HEADER_BYTES + ct.length);
  out[0] = SEAL_VERSION;
  out.set(key.idBytes, 1);
  out.set(nonce, 1 + KEY_ID_BYTES);
  out.set(ct, HEADER_BYTES);
  return out;
}

/** Opens a sealed message with whichever installed key its id names. Never throws. */
export function open(ring: Keyring, purpose: Purpose, packet: Uint8Array, context: Uint8Array = EMPTY): OpenResult {
  try {
    if (!(packet instanceof Uint8Array) || packet.length === 0) return { ok: false, reason: "malformed" };
    if (packet[0] !== SEAL_VERSION) return { ok: false, reason: "bad-version" };
    if (packet.length < SEAL_OVERHEAD) return { ok: false, reason: "malformed" };
    const idBytes = packet.subarray(1, 1 + KEY_ID_BYTES);
    const key = findByIdBytes(ring, idBytes);
    if (!key) return { ok: false, reason: "unknown-key" };
    const nonce = packet.subarray(1 + KEY_ID_BYTES, HEADER_BYTES);
    const body = packet.subarray(HEADER_BYTES);
    let plaintext: Uint8Array;
    try {
      plaintext = xchacha20poly1305(key.key, nonce, aad(SEAL_VERSION, key.idBytes, purpose, context)).decrypt(body);
    } catch {
      return { ok: false, reason: "auth-failed" };
    }
    return { ok: true, plaintext, keyId: key.id };
  } catch {
    return { ok: false, reason: "malformed" };
  }
}

/** The key id a sealed message claims, without opening it (for logs and the handshake answer). */
export function peekKeyIdBytes(packet: Uint8Array): Uint8Array | undefined {
  if (packet.length < SEAL_OVERHEAD || packet[0] !== SEAL_VERSION) return undefined;
  return packet.subarray(1, 1 + KEY_ID_BYTES);
}
