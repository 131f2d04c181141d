/**
 * The rules of a blob upload session (spec "Pushing a blob in chunks"): a
 * session has an id this registry made and the number of bytes received so
 * far; each chunk must start where the last ended (else 416 with the
 * current range, so the client can resume); a declared length must match
 * what arrives; closing needs the whole blob's digest, and the bytes must
 * hash to it (else DIGEST_INVALID and nothing is stored). The platform keeps
 * the bytes and the running hash; this decides what each request means.
 */
import { regErr, RegistryError } from "./errors.ts";
import { parseChunkRange } from "./range.ts";

/** Session ids: 32 lower-case hex characters (128 random bits), never a path. */
const SESSION_RE = /^[a-f0-9]{32}$/;

export function isSessionId(s: string): boolean {
  return SESSION_RE.test(s);
}

export function sessionIdFrom(random: Uint8Array): string {
  if (random.byteLength < 16) throw new Error("a session id needs 16 random bytes");
  return Array.from(random.subarray(0, 16), (b) => b.toString(16).padStart(2, "0")).join("");
}

export interface ChunkHeaders {
  /** `Content-Range` of the request, if any. */
  readonly contentRange?: string;
  /** `Content-Length`, when the client sent one (absent with chunked transfer encoding). */
  readonly contentLength?: number;
}

export type ChunkPlan = {
  /** Bytes the body must carry exactly, when the client said (Content-Length or Content-Range). */
  readonly expect?: number;
};

/**
 * Decides whether a PATCH (or the body of the closing PUT) may be appended at
 * `offset`. Throws a 416 RegistryError when it starts elsewhere, and
 * BLOB_UPLOAD_INVALID when its headers contradict each other.
 */
export function planChunk(offset: number, h: ChunkHeaders): ChunkPlan {
  if (h.contentLength !== undefined && (!Number.isSafeInteger(h.contentLength) || h.contentLength < 0)) {
    throw regErr("BLOB_UPLOAD_INVALID", `Content-Length '${h.contentLength}' is not a byte count`);
  }
  if (h.contentRange === undefined || h.contentRange === "") {
    return h.contentLength !== undefined ? { expect: h.contentLength } : {};
  }
  const r = parseChunkRange(h.contentRange);
  if (!r) throw regErr("BLOB_UPLOAD_INVALID", `Content-Range '${h.contentRange.slice(0, 60)}' is not 'start-end' (inclusive byte offsets)`, undefined, 416);
  if (r.start !== offset) {
    throw new RegistryError("BLOB_UPLOAD_INVALID", `chunk starts at byte ${r.start} but the upload has ${offset} bytes; send the chunk starting at ${offset} (GET the upload URL for its range)`, {
      status: 416,
      detail: { received: offset, start: r.start },
    });
  }
  const n = r.end - r.start + 1;
  if (h.contentLength !== undefined && h.contentLength !== n) {
    throw regErr("BLOB_UPLOAD_INVALID", `Content-Range ${r.start}-${r.end} is ${n} bytes but Content-Length is ${h.contentLength}`, undefined, 416);
  }
  return { expect: n };
}

/** After a chunk's body ended: it must have been exactly as long as announced. */
export function checkChunkLength(plan: ChunkPlan, received: number): void {
  if (plan.expect !== undefined && received !== plan.expect) {
    throw regErr("SIZE_INVALID", `the chunk was announced as ${plan.expect} bytes but ${received} arrived`, { expected: plan.expect, received });
  }
}

/** Closing: the whole blob's bytes must hash to the digest the client named. */
export function checkClose(expected: string, actual: string, size: number, what = "the uploaded content"): void {
  if (expected !== actual) {
    throw regErr("DIGEST_INVALID", `${what} (${size} bytes) has digest ${actual}, not ${expected}; nothing was stored`, { expected, actual, size });
  }
}
