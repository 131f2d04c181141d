/**
 * PROXY protocol (haproxy's proxy-protocol.txt) versions 1 (text) and 2
 * (binary): the header a proxy puts in front of a TCP stream to tell the
 * server who the client is. Fizz sends it to backends that opt in and accepts
 * it from load balancers it is told to trust.
 *
 * Decoding is incremental: feed the bytes received so far and get "need more"
 * until a whole header is there, "invalid" for anything that cannot become
 * one (so a connection is refused as soon as it is wrong, not at a timeout),
 * or the header and its length. Both versions are bounded (v1: 107 bytes,
 * v2: 16 + 65535) and v2 TLVs are skipped.
 *
 * Hand-written: the npm parsers only take whole headers and throw, so they
 * cannot tell a header still arriving from a bad one (ENGINEERING.md).
 */
import { formatIp, parseIp } from "./address.ts";

export interface ProxyEndpoint {
  readonly address: string;
  readonly port: number;
}

/** A v2 type-length-value extension (0xE0-0xEF are for private use; Fizz's relay uses 0xE0). */
export interface ProxyTlv {
  readonly type: number;
  readonly value: Uint8Array;
}

export type ProxyHeader = (
  /** A relayed connection: who connected (source) to whom (destination). */
  | { readonly command: "proxy"; readonly transport: "tcp" | "udp"; readonly source: ProxyEndpoint; readonly destination: ProxyEndpoint }
  /** Proxied, but the sender did not know or say the addresses (v1 UNKNOWN, v2 UNSPEC). */
  | { readonly command: "proxy"; readonly transport: "unknown" }
  /** v2 LOCAL: the sender's own connection (health checks); use the socket's addresses. */
  | { readonly command: "local" }
) & {
  /** v2 only; decoded when present, never sent by v1. */
  readonly tlvs?: readonly ProxyTlv[];
};

/** Fizz's cross-node relay names the replica it wants in this TLV type. */
export const TLV_FIZZ_REPLICA = 0xe0;

export type ProxyDecode =
  | { readonly kind: "need-more" }
  | { readonly kind: "invalid"; readonly reason: string }
  | { readonly kind: "ok"; readonly header: ProxyHeader; readonly length: number };

export const V2_SIGNATURE = Uint8Array.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_PREFIX = "PROXY ";
export const V1_MAX = 107;

const NEED_MORE: ProxyDecode = { kind: "need-more" };
const invalid = (reason: string): ProxyDecode => ({ kind: "invalid", reason });

function startsWithPrefix(buf: Uint8Array, prefix: Uint8Array): "yes" | "no" | "maybe" {
  const n = Math.min(buf.length, prefix.length);
  for (let i = 0; i < n; i++) if (buf[i] !== prefix[i]) return "no";
  return buf.length >= prefix.length ? "yes" : "maybe";
}

const V1_PREFIX_BYTES = new TextEncoder().encode(V1_PREFIX);

export function decodeProxyHeader(buf: Uint8Array): ProxyDecode {
  if (buf.length === 0) return NEED_MORE;
  const v2 = startsWithPrefix(buf, V2_SIGNATURE);
  if (v2 === "yes") return decodeV2(buf);
  const v1 = startsWithPrefix(buf, V1_PREFIX_BYTES);
  if (v1 === "yes") return decodeV1(buf);
  if (v1 === "maybe" || v2 === "maybe") return NEED_MORE;
  return invalid("the connection does not start with a PROXY protocol header");
}

// ---- v1 -------------------------------------------------------------------

const PORT = /^(0|[1-9]\d{0,4})$/;

