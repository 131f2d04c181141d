// Wire formats the ingress proxy reads: addresses, PROXY protocol v1/v2,
// chunked framing. Property tests: every encoding decodes back, a header cut
// short is "need more" (never invalid, never ok), garbage never throws.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { canonicalIp, cidrContains, formatIp, parseCidr, parseIp } from "../../../core/ingress/address.ts";
import { ChunkedScanner } from "../../../core/ingress/chunked.ts";
import { decodeProxyHeader, encodeProxyHeader, encodeProxyV1, type ProxyHeader } from "../../../core/ingress/proxy-protocol.ts";

const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b) => formatIp(b));
const v6 = fc.uint8Array({ minLength: 16, maxLength: 16 }).filter((b) => !(b.slice(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff)).map((b) => formatIp(b));
const port = fc.integer({ min: 0, max: 65535 });

describe("addresses", () => {
  test("RFC 5952 forms", () => {
    expect(canonicalIp("2001:DB8:0:0:0:0:0:1")).toBe("2001:db8::1");
    expect(canonicalIp("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
    expect(canonicalIp("::")).toBe("::");
    expect(canonicalIp("::1")).toBe("::1");
    expect(canonicalIp("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
    expect(canonicalIp("::ffff:10.1.2.3")).toBe("10.1.2.3");
    expect(canonicalIp("1.2.3.04")).toBeUndefined();
    expect(canonicalIp("256.1.1.1")).toBeUndefined();
    expect(canonicalIp("1::2::3")).toBeUndefined();
    expect(canonicalIp("1:2:3:4:5:6:7:8:9")).toBeUndefined();
    expect(canonicalIp("")).toBeUndefined();
  });
  test("format and parse are inverse", () => {
    fc.assert(fc.property(fc.oneof(v4, v6), (s) => formatIp(parseIp(s)!) === s));
  });
  test("CIDR membership", () => {
    const c = parseCidr("10.0.0.0/8")!;
    expect(cidrContains(c, parseIp("10.200.1.1")!)).toBe(true);
    expect(cidrContains(c, parseIp("11.0.0.1")!)).toBe(false);
    expect(cidrContains(c, parseIp("::ffff:10.0.0.1")!)).toBe(true);
    expect(cidrContains(parseCidr("fd00::/8")!, parseIp("fd12::1")!)).toBe(true);
    expect(cidrContains(parseCidr("fd00::/8")!, parseIp("10.0.0.1")!)).toBe(false);
    expect(parseCidr("10.0.0.0/33")).toBeUndefined();
    expect(cidrContains(parseCidr("192.168.1.7")!, parseIp("192.168.1.7")!)).toBe(true);
    fc.assert(fc.property(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 }), (b, bits) => cidrContains({ bytes: b, bits }, b)));
  });
});

const header: fc.Arbitrary<ProxyHeader> = fc.oneof(
  fc.record({ command: fc.constant("proxy" as const), transport: fc.constantFrom("tcp" as const, "udp" as const), fam: fc.boolean(), sa: v4, da: v4, sa6: v6, da6: v6, sp: port, dp: port }).map(
    (r): ProxyHeader => ({ command: "proxy", transport: r.transport, source: { address: r.fam ? r.sa : r.sa6, port: r.sp }, destination: { address: r.fam ? r.da : r.da6, port: r.dp } }),
  ),
  fc.constant<ProxyHeader>({ command: "local" }),
  fc.constant<ProxyHeader>({ command: "proxy", transport: "unknown" }),
);

const tlvs = fc.array(fc.record({ type: fc.integer({ min: 0, max: 255 }), value: fc.uint8Array({ maxLength: 40 }) }), { maxLength: 3 });

describe("PROXY protocol", () => {
  test("v2 round trip (with TLVs), and every cut-short prefix needs more", () => {
    fc.assert(
      fc.property(header, tlvs, fc.uint8Array({ maxLength: 20 }), (h0, t, tail) => {
        const h: ProxyHeader = t.length ? { ...h0, tlvs: t } : h0;
        const enc = encodeProxyHeader(2, h);
        const all = new Uint8Array([...enc, ...tail]);
        const d = decodeProxyHeader(all);
        if (d.kind !== "ok") return false;
        expect(d.length).toBe(enc.length);
        expect(d.header).toEqual(h);
        for (let i = 0; i < enc.length; i++) if (decodeProxyHeader(enc.subarray(0, i)).kind !== "need-more") return false;
        return true;
      }),
    );
  });
  test("v1 round trip for TCP; UDP and LOCAL become UNKNOWN", () => {
    fc.assert(
      fc.property(header, (h) => {
        const enc = encodeProxyHeader(1, h);
        const d = decodeProxyHeader(enc);
        if (d.kind !== "ok" || d.length !== enc.length) return false;
        if (h.command === "proxy" && h.transport === "tcp") expect(d.header).toEqual(h);
        else expect(d.header).toEqual({ command: "proxy", transport: "unknown" });
        for (let i = 0; i < enc.length; i++) if (decodeProxyHeader(enc.subarray(0, i)).kind !== "need-more") return false;
        return true;
      }),
    );
  });
  test("the spec's examples and bad v1 lines", () => {
    const t = (s: string) => decodeProxyHeader(new TextEncoder().encode(s));
    expect(t("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\nGET / HTTP/1.1\r\n")).toEqual({
      kind: "ok",
      length: 47,
      header: { command: "proxy", transport: "tcp", source: { address: "192.168.0.1", port: 56324 }, destination: { address: "192.168.0.11", port: 443 } },
    });
    expect(t("PROXY UNKNOWN\r\n").kind).toBe("ok");
    expect(t("PROXY TCP4 1.2.3.4 5.6.7.8 1 70000\r\n").kind).toBe("invalid");
    expect(t("PROXY TCP4 ::1 ::1 1 2\r\n").kind).toBe("invalid");
    expect(t("PROXY TCP6 1.2.3.4 5.6.7.8 1 2\r\n").kind).toBe("invalid");
    expect(t("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n").kind).toBe("invalid");
    expect(t("GET / HTTP/1.1\r\n").kind).toBe("invalid");
    expect(t("PROXY " + "1".repeat(120)).kind).toBe("invalid");
    expect(t("PRO").kind).toBe("need-more");
    expect(encodeProxyV1({ command: "proxy", transport: "tcp", source: { address: "10.0.0.1", port: 1 }, destination: { address: "::1", port: 2 } })).toBe("PROXY TCP6 ::ffff:10.0.0.1 ::1 1 2\r\n");
  });
  test("garbage never throws and an ok length stays inside the input", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 100 }).map((b) => new Uint8Array([0x0d, 0x0a, 0x0d, 0x0a, 0, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a, ...b]))), (b) => {
        const d = decodeProxyHeader(b);
        return d.kind !== "ok" || d.length <= b.length;
      }),
    );
  });
});

