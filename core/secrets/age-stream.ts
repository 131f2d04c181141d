/**
 * The payload half of an age file (age spec, "Payload"): a 16-byte nonce, then
 * the plaintext in 64 KiB chunks, each sealed with ChaCha20-Poly1305 under
 * HKDF-SHA256(file key, salt = nonce, info = "payload") with the nonce
 * `11-byte big-endian chunk counter || last-chunk flag`. Only the last chunk
 * may be short, it must be flagged, and it may be empty only when the whole
 * plaintext is.
 *
 * Hand-written (the header, X25519 and the MAC stay with the age-encryption
 * package) because that package runs the cipher in JavaScript through web
 * streams: 65 MB/s under Bun, a fifth of the `age` CLI. Here the AEAD is
 * injected, so the agent plugs in the native one (platform/secrets/aead.ts).
 * The C2SP age vectors check this file (test/core/secrets/cctv.test.ts).
 */
import { hkdf } from "@noble/hashes/hkdf.js";
import { sha256 } from "@noble/hashes/sha2.js";

export const CHUNK = 64 * 1024;
export const TAG = 16;
export const NONCE = 16;

/** ChaCha20-Poly1305 with a 32-byte key and 12-byte nonce. `out` has room for the result. */
export interface Aead {
  /** Writes `plaintext.length + 16` bytes (ciphertext, tag) into `out`. */
  seal(key: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, out: Uint8Array): void;
  /** Writes `sealed.length - 16` bytes into `out`; false when the tag does not verify. */
  open(key: Uint8Array, nonce: Uint8Array, sealed: Uint8Array, out: Uint8Array): boolean;
  readonly name: string;
}

const PAYLOAD = new TextEncoder().encode("payload");

export function payloadKey(fileKey: Uint8Array, nonce: Uint8Array): Uint8Array {
  return hkdf(sha256, fileKey, nonce, PAYLOAD, 32);
}

function chunkNonce(counter: number, last: boolean): Uint8Array {
  const n = new Uint8Array(12);
  // 11-byte big-endian counter; 2^53 chunks is far beyond any value Fizz holds.
  let c = counter;
  for (let i = 10; i >= 0 && c > 0; i--) {
    n[i] = c % 256;
    c = Math.floor(c / 256);
  }
  n[11] = last ? 1 : 0;
  return n;
}

export function sealedSize(plaintextLength: number): number {
  const chunks = Math.max(1, Math.ceil(plaintextLength / CHUNK));
  return NONCE + plaintextLength + chunks * TAG;
}

/**
 * nonce || sealed chunks, for a fresh 16-byte `nonce` (the caller's
 * randomness), written after `prefix` (the header) in one buffer.
 */
export function encryptPayload(fileKey: Uint8Array, nonce: Uint8Array, plaintext: Uint8Array, aead: Aead, prefix: Uint8Array = new Uint8Array(0)): Uint8Array {
  if (nonce.length !== NONCE) throw new RangeError("the payload nonce is 16 bytes");
  const key = payloadKey(fileKey, nonce);
  const whole = new Uint8Array(prefix.length + sealedSize(plaintext.length));
  whole.set(prefix, 0);
  const out = whole.subarray(prefix.length);
  out.set(nonce, 0);
  const chunks = Math.max(1, Math.ceil(plaintext.length / CHUNK));
  let o = NONCE;
  for (let i = 0; i < chunks; i++) {
    const pt = plaintext.subarray(i * CHUNK, Math.min(plaintext.length, (i + 1) * CHUNK));
    aead.seal(key, chunkNonce(i, i === chunks - 1), pt, out.subarray(o, o + pt.length + TAG));
    o += pt.length + TAG;
  }
  return whole;
}

export type PayloadFailure = "truncated" | "short_chunk" | "bad_tag" | "empty_last_chunk" | "trailing_data";

export type PayloadResult =
  | { readonly ok: true; readonly plaintext: Uint8Array }
  /** `released`: what decrypted and verified before the failure (the vectors check it). */
  | { readonly ok: false; readonly reason: PayloadFailure; readonly chunk: number; readonly released: Uint8Array };

export function describePayloadFailure(r: Extract<PayloadResult, { ok: false }>): string {
  switch (r.reason) {
    case "truncated":
      return `the payload ends after chunk ${r.chunk} without a final chunk (truncated file)`;
    case "short_chunk":
      return `chunk ${r.chunk + 1} is shorter than its 16-byte tag (truncated file)`;
    case "bad_tag":
      return `chunk ${r.chunk + 1} does not authenticate (corrupt, truncated or tampered ciphertext)`;
    case "empty_last_chunk":
      return `the last chunk (${r.chunk + 1}) is empty, which only an empty file may have`;
    case "trailing_data":
      return `data follows the final chunk (${r.chunk + 1})`;
  }
}

/**
 * Decrypts `body` (the chunks after the 16-byte nonce) with the key from
 * `payloadKey`. Chunk by chunk, like the reference implementation: a full
 * chunk is opened as a middle chunk, else as the final one; a short chunk
 * can only be final; a final chunk must be followed by nothing, and anything
 * short of a final chunk is a truncated file.
 */
export function decryptChunks(key: Uint8Array, body: Uint8Array, aead: Aead): PayloadResult {
  const full = CHUNK + TAG;
  const out = new Uint8Array(body.length);
  let o = 0;
  let pos = 0;
  for (let i = 0; ; i++) {
    const fail = (reason: PayloadFailure): PayloadResult => ({ ok: false, reason, chunk: i, released: out.subarray(0, o) });
    const remaining = body.length - pos;
    if (remaining === 0) return fail("truncated");
    if (remaining < full) {
      if (remaining < TAG) return fail("short_chunk");
      if (remaining === TAG && i > 0) return fail("empty_last_chunk");
      if (!aead.open(key, chunkNonce(i, true), body.subarray(pos), out.subarray(o, o + remaining - TAG))) return fail("bad_tag");
      o += remaining - TAG;
      return { ok: true, plaintext: out.subarray(0, o) };
    }
    const sealed = body.subarray(pos, pos + full);
    const dst = out.subarray(o, o + CHUNK);
    if (aead.open(key, chunkNonce(i, false), sealed, dst)) {
      o += CHUNK;
      pos += full;
      continue;
    }
    if (!aead.open(key, chunkNonce(i, true), sealed, dst)) return fail("bad_tag");
    o += CHUNK;
    if (pos + full !== body.length) return { ok: false, reason: "trailing_data", chunk: i, released: out.subarray(0, o) };
    return { ok: true, plaintext: out.subarray(0, o) };
  }
}
