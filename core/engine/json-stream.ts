/**
 * Splits a byte stream of concatenated JSON values (engine events, pull and
 * build progress) into parsed values. Docker separates them with newlines but
 * Podman and older engines do not always, so values are found by tracking
 * brace depth outside strings rather than by splitting on "\n".
 */

export class JsonStreamError extends Error {
  override readonly name = "JsonStreamError";
}

export class JsonStreamDecoder {
  private readonly text = new TextDecoder("utf-8");
  private buf = "";
  private scanned = 0; // chars of buf already scanned for the current value
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;

  push(chunk: Uint8Array): unknown[] {
    this.buf += this.text.decode(chunk, { stream: true });
    const out: unknown[] = [];
    let i = this.scanned;
    for (; i < this.buf.length; i++) {
      const ch = this.buf.charCodeAt(i);
      if (this.start < 0) {
        if (ch === 0x7b || ch === 0x5b) {
          this.start = i;
          this.depth = 1;
        } else if (ch !== 0x20 && ch !== 0x0a && ch !== 0x0d && ch !== 0x09) {
          throw new JsonStreamError(`unexpected '${this.buf[i]}' between JSON values`);
        }
        continue;
      }
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (ch === 0x5c) this.escaped = true;
        else if (ch === 0x22) this.inString = false;
        continue;
      }
      if (ch === 0x22) this.inString = true;
      else if (ch === 0x7b || ch === 0x5b) this.depth++;
      else if (ch === 0x7d || ch === 0x5d) {
        this.depth--;
        if (this.depth === 0) {
          const raw = this.buf.slice(this.start, i + 1);
          try {
            out.push(JSON.parse(raw));
          } catch (e) {
            throw new JsonStreamError(`bad JSON value in stream: ${(e as Error).message}`);
          }
          this.start = -1;
        }
      }
    }
    // Drop what has been consumed so the buffer stays the size of one value.
    const keepFrom = this.start < 0 ? this.buf.length : this.start;
    this.buf = this.buf.slice(keepFrom);
    if (this.start >= 0) this.start = 0;
    this.scanned = this.buf.length;
    return out;
  }

  end(): void {
    const rest = this.buf + this.text.decode();
    if (rest.trim() !== "") throw new JsonStreamError(`stream ended inside a JSON value (${rest.length} chars left over)`);
  }
}
