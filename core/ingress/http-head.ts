/**
 * HTTP/1.x message heads, parsed for a proxy: only what routing and framing
 * need (method, target, Host, Content-Length, Transfer-Encoding, Connection,
 * Upgrade, Expect) plus the header lines to pass on. Strict where a lenient
 * parser opens request smuggling (RFC 9112 §6.3, §11.2): Content-Length with
 * Transfer-Encoding, differing Content-Lengths, a Transfer-Encoding other
 * than "chunked", obs-fold, whitespace before a colon, bare CR or LF, control
 * bytes in values. An error carries the status to answer with.
 *
 * The byte scanners the proxy runs per request are in http-scan.ts.
 *
 * Hand-written instead of node:http: a proxy on node:http in Bun served 0.3x
 * haproxy's requests/s at one connection on this machine (ENGINEERING.md).
 */

export interface HeadError {
  readonly status: 400 | 413 | 431 | 501 | 502 | 505;
  readonly reason: string;
}

/** How the body that follows a head is delimited. */
export type BodyFraming =
  | { readonly kind: "none" }
  | { readonly kind: "length"; readonly length: number }
  | { readonly kind: "chunked" }
  /** Response only: the body runs until the server closes. */
  | { readonly kind: "close" };

export interface Header {
  /** Lower-case name. */
  readonly name: string;
  /** The line as received, without CRLF (passed on untouched). */
  readonly line: string;
  /** Value with surrounding whitespace trimmed. */
  readonly value: string;
}

export interface RequestHead {
  readonly method: string;
  readonly target: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  readonly minor: 0 | 1;
  readonly headers: readonly Header[];
  /** Host header (lower case, port kept), or "" when absent (HTTP/1.0). */
  readonly host: string;
  readonly body: BodyFraming;
  /** Whether the client wants the connection kept after this exchange. */
  readonly keepAlive: boolean;
  /** Upgrade requested (Connection: upgrade + Upgrade: x), e.g. "websocket". */
  readonly upgrade: string | undefined;
  readonly expectContinue: boolean;
}

export interface ResponseHead {
  readonly status: number;
  readonly minor: 0 | 1;
  readonly headers: readonly Header[];
  readonly keepAlive: boolean;
}

