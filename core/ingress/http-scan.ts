/**
 * HTTP/1.x heads scanned as bytes, for the proxy's hot path: what routing and
 * framing need and which request lines to drop, without header objects or
 * strings for headers whose value is not read. Same rules and results as the
 * general parsers in http-head.ts (property-tested against them).
 *
 * The proxy scans into objects it keeps per connection (RequestScan,
 * ResponseScan: scanRequestHeadInto, scanResponseHeadInto), so a request makes
 * no result objects; scanRequestHead and scanResponseHead return fresh ones.
 */
import { MAX_HEAD_BYTES, requestChunked, tokens, type BodyFraming, type HeadError } from "./http-head.ts";

/** What a proxy needs from a response head to pass it on. */
export interface ResponseFrame {
  readonly status: number;
  readonly keepAlive: boolean;
  readonly body: BodyFraming;
}

/** A scanned response head, filled in place by scanResponseHeadInto (the proxy keeps one per connection). */
export class ResponseScan {
  status = 0;
  keepAlive = false;
  /** How the body is delimited; `length` is its size for "length". */
  body: BodyFraming["kind"] = "none";
  length = 0;
}

/** Values of incoming forwarding headers, joined per name. */
export interface ForwardingIn {
  xff?: string;
  forwarded?: string;
  proto?: string;
  host?: string;
}

/** A scanned request head, filled in place by scanRequestHeadInto (the proxy keeps one per connection). */
export class RequestScan {
  method = "";
  target = "";
  minor: 0 | 1 = 1;
  /** Host header (lower case, port kept), or "". */
  host = "";
  /** How the body is delimited; `length` is its size for "length". */
  body: BodyFraming["kind"] = "none";
  length = 0;
  keepAlive = true;
  upgrade: string | undefined = undefined;
  expectContinue = false;
  /** Byte ranges [start, end) of header lines (with their CRLF) a proxy must not pass on; emptied by each scan. */
  readonly drop: number[] = [];
  /** Incoming forwarding headers (only believed from trusted peers); undefined when there are none. */
  forwarding: ForwardingIn | undefined = undefined;
  /** Where the request line ends (after its CRLF). */
  lineEnd = 0;
}

const TOKEN_CHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") TOKEN_CHAR[c.charCodeAt(0)] = 1;

function lowerIs(b: Uint8Array, from: number, to: number, word: string): boolean {
  if (to - from !== word.length) return false;
  for (let i = 0; i < word.length; i++) if ((b[from + i]! | 0x20) !== word.charCodeAt(i)) return false;
  return true;
}

function valueText(b: Uint8Array, from: number, to: number): string | undefined {
  while (from < to && (b[from] === 0x20 || b[from] === 0x09)) from++;
  while (to > from && (b[to - 1] === 0x20 || b[to - 1] === 0x09)) to--;
  return hasControl(b, from, to) ? undefined : latin1Text(b, from, to);
}

/** Bytes [from, to) as a latin1 string. Sockets deliver Buffers, whose latin1Slice is one native call making one string; a plain Uint8Array takes the loop (a typed array's .buffer or a Buffer's subarray would cost more than either). */
function latin1Text(b: Uint8Array, from: number, to: number): string {
  const slice = (b as Uint8Array & { latin1Slice?: (start: number, end: number) => string }).latin1Slice;
  if (slice !== undefined) return slice.call(b, from, to);
  let s = "";
  for (let k = from; k < to; k++) s += String.fromCharCode(b[k]!);
  return s;
}

/**
 * A header value that is plain digits (OWS around them allowed), as a number;
 * -1 for anything else (a list, a sign, too many digits), which the caller
 * reads the general way. Content-Length on every response, without strings.
 */
