/**
 * Byte ranges: the `Range` header of a blob GET (RFC 9110 §14, one range;
 * several ranges get the whole blob, which RFC 9110 allows), and the
 * `Content-Range` of an upload chunk (the spec's inclusive `start-end`,
 * also accepted in RFC form `bytes start-end/*`).
 */

export type RangeAnswer =
  /** No usable Range header: send the whole blob with 200. */
  | { readonly kind: "full" }
  /** Send bytes [start, end] (inclusive) with 206. */
  | { readonly kind: "partial"; readonly start: number; readonly end: number }
  /** Answer 416 with `Content-Range: bytes *\/size`. */
  | { readonly kind: "unsatisfiable" };

const SPEC_RE = /^bytes=(\d*)-(\d*)$/;

/** What to send for a `Range` header against a blob of `size` bytes. */
export function resolveRange(header: string | undefined, size: number): RangeAnswer {
  if (header === undefined) return { kind: "full" };
  const m = SPEC_RE.exec(header.trim().replace(/\s+/g, ""));
  // Multiple ranges, other units or garbage: RFC 9110 lets a server ignore the header.
  if (!m) return { kind: "full" };
  const [, a, b] = m as unknown as [string, string, string];
  if (a === "" && b === "") return { kind: "full" };
  if (a === "") {
    // Suffix range: the last b bytes.
    const n = Number(b);
    if (!Number.isSafeInteger(n)) return { kind: "full" };
    if (n === 0 || size === 0) return { kind: "unsatisfiable" };
    return { kind: "partial", start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const last = b === "" ? size - 1 : Number(b);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(last)) return { kind: "full" };
  if (b !== "" && last < start) return { kind: "full" }; // invalid range-spec: ignored (RFC 9110 §14.1.1)
  if (start >= size) return { kind: "unsatisfiable" };
  return { kind: "partial", start, end: Math.min(last, size - 1) };
}

export function contentRangeHeader(r: RangeAnswer & { kind: "partial" }, size: number): string {
  return `bytes ${r.start}-${r.end}/${size}`;
}

export type ChunkRange = { readonly start: number; readonly end: number };

/**
 * An upload chunk's `Content-Range` (`start-end`, inclusive), or undefined
 * when it is malformed. `bytes start-end/total` is accepted too.
 */
export function parseChunkRange(header: string): ChunkRange | undefined {
  const m = /^(?:bytes[ =])?(\d{1,16})-(\d{1,16})(?:\/(?:\*|\d{1,16}))?$/.exec(header.trim());
  if (!m) return undefined;
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || end < start) return undefined;
  return { start, end };
}

/** The `Range` header of an upload status: `0-<last byte>`, or `0-0` before any byte (what docker expects). */
export function uploadRangeHeader(received: number): string {
  return `0-${Math.max(0, received - 1)}`;
}