export const MAX_HEAD_BYTES = 64 * 1024;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, space and tab; no CTLs (NUL, CR, LF…).
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
const REQUEST_LINE = /^([!#$%&'*+\-.^_`|~0-9A-Za-z]+) (\S+) HTTP\/1\.([01])$/;
const STATUS_LINE = /^HTTP\/1\.([01]) (\d{3})(?: [^\r\n]*)?$/;

/** Index just past the blank line that ends a head (CRLFCRLF), or -1 when not there yet. */
export function headEnd(buf: Uint8Array, from = 0): number {
  for (let i = Math.max(0, from - 3); i + 3 < buf.length; i++) {
    if (buf[i + 3] === 0x0a && buf[i + 2] === 0x0d && buf[i + 1] === 0x0a && buf[i] === 0x0d) return i + 4;
  }
  return -1;
}

/**
 * Where a response head ends: like headEnd, but a bare LF also ends a line
 * (RFC 9112 §2.2 lets a recipient accept it, and CGI programs behind servers
 * such as busybox httpd write their header lines that way). Requests stay
 * strict (CRLF only): leniency there is what request smuggling feeds on.
 */
export function responseHeadEnd(buf: Uint8Array, from = 0): number {
  for (let i = Math.max(0, from - 2); i + 1 < buf.length; i++) {
    if (buf[i] !== 0x0a) continue;
    if (buf[i + 1] === 0x0a) return i + 2;
    if (buf[i + 1] === 0x0d && i + 2 < buf.length && buf[i + 2] === 0x0a) return i + 3;
  }
  return -1;
}

interface Lines {
  readonly start: string;
  readonly headers: Header[];
}

function splitLines(text: string): Lines | HeadError {
  // text excludes the final CRLFCRLF.
  const raw = text.split("\r\n");
  const headers: Header[] = [];
  for (let i = 1; i < raw.length; i++) {
    const line = raw[i]!;
    if (line.includes("\n") || line.includes("\r")) return { status: 400, reason: "bare CR or LF in a header line" };
    if (line.charCodeAt(0) === 0x20 || line.charCodeAt(0) === 0x09) return { status: 400, reason: "obsolete line folding" };
    const colon = line.indexOf(":");
    if (colon <= 0) return { status: 400, reason: "header line without a name" };
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return { status: 400, reason: `invalid header name ${JSON.stringify(name.slice(0, 40))}` };
    const value = line.slice(colon + 1).trim();
    if (BAD_VALUE.test(value)) return { status: 400, reason: `control character in header ${name}` };
    headers.push({ name: name.toLowerCase(), line, value });
  }
  const start = raw[0]!;
  if (start.includes("\n") || start.includes("\r")) return { status: 400, reason: "bare CR or LF in the start line" };
  return { start, headers };
}

/**
 * A request's Transfer-Encoding rule: only `chunked` is understood (501
 * otherwise), and never together with Content-Length (400, a smuggling
 * vector). True when the body is chunked.
 */
export function requestChunked(te: string | undefined, contentLength: number | undefined): boolean | HeadError {
  if (te === undefined) return false;
  const codings = tokens(te);
  if (codings.length !== 1 || codings[0] !== "chunked") return { status: 501, reason: `unsupported Transfer-Encoding ${JSON.stringify(te.slice(0, 40))}` };
  if (contentLength !== undefined) return { status: 400, reason: "both Content-Length and Transfer-Encoding" };
  return true;
}

/** Comma-separated tokens, lower case, empty ones dropped. */
export function tokens(v: string): string[] {
  return v.toLowerCase().split(",").map((s) => s.trim()).filter((s) => s.length > 0);
}

interface Framing {
  readonly contentLength: number | undefined;
  readonly chunked: boolean;
  readonly connection: string[];
  readonly upgrade: string | undefined;
}

function framing(headers: readonly Header[]): Framing | HeadError {
  let contentLength: number | undefined;
  let te: string | undefined;
  const connection: string[] = [];
  let upgrade: string | undefined;
  for (const h of headers) {
    switch (h.name) {
      case "content-length": {
        // "5, 5" is allowed by RFC 9110 when all values agree.
        for (const part of h.value.split(",")) {
          const p = part.trim();
          if (!/^\d{1,15}$/.test(p)) return { status: 400, reason: "invalid Content-Length" };
          const n = Number(p);
          if (contentLength !== undefined && contentLength !== n) return { status: 400, reason: "conflicting Content-Length values" };
          contentLength = n;
        }
        break;
      }
      case "transfer-encoding":
        te = te === undefined ? h.value : `${te}, ${h.value}`;
        break;
      case "connection":
        connection.push(...tokens(h.value));
        break;
      case "upgrade":
        upgrade = h.value;
        break;
    }
  }
  const chunked = requestChunked(te, contentLength);
  if (typeof chunked !== "boolean") return chunked;
  return { contentLength, chunked, connection, upgrade };
}

function isError<T extends object>(x: T | HeadError): x is HeadError {
  return "status" in x && "reason" in x && !("headers" in x);
}

/** Parses a request head: `text` is the head as latin1, without the final CRLFCRLF. */
export function parseRequestHead(text: string): RequestHead | HeadError {
  if (text.length > MAX_HEAD_BYTES) return { status: 431, reason: "request head too large" };
  const lines = splitLines(text);
  if (isError(lines)) return lines;
  const m = REQUEST_LINE.exec(lines.start);
  if (!m) {
    if (/^\S+ \S+ HTTP\/\d/.test(lines.start)) return { status: 505, reason: "HTTP version not supported" };
    return { status: 400, reason: "malformed request line" };
  }
  const minor = m[3] === "1" ? 1 : 0;
  const f = framing(lines.headers);
  if (isError(f)) return f;
  let host = "";
  let hosts = 0;
  let expectContinue = false;
  for (const h of lines.headers) {
    if (h.name === "host") {
      hosts++;
      host = h.value.toLowerCase();
    } else if (h.name === "expect" && h.value.toLowerCase() === "100-continue") expectContinue = true;
  }
  if (hosts > 1) return { status: 400, reason: "more than one Host header" };
  if (minor === 1 && hosts === 0) return { status: 400, reason: "HTTP/1.1 request without Host" };
  if (!/^[a-z0-9.\-_:[\]]*$/.test(host)) return { status: 400, reason: "invalid Host" };
  const body: BodyFraming = f.chunked ? { kind: "chunked" } : f.contentLength ? { kind: "length", length: f.contentLength } : { kind: "none" };
  const keepAlive = minor === 1 ? !f.connection.includes("close") : f.connection.includes("keep-alive");
  const upgrade = f.upgrade !== undefined && f.connection.includes("upgrade") ? f.upgrade.toLowerCase() : undefined;
  return { method: m[1]!, target: m[2]!, minor, headers: lines.headers, host, body, keepAlive, upgrade, expectContinue };
}

export interface ParsedResponse {
  readonly head: ResponseHead;
  readonly body: BodyFraming;
}

/** Parses a response head; `method` is the request's (HEAD responses have no body). */
export function parseResponseHead(text: string, method: string): ParsedResponse | HeadError {
  if (text.length > MAX_HEAD_BYTES) return { status: 502, reason: "response head too large" };
  // Bare LF ends a line in a response (see responseHeadEnd); a stray CR is still refused.
  const lines = splitLines(text.replace(/\r?\n/g, "\r\n"));
  if (isError(lines)) return { status: 502, reason: `bad response: ${lines.reason}` };
  const m = STATUS_LINE.exec(lines.start);
  if (!m) return { status: 502, reason: "malformed status line" };
  const minor = m[1] === "1" ? 1 : 0;
  const status = Number(m[2]);
  const f = framing(lines.headers);
  if (isError(f)) return { status: 502, reason: `bad response: ${f.reason}` };
  let keepAlive = minor === 1 ? !f.connection.includes("close") : f.connection.includes("keep-alive");
  let body: BodyFraming;
  if (method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)) body = { kind: "none" };
  else if (f.chunked) body = { kind: "chunked" };
  else if (f.contentLength !== undefined) body = f.contentLength === 0 ? { kind: "none" } : { kind: "length", length: f.contentLength };
  else {
    body = { kind: "close" };
    keepAlive = false;
  }
  return { head: { status, minor, headers: lines.headers, keepAlive }, body };
}

export function isHeadError(x: object): x is HeadError {
  return "reason" in x && "status" in x && !("headers" in x) && !("head" in x);
}

/** Hop-by-hop headers (RFC 9110 §7.6.1) a proxy must not pass on, plus those named in Connection. */
export const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade", "proxy-authenticate", "proxy-authorization"]);

const HTTP_LINE = /^[A-Z]{1,16} \S+ HTTP\/1\.[01]\r?\n/;
const HTTP_LINE_PREFIX = /^(?:[A-Z]{0,16}|[A-Z]{1,16} \S*|[A-Z]{1,16} \S+ (?:H(?:T(?:T(?:P(?:\/(?:1(?:\.(?:[01]\r?)?)?)?)?)?)?)?)?)$/;

/**
 * Whether a connection's first bytes are an HTTP/1.x request line: "yes",
 * "no", or "maybe" (a prefix of one; wait for more, bounded by the caller).
 * A published port without `app_protocol` is sniffed this way, so an HTTP
 * backend gets the forwarding headers and anything else is relayed as bytes.
 */
export function sniffHttp(b: Uint8Array): "yes" | "no" | "maybe" {
  // The request line only (URLs with long query strings run to several KiB).
  let end = b.indexOf(0x0a);
  const complete = end >= 0;
  if (!complete) end = b.length;
  if (end > SNIFF_LINE_MAX) return "no";
  const text = Buffer.from(b.buffer, b.byteOffset, Math.min(b.length, end + 1)).toString("latin1");
  if (complete) return HTTP_LINE.test(text) ? "yes" : "no";
  return HTTP_LINE_PREFIX.test(text) ? "maybe" : "no";
}

/** The longest request line a sniffed port recognises as HTTP. */
export const SNIFF_LINE_MAX = 8192;