function encodeChunked(chunks: readonly Uint8Array[], trailers: readonly string[], ext: boolean): Uint8Array {
  const parts: number[] = [];
  const push = (s: string) => parts.push(...new TextEncoder().encode(s));
  for (const c of chunks) {
    push(`${c.length.toString(16)}${ext ? ";name=value" : ""}\r\n`);
    parts.push(...c);
    push("\r\n");
  }
  push("0\r\n");
  for (const t of trailers) push(`${t}\r\n`);
  push("\r\n");
  return new Uint8Array(parts);
}

describe("chunked framing", () => {
  test("finds the exact end however the stream is split", () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 1, maxLength: 40 }), { maxLength: 6 }),
        fc.array(fc.constantFrom("X-Sum: 1", "Expires: never"), { maxLength: 2 }),
        fc.boolean(),
        fc.uint8Array({ maxLength: 10 }),
        fc.array(fc.integer({ min: 1, max: 17 }), { minLength: 1, maxLength: 30 }),
        (chunks, trailers, ext, after, cuts) => {
          const body = encodeChunked(chunks, trailers, ext);
          const stream = new Uint8Array([...body, ...after]);
          const sc = new ChunkedScanner();
          let pos = 0;
          let k = 0;
          while (pos < stream.length) {
            const end = Math.min(stream.length, pos + cuts[k++ % cuts.length]!);
            const step = sc.feed(stream.subarray(pos, end));
            if (step.kind === "error") return false;
            pos += step.used;
            if (step.kind === "done") return pos === body.length;
            if (step.used !== end - (pos - step.used)) return false;
          }
          return false;
        },
      ),
    );
  });
  test("malformed sizes and missing CRLFs are errors", () => {
    const f = (s: string) => new ChunkedScanner().feed(new TextEncoder().encode(s)).kind;
    expect(f("zz\r\n")).toBe("error");
    expect(f("5\r\nhelloX")).toBe("error");
    expect(f("1234567890abcdef0\r\n")).toBe("error");
    expect(f("0\r\n\r\n")).toBe("done");
    expect(f("5\r\nhel")).toBe("more");
    expect(f("\r\n")).toBe("error");
  });
});