function plainDigits(b: Uint8Array, from: number, to: number): number {
  while (from < to && (b[from] === 0x20 || b[from] === 0x09)) from++;
  while (to > from && (b[to - 1] === 0x20 || b[to - 1] === 0x09)) to--;
  if (to === from || to - from > 15) return -1;
  let n = 0;
  for (let i = from; i < to; i++) {
    const c = b[i]! - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}

/**
 * The last Host value seen, as bytes and as its lower-case string: a client
 * sends the same Host on every request of a connection (and most clients the
 * same few), so it is compared, not decoded and lowered again. Only a cache:
 * the result is the same with or without it.
 */
let lastHostBytes = new Uint8Array(0);
let lastHost = "";

function hostValue(b: Uint8Array, from: number, to: number): string | undefined {
  while (from < to && (b[from] === 0x20 || b[from] === 0x09)) from++;
  while (to > from && (b[to - 1] === 0x20 || b[to - 1] === 0x09)) to--;
  const len = to - from;
  if (len === lastHostBytes.length) {
    let k = 0;
    while (k < len && b[from + k] === lastHostBytes[k]) k++;
    if (k === len) return lastHost;
  }
  const v = valueText(b, from, to);
  if (v === undefined) return undefined;
  if (len <= 255) {
    // A copy (a Buffer's own slice() would be a view of the socket's bytes).
    lastHostBytes = Uint8Array.prototype.slice.call(b, from, to);
    lastHost = v.toLowerCase();
    return lastHost;
  }
  return v.toLowerCase();
}

/** The last request target seen, as bytes and as its string: a client polling one URL (a health check, a load test, an API poller) sends the same target every time. Only a cache, like the Host one. */
let lastTargetBytes = new Uint8Array(0);
let lastTarget = "";

function targetText(b: Uint8Array, from: number, to: number): string {
  const len = to - from;
  if (len === lastTargetBytes.length) {
    let k = 0;
    while (k < len && b[from + k] === lastTargetBytes[k]) k++;
    if (k === len) return lastTarget;
  }
  const t = latin1Text(b, from, to);
  if (len <= 255) {
    lastTargetBytes = Uint8Array.prototype.slice.call(b, from, to);
    lastTarget = t;
  }
  return t;
}

/** The usual methods as constant strings: no string made per request for them. */
const METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"];

function methodText(b: Uint8Array, len: number): string {
  for (const m of METHODS) {
    if (m.length !== len) continue;
    let k = 0;
    while (k < len && b[k] === m.charCodeAt(k)) k++;
    if (k === len) return m;
  }
  return latin1Text(b, 0, len);
}

/** Framings without data, shared (read-only: nothing writes a framing). */
const NO_BODY: BodyFraming = Object.freeze({ kind: "none" });
const CHUNKED: BodyFraming = Object.freeze({ kind: "chunked" });
const CLOSE: BodyFraming = Object.freeze({ kind: "close" });

/** The framing a scan found, as a BodyFraming. */
export function framingOf(kind: BodyFraming["kind"], length: number): BodyFraming {
  return kind === "length" ? { kind, length } : kind === "chunked" ? CHUNKED : kind === "close" ? CLOSE : NO_BODY;
}

/** Whether the header name at [from, to) is one of `names` (lower case), ignoring case. */
function nameIn(b: Uint8Array, from: number, to: number, names: readonly string[]): boolean {
  for (const n of names) if (lowerIs(b, from, to, n)) return true;
  return false;
}

/** Whether bytes [from, to) of a header value hold a control character (HTAB aside). */
function hasControl(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i]!;
    if (c < 0x20 ? c !== 0x09 : c === 0x7f) return true;
  }
  return false;
}

function bad(reason: string): HeadError {
  return { status: 502, reason: `bad response: ${reason}` };
}

/**
 * The response head's status and framing, scanned from bytes without building
 * header objects (the proxy passes the head on untouched). Same rules and
 * results as parseResponseHead; `end` is responseHeadEnd()'s result.
 */
export function scanResponseHead(b: Uint8Array, end: number, method: string): ResponseFrame | HeadError {
  const s = new ResponseScan();
  const e = scanResponseHeadInto(b, end, method, s);
  return e ?? { status: s.status, keepAlive: s.keepAlive, body: framingOf(s.body, s.length) };
}

