/**
 * Finds where a chunked body (RFC 9112 §7.1) ends without decoding it: the
 * proxy passes the bytes on as they are and only needs to know when the
 * message is over, to reuse the connection. Incremental: `feed` takes any
 * slice of the stream and says how many bytes of it belong to the body.
 * Chunk sizes are bounded (15 hex digits), extensions and trailer lines are
 * skipped but bounded in length; anything malformed is an error.
 */

export type ChunkedStep =
  | { readonly kind: "more"; readonly used: number }
  | { readonly kind: "done"; readonly used: number }
  | { readonly kind: "error"; readonly reason: string };

// Scanner states.
const S = { Size: 0, SizeExt: 1, SizeLf: 2, Data: 3, DataCr: 4, DataLf: 5, TrailerStart: 6, TrailerLine: 7, TrailerLf: 8, FinalLf: 9 } as const;
type State = (typeof S)[keyof typeof S];

const MAX_LINE = 4096;

export class ChunkedScanner {
  private s: State = S.Size;
  private remaining = 0;
  private digits = 0;
  private lineLen = 0;
  private finished = false;

  get done(): boolean {
    return this.finished;
  }

  /** Back to the start of a body (a scanner is reused for the next message). */
  reset(): void {
    this.s = S.Size;
    this.remaining = 0;
    this.digits = 0;
    this.lineLen = 0;
    this.finished = false;
  }

  feed(buf: Uint8Array, from = 0): ChunkedStep {
    let i = from;
    const n = buf.length;
    while (i < n) {
      if (this.s === S.Data) {
        const take = Math.min(this.remaining, n - i);
        i += take;
        this.remaining -= take;
        if (this.remaining === 0) this.s = S.DataCr;
        continue;
      }
      const c = buf[i++]!;
      switch (this.s) {
        case S.Size: {
          const v = hexValue(c);
          if (v >= 0) {
            if (++this.digits > 15) return { kind: "error", reason: "chunk size too large" };
            this.remaining = this.remaining * 16 + v;
          } else if (this.digits === 0) {
            return { kind: "error", reason: "chunk size missing" };
          } else if (c === 0x3b || c === 0x20 || c === 0x09) {
            this.s = S.SizeExt;
            this.lineLen = 0;
          } else if (c === 0x0d) {
            this.s = S.SizeLf;
          } else return { kind: "error", reason: "invalid chunk size" };
          break;
        }
        case S.SizeExt:
          if (c === 0x0d) this.s = S.SizeLf;
          else if (c === 0x0a || ++this.lineLen > MAX_LINE) return { kind: "error", reason: "invalid chunk extension" };
          break;
        case S.SizeLf:
          if (c !== 0x0a) return { kind: "error", reason: "chunk size line not ended by CRLF" };
          this.digits = 0;
          if (this.remaining === 0) this.s = S.TrailerStart;
          else this.s = S.Data;
          break;
        case S.DataCr:
          if (c !== 0x0d) return { kind: "error", reason: "chunk data not followed by CRLF" };
          this.s = S.DataLf;
          break;
        case S.DataLf:
          if (c !== 0x0a) return { kind: "error", reason: "chunk data not followed by CRLF" };
          this.s = S.Size;
          break;
        case S.TrailerStart:
          if (c === 0x0d) this.s = S.FinalLf;
          else if (c === 0x0a) return { kind: "error", reason: "bare LF in trailer" };
          else {
            this.s = S.TrailerLine;
            this.lineLen = 1;
          }
          break;
        case S.TrailerLine:
          if (c === 0x0d) this.s = S.TrailerLf;
          else if (c === 0x0a || ++this.lineLen > MAX_LINE) return { kind: "error", reason: "invalid trailer line" };
          break;
        case S.TrailerLf:
          if (c !== 0x0a) return { kind: "error", reason: "trailer line not ended by CRLF" };
          this.s = S.TrailerStart;
          break;
        case S.FinalLf:
          if (c !== 0x0a) return { kind: "error", reason: "chunked body not ended by CRLF" };
          this.finished = true;
          return { kind: "done", used: i - from };
      }
    }
    return { kind: "more", used: i - from };
  }
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}
