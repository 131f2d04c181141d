/**
 * Docker's multiplexed attach/logs stream (non-TTY containers): each frame is
 * an 8-byte header [stream, 0, 0, 0, size as big-endian uint32] followed by
 * `size` bytes of payload. Chunks from the socket split frames anywhere, so
 * the decoder is incremental: push chunks, take whole frames.
 */

export type StreamName = "stdin" | "stdout" | "stderr" | "system";

export interface Frame {
  readonly stream: StreamName;
  readonly data: Uint8Array;
}

const STREAMS: readonly StreamName[] = ["stdin", "stdout", "stderr", "system"];
export const FRAME_HEADER_BYTES = 8;

export class FrameFormatError extends Error {
  override readonly name = "FrameFormatError";
}

export function encodeFrame(frame: Frame): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + frame.data.length);
  out[0] = STREAMS.indexOf(frame.stream);
  new DataView(out.buffer).setUint32(4, frame.data.length, false);
  out.set(frame.data, FRAME_HEADER_BYTES);
  return out;
}

export class FrameDecoder {
  // Unconsumed bytes; kept as a list so a large frame arriving in many
  // chunks costs one copy, not one per chunk.
  private chunks: Uint8Array[] = [];
  private buffered = 0;

  /** Bytes held that do not yet make a whole frame. */
  get pending(): number {
    return this.buffered;
  }

  push(chunk: Uint8Array): Frame[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Frame[] = [];
    for (;;) {
      if (this.buffered < FRAME_HEADER_BYTES) return frames;
      const header = this.peek(FRAME_HEADER_BYTES);
      const kind = header[0]!;
      const stream = STREAMS[kind];
      if (stream === undefined || header[1] !== 0 || header[2] !== 0 || header[3] !== 0) {
        throw new FrameFormatError(
          `not a multiplexed stream: header bytes ${[...header].map((b) => b.toString(16).padStart(2, "0")).join(" ")}`,
        );
      }
      const size = new DataView(header.buffer, header.byteOffset, FRAME_HEADER_BYTES).getUint32(4, false);
      if (this.buffered < FRAME_HEADER_BYTES + size) return frames;
      this.take(FRAME_HEADER_BYTES);
      frames.push({ stream, data: this.take(size) });
    }
  }

  /** Call at end of stream; a partial frame left over means the stream was cut. */
  end(): void {
    if (this.buffered > 0) throw new FrameFormatError(`stream ended inside a frame (${this.buffered} bytes left over)`);
  }

  private peek(n: number): Uint8Array {
    const first = this.chunks[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.gather(n, false);
  }

  private take(n: number): Uint8Array {
    if (n === 0) return new Uint8Array(0);
    const first = this.chunks[0]!;
    if (first.length >= n) {
      const out = first.slice(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      this.buffered -= n;
      return out;
    }
    return this.gather(n, true);
  }

  private gather(n: number, consume: boolean): Uint8Array {
    const out = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    while (filled < n) {
      const c = this.chunks[i]!;
      const want = Math.min(n - filled, c.length);
      out.set(c.subarray(0, want), filled);
      filled += want;
      if (consume) {
        if (want === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(want);
      } else i++;
    }
    if (consume) this.buffered -= n;
    return out;
  }
}

/** Decodes a whole buffer at once (tests, small logs). */
export function decodeFrames(bytes: Uint8Array): Frame[] {
  const d = new FrameDecoder();
  const frames = d.push(bytes);
  d.end();
  return frames;
}
