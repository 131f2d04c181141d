/**
 * The server name (SNI) a TLS client asks for, read from its ClientHello
 * (RFC 8446 4.1.2, RFC 6066 3), for TLS connections whose first bytes the
 * ingress has already read itself: a PROXY protocol header from a load
 * balancer comes first, and what followed it in the same segment is the
 * start of the handshake. Bun's TLS server ignores an SNI callback on such a
 * hand-fed stream, so the ingress picks the certificate from the name read
 * here (docs/ENGINEERING.md).
 *
 * Incremental like the PROXY decoder: "need-more" until the first handshake
 * message is whole (bounded: 16 KiB, one record's worth, or several records
 * for a fragmented hello), "not-tls" for bytes that cannot start one, else
 * the name (undefined when the client sent none). Never throws.
 */

export type HelloRead = { readonly kind: "need-more" } | { readonly kind: "not-tls" } | { readonly kind: "ok"; readonly serverName: string | undefined };

/** Largest ClientHello read (post-quantum key shares make them ~2 KB; 16 KiB is the record limit). */
export const MAX_HELLO = 16 * 1024;

const NEED: HelloRead = { kind: "need-more" };
const NOT: HelloRead = { kind: "not-tls" };

/** The handshake bytes carried by the leading TLS records (type 22), up to `want` bytes, or a verdict. */
function handshakeBytes(b: Uint8Array, want: number): Uint8Array | HelloRead {
  const out: number[] = [];
  let i = 0;
  while (out.length < want) {
    if (i + 5 > b.length) return b.length > MAX_HELLO + 5 * 8 ? NOT : NEED;
    if (b[i] !== 0x16 || b[i + 1] !== 0x03) return NOT;
    const len = (b[i + 3]! << 8) | b[i + 4]!;
    if (len === 0 || len > 16 * 1024 + 256) return NOT;
    if (i + 5 + len > b.length) {
      // Take what is there: the hello may already be whole inside a partial record.
      for (let k = i + 5; k < b.length && out.length < want; k++) out.push(b[k]!);
      return out.length >= want ? Uint8Array.from(out) : NEED;
    }
    for (let k = i + 5; k < i + 5 + len && out.length < want; k++) out.push(b[k]!);
    i += 5 + len;
  }
  return Uint8Array.from(out);
}

export function clientHelloServerName(b: Uint8Array): HelloRead {
  try {
    const head = handshakeBytes(b, 4);
    if (!(head instanceof Uint8Array)) return head;
    if (head[0] !== 0x01) return NOT; // not a ClientHello
    const len = (head[1]! << 16) | (head[2]! << 8) | head[3]!;
    if (len < 38 || len > MAX_HELLO) return NOT;
    const all = handshakeBytes(b, 4 + len);
    if (!(all instanceof Uint8Array)) return all;
    const h = all.subarray(4);
    let p = 2 + 32; // client_version, random
    const u8 = (at: number) => {
      if (at >= h.length) throw new RangeError("short");
      return h[at]!;
    };
    const u16 = (at: number) => (u8(at) << 8) | u8(at + 1);
    p += 1 + u8(p); // session id
    p += 2 + u16(p); // cipher suites
    p += 1 + u8(p); // compression methods
    if (p === h.length) return { kind: "ok", serverName: undefined }; // no extensions
    const extEnd = p + 2 + u16(p);
    if (extEnd > h.length) return NOT;
    p += 2;
    while (p + 4 <= extEnd) {
      const type = u16(p);
      const elen = u16(p + 2);
      const body = p + 4;
      if (body + elen > extEnd) return NOT;
      if (type === 0x0000) {
        // server_name: a list of (type, name); host_name is type 0.
        let q = body + 2;
        const listEnd = body + 2 + u16(body);
        if (listEnd > body + elen) return NOT;
        while (q + 3 <= listEnd) {
          const nameType = u8(q);
          const nlen = u16(q + 1);
          if (q + 3 + nlen > listEnd) return NOT;
          if (nameType === 0) {
            let name = "";
            for (let k = q + 3; k < q + 3 + nlen; k++) {
              const c = h[k]!;
              if (c <= 0x20 || c >= 0x7f) return NOT;
              name += String.fromCharCode(c);
            }
            return { kind: "ok", serverName: name.toLowerCase() };
          }
          q += 3 + nlen;
        }
        return { kind: "ok", serverName: undefined };
      }
      p = body + elen;
    }
    return { kind: "ok", serverName: undefined };
  } catch {
    return NOT;
  }
}