/** scanResponseHead into `out` (no objects made unless the head is bad); undefined when `out` holds the head. */
export function scanResponseHeadInto(b: Uint8Array, end: number, method: string, out: ResponseScan): HeadError | undefined {
  if (end > MAX_HEAD_BYTES) return { status: 502, reason: "response head too large" };
  // Through the last header line's end: drop the blank line (LF or CRLF).
  const limit = b[end - 2] === 0x0d ? end - 2 : end - 1;
  // "HTTP/1.x SSS"
  if (limit < 13 || b[0] !== 0x48 || b[1] !== 0x54 || b[2] !== 0x54 || b[3] !== 0x50 || b[4] !== 0x2f || b[5] !== 0x31 || b[6] !== 0x2e) return { status: 502, reason: "malformed status line" };
  const minor = b[7] === 0x31 ? 1 : b[7] === 0x30 ? 0 : -1;
  if (minor < 0 || b[8] !== 0x20) return { status: 502, reason: "malformed status line" };
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const c = b[i]! - 0x30;
    if (c < 0 || c > 9) return { status: 502, reason: "malformed status line" };
    status = status * 10 + c;
  }
  if (b[12] !== 0x20 && b[12] !== 0x0d && b[12] !== 0x0a) return { status: 502, reason: "malformed status line" };
  let pos = 12;
  while (pos < limit && b[pos] !== 0x0a) {
    if (b[pos] === 0x0d && b[pos + 1] !== 0x0a) return bad("bare CR or LF in the start line");
    pos++;
  }
  pos += 1;
  let contentLength: number | undefined;
  let te: string | undefined;
  let close = false;
  let keepAliveToken = false;
  while (pos < limit) {
    let nl = pos;
    while (b[nl] !== 0x0a) {
      if (nl >= limit) return bad("bare CR or LF in a header line");
      if (b[nl] === 0x0d && b[nl + 1] !== 0x0a) return bad("bare CR or LF in a header line");
      nl++;
    }
    const eol = b[nl - 1] === 0x0d ? nl - 1 : nl;
    const first = b[pos]!;
    if (first === 0x20 || first === 0x09) return bad("obsolete line folding");
    let colon = pos;
    while (colon < eol && b[colon] !== 0x3a) {
      const c = b[colon]!;
      if (c >= 128 || TOKEN_CHAR[c] !== 1) return bad("invalid header name");
      colon++;
    }
    if (colon === pos || colon === eol) return bad("header line without a name");
    const plain = lowerIs(b, pos, colon, "content-length") ? plainDigits(b, colon + 1, eol) : -1;
    if (plain >= 0) {
      if (contentLength !== undefined && contentLength !== plain) return bad("conflicting Content-Length values");
      contentLength = plain;
    } else if (lowerIs(b, pos, colon, "content-length")) {
      const v = valueText(b, colon + 1, eol);
      if (v === undefined) return bad("control character in header content-length");
      for (const part of v.split(",")) {
        const t = part.trim();
        if (!/^\d{1,15}$/.test(t)) return bad("invalid Content-Length");
        const n = Number(t);
        if (contentLength !== undefined && contentLength !== n) return bad("conflicting Content-Length values");
        contentLength = n;
      }
    } else if (lowerIs(b, pos, colon, "transfer-encoding")) {
      const v = valueText(b, colon + 1, eol);
      if (v === undefined) return bad("control character in header transfer-encoding");
      te = te === undefined ? v : `${te}, ${v}`;
    } else if (lowerIs(b, pos, colon, "connection")) {
      const v = valueText(b, colon + 1, eol);
      if (v === undefined) return bad("control character in header connection");
      for (const t of tokens(v)) {
        if (t === "close") close = true;
        else if (t === "keep-alive") keepAliveToken = true;
      }
    } else {
      for (let i = colon + 1; i < eol; i++) {
        const c = b[i]!;
        if (c < 0x20 ? c !== 0x09 : c === 0x7f) return bad("control character in a header");
      }
    }
    pos = nl + 1;
  }
  let chunked = false;
  if (te !== undefined) {
    const codings = tokens(te);
    if (codings.length !== 1 || codings[0] !== "chunked") return bad(`unsupported Transfer-Encoding ${JSON.stringify(te.slice(0, 40))}`);
    if (contentLength !== undefined) return bad("both Content-Length and Transfer-Encoding");
    chunked = true;
  }
  let keepAlive = minor === 1 ? !close : keepAliveToken;
  let body: BodyFraming["kind"] = "none";
  let length = 0;
  if (method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200)) body = "none";
  else if (chunked) body = "chunked";
  else if (contentLength !== undefined) {
    if (contentLength > 0) {
      body = "length";
      length = contentLength;
    }
  } else {
    body = "close";
    keepAlive = false;
  }
  out.status = status;
  out.keepAlive = keepAlive;
  out.body = body;
  out.length = length;
  return undefined;
}

