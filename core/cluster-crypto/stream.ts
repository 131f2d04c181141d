/**
 * TCP stream framing: `[length u32 BE][body]`, where the body is a sealed
 * message (first byte = seal version) or, only as the server's answer to a
 * handshake it cannot open, a fixed plaintext rejection (first byte 0x00).
 *
 * The decoder is fed raw chunks and returns whole frames. It refuses a frame
 * whose announced length exceeds `maxFrameBytes` as soon as the 4-byte
 * header arrives, so a peer can never make us buffer more than one maximum
 * frame plus one chunk.
 *
 * Frames after the handshake are sealed with a context of
 * `session id ‖ direction ‖ sequence number`, so frames cannot be replayed
 * into another connection, reflected back to their sender, or reordered.
 */
export const FRAME_HEADER_BYTES = 4;
/** Default limit on one frame's body: push-pull payloads are chunked above this. */
export const DEFAULT_MAX_FRAME_BYTES = 1 << 20;

export function encodeFrame(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + body.length);
  new DataView(out.buffer).setUint32(0, body.length, false);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

export type DecodeResult =
  | { readonly ok: true; readonly frames: Uint8Array[] }
  | { readonly ok: false; readonly reason: "oversize" | "empty-frame"; readonly length: number; readonly frames: Uint8Array[] };

export class FrameDecoder {
  private readonly header = new Uint8Array(FRAME_HEADER_BYTES);
  private headerFill = 0;
  /** The frame being filled, allocated once at its announced (bounded) length: O(n) however it is chunked. */
  private body: Uint8Array | undefined;
  private bodyFill = 0;
  private failed = false;

  constructor(readonly maxFrameBytes: number = DEFAULT_MAX_FRAME_BYTES) {}

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.headerFill + this.bodyFill;
  }

  /** True while a frame has started but not completed (for per-frame deadlines). */
  get midFrame(): boolean {
    return this.headerFill > 0 || this.body !== undefined;
  }

  push(chunk: Uint8Array): DecodeResult {
    const frames: Uint8Array[] = [];
    if (this.failed) return { ok: false, reason: "oversize", length: 0, frames };
    let at = 0;
    while (at < chunk.length) {
      if (!this.body) {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFill, chunk.length - at);
        this.header.set(chunk.subarray(at, at + take), this.headerFill);
        this.headerFill += take;
        at += take;
        if (this.headerFill < FRAME_HEADER_BYTES) break;
        const h = this.header;
        const len = ((h[0]! << 24) >>> 0) + (h[1]! << 16) + (h[2]! << 8) + h[3]!;
        if (len > this.maxFrameBytes || len === 0) {
          this.failed = true;
          this.headerFill = 0;
          return { ok: false, reason: len === 0 ? "empty-frame" : "oversize", length: len, frames };
        }
        this.body = new Uint8Array(len);
        this.bodyFill = 0;
      }
      const take = Math.min(this.body.length - this.bodyFill, chunk.length - at);
      this.body.set(chunk.subarray(at, at + take), this.bodyFill);
      this.bodyFill += take;
      at += take;
      if (this.bodyFill === this.body.length) {
        frames.push(this.body);
        this.body = undefined;
        this.bodyFill = 0;
        this.headerFill = 0;
      }
    }
    return { ok: true, frames };
  }
}

export type Direction = "client-to-server" | "server-to-client";

/** AAD context for a post-handshake frame. */
export function frameContext(sessionId: Uint8Array, direction: Direction, seq: number): Uint8Array {
  const out = new Uint8Array(sessionId.length + 1 + 8);
  out.set(sessionId, 0);
  out[sessionId.length] = direction === "client-to-server" ? 1 : 2;
  new DataView(out.buffer).setBigUint64(sessionId.length + 1, BigInt(seq), false);
  return out;
}