function decodeV1(buf: Uint8Array): ProxyDecode {
  const limit = Math.min(buf.length, V1_MAX);
  let end = -1;
  for (let i = V1_PREFIX.length; i < limit; i++) {
    const c = buf[i]!;
    if (c === 0x0d) {
      if (i + 1 >= buf.length) return NEED_MORE;
      if (buf[i + 1] !== 0x0a) return invalid("v1 header: CR not followed by LF");
      end = i;
      break;
    }
    // Printable US-ASCII only; anything else cannot be a v1 header.
    if (c < 0x20 || c > 0x7e) return invalid("v1 header: unexpected byte");
  }
  if (end < 0) return buf.length >= V1_MAX ? invalid(`v1 header: no CRLF within ${V1_MAX} bytes`) : NEED_MORE;
  let text = "";
  for (let i = 0; i < end; i++) text += String.fromCharCode(buf[i]!);
  const parts = text.split(" ");
  const length = end + 2;
  if (parts[1] === "UNKNOWN") return { kind: "ok", header: { command: "proxy", transport: "unknown" }, length };
  if (parts.length !== 6) return invalid("v1 header: expected PROXY TCP4|TCP6 src dst sport dport");
  const [, fam, src, dst, sport, dport] = parts as [string, string, string, string, string, string];
  if (fam !== "TCP4" && fam !== "TCP6") return invalid(`v1 header: unknown protocol ${JSON.stringify(fam.slice(0, 16))}`);
  const want = fam === "TCP4" ? 4 : 16;
  const s = parseV1Address(src, want);
  const d = parseV1Address(dst, want);
  if (!s || !d) return invalid(`v1 header: addresses are not ${fam === "TCP4" ? "IPv4" : "IPv6"}`);
  const sp = parsePort(sport);
  const dp = parsePort(dport);
  if (sp === undefined || dp === undefined) return invalid("v1 header: ports must be 0-65535");
  return {
    kind: "ok",
    header: { command: "proxy", transport: "tcp", source: { address: s, port: sp }, destination: { address: d, port: dp } },
    length,
  };
}

function parseV1Address(text: string, want: 4 | 16): string | undefined {
  // parseIp folds IPv4-mapped IPv6 into IPv4; a TCP6 line may carry one.
  const b = parseIp(text);
  if (!b) return undefined;
  if (want === 4 && (b.length !== 4 || text.includes(":"))) return undefined;
  if (want === 16 && !text.includes(":")) return undefined;
  return formatIp(b);
}

function parsePort(s: string): number | undefined {
  if (!PORT.test(s)) return undefined;
  const n = Number(s);
  return n <= 65535 ? n : undefined;
}

// ---- v2 -------------------------------------------------------------------

function decodeV2(buf: Uint8Array): ProxyDecode {
  if (buf.length < 16) return NEED_MORE;
  const verCmd = buf[12]!;
  if (verCmd >> 4 !== 2) return invalid(`v2 header: version ${verCmd >> 4}`);
  const cmd = verCmd & 0x0f;
  if (cmd > 1) return invalid(`v2 header: command ${cmd}`);
  const famProto = buf[13]!;
  const len = (buf[14]! << 8) | buf[15]!;
  const length = 16 + len;
  if (buf.length < length) return NEED_MORE;
  const fam = famProto >> 4;
  const proto = famProto & 0x0f;
  if (cmd !== 0) {
    if (proto > 2) return invalid(`v2 header: transport ${proto}`);
    if (fam > 3) return invalid(`v2 header: address family ${fam}`);
  }
  // Address block size by family (UNSPEC 0, INET 12, INET6 36, UNIX 216); TLVs follow it.
  const addrLen = fam === 1 ? 12 : fam === 2 ? 36 : fam === 3 ? 216 : 0;
  if (addrLen > len && cmd !== 0) return invalid(`v2 header: ${len} bytes, too short for its addresses`);
  const tlvs: ProxyTlv[] = [];
  for (let p = 16 + Math.min(addrLen, len); p < length; ) {
    if (p + 3 > length) return invalid("v2 header: truncated TLV");
    const tlen = (buf[p + 1]! << 8) | buf[p + 2]!;
    if (p + 3 + tlen > length) return invalid("v2 header: TLV runs past the header");
    tlvs.push({ type: buf[p]!, value: buf.slice(p + 3, p + 3 + tlen) });
    p += 3 + tlen;
  }
  const extra = tlvs.length > 0 ? { tlvs } : {};
  if (cmd === 0) return { kind: "ok", header: { command: "local", ...extra }, length };
  // UNSPEC family or transport, and AF_UNIX, carry nothing we can use.
  if (fam === 0 || proto === 0 || fam === 3) return { kind: "ok", header: { command: "proxy", transport: "unknown", ...extra }, length };
  const size = fam === 1 ? 4 : 16;
  const a = 16;
  const src = formatIp(buf.slice(a, a + size));
  const dst = formatIp(buf.slice(a + size, a + 2 * size));
  const sp = (buf[a + 2 * size]! << 8) | buf[a + 2 * size + 1]!;
  const dp = (buf[a + 2 * size + 2]! << 8) | buf[a + 2 * size + 3]!;
  return {
    kind: "ok",
    header: { command: "proxy", transport: proto === 1 ? "tcp" : "udp", source: { address: src, port: sp }, destination: { address: dst, port: dp }, ...extra },
    length,
  };
}