/** What the proxy needs from a request head, scanned from bytes (see scanRequestHead). */
export interface RequestFrame {
  readonly method: string;
  readonly target: string;
  readonly minor: 0 | 1;
  /** Host header (lower case, port kept), or "". */
  readonly host: string;
  readonly body: BodyFraming;
  readonly keepAlive: boolean;
  readonly upgrade: string | undefined;
  readonly expectContinue: boolean;
  /** Byte ranges [start, end) of header lines (with their CRLF) a proxy must not pass on: hop-by-hop and forwarding headers. */
  readonly drop: readonly number[];
  /** Values of incoming forwarding headers, joined per name (only believed from trusted peers). */
  readonly forwarding: ForwardingIn | undefined;
  /** Where the request line ends (after its CRLF). */
  readonly lineEnd: number;
}

const REQUEST_HOP = ["connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade", "proxy-authenticate", "proxy-authorization"];
/** Request headers (besides host) whose values scanRequestHead reads. */
const USED_REQUEST_HEADERS = ["content-length", "transfer-encoding", "connection", "upgrade", "expect", "x-forwarded-for", "forwarded", "x-forwarded-proto", "x-forwarded-host"];
const HOST_CHARS = /^[a-z0-9.\-_:[\]]*$/;

/**
 * A request head scanned from bytes, with the same rules and results as
 * parseRequestHead, plus which lines to drop when passing it on. Returns
 * "fallback" for the rare heads whose Connection header names other headers
 * to drop (the caller then uses parseRequestHead). `end` is headEnd()'s result.
 */
export function scanRequestHead(b: Uint8Array, end: number): RequestFrame | HeadError | "fallback" {
  const s = new RequestScan();
  const e = scanRequestHeadInto(b, end, s);
  if (e !== undefined) return e;
  return { method: s.method, target: s.target, minor: s.minor, host: s.host, body: framingOf(s.body, s.length), keepAlive: s.keepAlive, upgrade: s.upgrade, expectContinue: s.expectContinue, drop: s.drop, forwarding: s.forwarding, lineEnd: s.lineEnd };
}

/** scanRequestHead into `out` (no objects made for a usual head); undefined when `out` holds the head. */
export function scanRequestHeadInto(b: Uint8Array, end: number, out: RequestScan): HeadError | "fallback" | undefined {
  if (end - 4 > MAX_HEAD_BYTES) return { status: 431, reason: "request head too large" };
  const limit = end - 2;
  // Request line: METHOD SP target SP HTTP/1.x CRLF
  let i = 0;
  while (i < limit && b[i] !== 0x20) {
    const c = b[i]!;
    if (c >= 128 || TOKEN_CHAR[c] !== 1) return { status: 400, reason: "malformed request line" };
    i++;
  }
  if (i === 0 || b[i] !== 0x20) return { status: 400, reason: "malformed request line" };
  const method = methodText(b, i);
  const tStart = ++i;
  while (i < limit && b[i] !== 0x20) {
    const c = b[i]!;
    if (c <= 0x20 || c === 0x7f) return { status: 400, reason: "malformed request line" };
    i++;
  }
  if (i === tStart || b[i] !== 0x20) return { status: 400, reason: "malformed request line" };
  const target = targetText(b, tStart, i);
  i++;
  // HTTP/1.x
  if (b[i] !== 0x48 || b[i + 1] !== 0x54 || b[i + 2] !== 0x54 || b[i + 3] !== 0x50 || b[i + 4] !== 0x2f) return { status: 400, reason: "malformed request line" };
  if (b[i + 5] !== 0x31 || b[i + 6] !== 0x2e || (b[i + 7] !== 0x30 && b[i + 7] !== 0x31) || b[i + 8] !== 0x0d || b[i + 9] !== 0x0a) {
    // Not HTTP/1.0 or 1.1: another version (505) or garbage (400), as parseRequestHead says.
    const line = Buffer.from(b.buffer, b.byteOffset, Math.min(limit, b.length)).toString("latin1").split("\r\n")[0]!;
    return /^\S+ \S+ HTTP\/\d/.test(line) && !line.includes("\n") ? { status: 505, reason: "HTTP version not supported" } : { status: 400, reason: "malformed request line" };
  }
  const minor = b[i + 7] === 0x31 ? 1 : 0;
  const lineEnd = i + 10;
  let pos = lineEnd;
  let contentLength: number | undefined;
  let te: string | undefined;
  let host = "";
  let hosts = 0;
  let close = false;
  let keepAliveToken = false;
  let upgradeToken = false;
  let upgrade: string | undefined;
  let expectContinue = false;
  const drop = out.drop;
  drop.length = 0;
  let forwarding: ForwardingIn | undefined;
  while (pos < limit) {
    let eol = pos;
    while (b[eol] !== 0x0d) {
      if (b[eol] === 0x0a || eol >= limit) return { status: 400, reason: "bare CR or LF in a header line" };
      eol++;
    }
    if (b[eol + 1] !== 0x0a) return { status: 400, reason: "bare CR or LF in a header line" };
    const first = b[pos]!;
    if (first === 0x20 || first === 0x09) return { status: 400, reason: "obsolete line folding" };
    let colon = pos;
    while (colon < eol && b[colon] !== 0x3a) {
      const c = b[colon]!;
      if (c >= 128 || TOKEN_CHAR[c] !== 1) return { status: 400, reason: "invalid header name" };
      colon++;
    }
    if (colon === pos) return { status: 400, reason: "header line without a name" };
    if (colon === eol) return { status: 400, reason: "header line without a name" };
    const len = colon - pos;
    // Connection with one usual token (what browsers send): flags set from the bytes.
    if (len === 10 && lowerIs(b, pos, colon, "connection")) {
      let vs = colon + 1;
      let ve = eol;
      while (vs < ve && (b[vs] === 0x20 || b[vs] === 0x09)) vs++;
      while (ve > vs && (b[ve - 1] === 0x20 || b[ve - 1] === 0x09)) ve--;
      const one = lowerIs(b, vs, ve, "keep-alive") ? 1 : lowerIs(b, vs, ve, "close") ? 2 : lowerIs(b, vs, ve, "upgrade") ? 3 : 0;
      if (one !== 0) {
        if (one === 1) keepAliveToken = true;
        else if (one === 2) close = true;
        else upgradeToken = true;
        drop.push(pos, eol + 2);
        pos = eol + 2;
        continue;
      }
    }
    // The value as a string only for the headers whose value is used; the others are only checked.
    const used = nameIn(b, pos, colon, USED_REQUEST_HEADERS);
    const isHost = len === 4 && lowerIs(b, pos, colon, "host");
    const v = isHost ? hostValue(b, colon + 1, eol) : used ? valueText(b, colon + 1, eol) : hasControl(b, colon + 1, eol) ? undefined : "";
    if (v === undefined) return { status: 400, reason: `control character in header ${latin1Text(b, pos, colon)}` };
    if (!used && !isHost) {
      if (nameIn(b, pos, colon, REQUEST_HOP)) drop.push(pos, eol + 2);
      pos = eol + 2;
      continue;
    }
    // Dispatch on the name's length first.
    if (isHost) {
      hosts++;
      host = v;
    } else if (len === 14 && lowerIs(b, pos, colon, "content-length")) {
      const plain = plainDigits(b, colon + 1, eol);
      if (plain >= 0) {
        if (contentLength !== undefined && contentLength !== plain) return { status: 400, reason: "conflicting Content-Length values" };
        contentLength = plain;
      } else for (const part of v.split(",")) {
        const t = part.trim();
        if (!/^\d{1,15}$/.test(t)) return { status: 400, reason: "invalid Content-Length" };
        const n = Number(t);
        if (contentLength !== undefined && contentLength !== n) return { status: 400, reason: "conflicting Content-Length values" };
        contentLength = n;
      }
    } else if (len === 17 && lowerIs(b, pos, colon, "transfer-encoding")) {
      te = te === undefined ? v : `${te}, ${v}`;
    } else if (len === 10 && lowerIs(b, pos, colon, "connection")) {
      for (const t of tokens(v)) {
        if (t === "close") close = true;
        else if (t === "keep-alive") keepAliveToken = true;
        else if (t === "upgrade") upgradeToken = true;
        else return "fallback";
      }
      drop.push(pos, eol + 2);
    } else if (len === 7 && lowerIs(b, pos, colon, "upgrade")) {
      upgrade = v;
      drop.push(pos, eol + 2);
    } else if (len === 6 && lowerIs(b, pos, colon, "expect")) {
      if (v.toLowerCase() === "100-continue") expectContinue = true;
    } else if (len === 15 && lowerIs(b, pos, colon, "x-forwarded-for")) {
      forwarding ??= {};
      forwarding.xff = forwarding.xff === undefined ? v : `${forwarding.xff}, ${v}`;
      drop.push(pos, eol + 2);
    } else if (len === 9 && lowerIs(b, pos, colon, "forwarded")) {
      forwarding ??= {};
      forwarding.forwarded = forwarding.forwarded === undefined ? v : `${forwarding.forwarded}, ${v}`;
      drop.push(pos, eol + 2);
    } else if (len === 17 && lowerIs(b, pos, colon, "x-forwarded-proto")) {
      forwarding ??= {};
      forwarding.proto ??= v;
      drop.push(pos, eol + 2);
    } else if (len === 16 && lowerIs(b, pos, colon, "x-forwarded-host")) {
      forwarding ??= {};
      forwarding.host ??= v;
      drop.push(pos, eol + 2);
    } else if (nameIn(b, pos, colon, REQUEST_HOP)) {
      drop.push(pos, eol + 2);
    }
    pos = eol + 2;
  }
  const chunked = requestChunked(te, contentLength);
  if (typeof chunked !== "boolean") return chunked;
  if (hosts > 1) return { status: 400, reason: "more than one Host header" };
  if (minor === 1 && hosts === 0) return { status: 400, reason: "HTTP/1.1 request without Host" };
  if (!HOST_CHARS.test(host)) return { status: 400, reason: "invalid Host" };
  out.method = method;
  out.target = target;
  out.minor = minor;
  out.host = host;
  out.body = chunked ? "chunked" : contentLength ? "length" : "none";
  out.length = contentLength ?? 0;
  out.keepAlive = minor === 1 ? !close : keepAliveToken;
  out.upgrade = upgrade !== undefined && upgradeToken ? upgrade.toLowerCase() : undefined;
  out.expectContinue = expectContinue;
  out.forwarding = forwarding;
  out.lineEnd = lineEnd;
  return undefined;
}