// ---- encoding -------------------------------------------------------------

/** Both endpoints must be of one family; a mix (IPv4 client, IPv6 listener) is sent as IPv6 (mapped). */
function familyBytes(source: ProxyEndpoint, destination: ProxyEndpoint): { s: Uint8Array; d: Uint8Array } | undefined {
  const s = parseIp(source.address);
  const d = parseIp(destination.address);
  if (!s || !d) return undefined;
  if (s.length === d.length) return { s, d };
  const map = (b: Uint8Array) => (b.length === 16 ? b : Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b]));
  return { s: map(s), d: map(d) };
}

export function encodeProxyV1(header: ProxyHeader): string {
  if (header.command === "local" || header.transport !== "tcp") return "PROXY UNKNOWN\r\n";
  const f = familyBytes(header.source, header.destination);
  if (!f) return "PROXY UNKNOWN\r\n";
  const fam = f.s.length === 4 ? "TCP4" : "TCP6";
  return `PROXY ${fam} ${formatIp(f.s)} ${formatIp(f.d)} ${header.source.port} ${header.destination.port}\r\n`;
}

export function encodeProxyV2(header: ProxyHeader): Uint8Array {
  const tlvBytes = (header.tlvs ?? []).reduce((n, t) => n + 3 + t.value.length, 0);
  const f = header.command === "proxy" && header.transport !== "unknown" ? familyBytes(header.source, header.destination) : undefined;
  const size = f ? f.s.length : 0;
  const addrLen = f ? size * 2 + 4 : 0;
  const len = addrLen + tlvBytes;
  if (len > 0xffff) throw new RangeError("PROXY v2 header over 65535 bytes");
  const out = new Uint8Array(16 + len);
  out.set(V2_SIGNATURE);
  out[12] = header.command === "local" ? 0x20 : 0x21;
  out[14] = len >> 8;
  out[15] = len & 0xff;
  if (f && header.command === "proxy" && header.transport !== "unknown") {
    out[13] = ((size === 4 ? 1 : 2) << 4) | (header.transport === "tcp" ? 1 : 2);
    out.set(f.s, 16);
    out.set(f.d, 16 + size);
    const p = 16 + 2 * size;
    out[p] = header.source.port >> 8;
    out[p + 1] = header.source.port & 0xff;
    out[p + 2] = header.destination.port >> 8;
    out[p + 3] = header.destination.port & 0xff;
  }
  let p = 16 + addrLen;
  for (const t of header.tlvs ?? []) {
    out[p] = t.type;
    out[p + 1] = t.value.length >> 8;
    out[p + 2] = t.value.length & 0xff;
    out.set(t.value, p + 3);
    p += 3 + t.value.length;
  }
  return out;
}

export type ProxyVersion = 1 | 2;

export function encodeProxyHeader(version: ProxyVersion, header: ProxyHeader): Uint8Array {
  return version === 1 ? new TextEncoder().encode(encodeProxyV1(header)) : encodeProxyV2(header);
}
