// HTTP heads as the proxy parses them (strict where lenience smuggles) and
// the forwarding headers it sets (trusted only from configured proxies).
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseCidr } from "../../../core/ingress/address.ts";
import { clientAddress, forwardingHeaders } from "../../../core/ingress/forwarded.ts";
import { headEnd, isHeadError, parseRequestHead, parseResponseHead, type RequestHead } from "../../../core/ingress/http-head.ts";

const req = (s: string) => parseRequestHead(s);
const ok = (s: string): RequestHead => {
  const r = req(s);
  if (isHeadError(r)) throw new Error(r.reason);
  return r;
};

describe("request heads", () => {
  test("routing and framing fields", () => {
    const r = ok("POST /api/x?y=1 HTTP/1.1\r\nHost: Shop.Example.com:8080\r\nContent-Length: 5\r\nX-A: b");
    expect(r).toMatchObject({ method: "POST", target: "/api/x?y=1", minor: 1, host: "shop.example.com:8080", body: { kind: "length", length: 5 }, keepAlive: true });
    expect(r.headers.map((h) => h.line)).toEqual(["Host: Shop.Example.com:8080", "Content-Length: 5", "X-A: b"]);
    expect(ok("GET / HTTP/1.0").keepAlive).toBe(false);
    expect(ok("GET / HTTP/1.0\r\nConnection: keep-alive").keepAlive).toBe(true);
    expect(ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: close").keepAlive).toBe(false);
    expect(ok("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked").body).toEqual({ kind: "chunked" });
    expect(ok("GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket").upgrade).toBe("websocket");
    expect(ok("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 3, 3\r\nExpect: 100-continue")).toMatchObject({ body: { kind: "length", length: 3 }, expectContinue: true });
  });
  test("what smuggles or cannot be framed is refused with a status", () => {
    const status = (s: string) => {
      const r = req(s);
      return isHeadError(r) ? r.status : 200;
    };
    expect(status("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -1")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked")).toBe(501);
    expect(status("GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked")).toBe(501);
    expect(status("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost : a")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: a\nX: b")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: a\r\nX: a\u0000b")).toBe(400);
    expect(status("GET / HTTP/1.1")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: a\r\nHost: b")).toBe(400);
    expect(status("GET / HTTP/2.0\r\nHost: a")).toBe(505);
    expect(status("GET  / HTTP/1.1\r\nHost: a")).toBe(400);
    expect(status("GET / HTTP/1.1\r\nHost: a b")).toBe(400);
  });
  test("any input gives a head or an error, never a throw", () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => typeof req(`GET / HTTP/1.1\r\nHost: a\r\n${s}`) === "object"));
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => typeof parseResponseHead(s, "GET") === "object"));
  });
  test("head end", () => {
    const b = new TextEncoder().encode("GET / HTTP/1.1\r\nHost: a\r\n\r\nBODY");
    expect(headEnd(b)).toBe(b.length - 4);
    expect(headEnd(b.subarray(0, 20))).toBe(-1);
    expect(headEnd(b, 20)).toBe(b.length - 4);
  });
});

describe("response heads", () => {
  test("body framing by method and status", () => {
    const f = (s: string, m = "GET") => {
      const r = parseResponseHead(s, m);
      if (isHeadError(r)) throw new Error(r.reason);
      return r;
    };
    expect(f("HTTP/1.1 200 OK\r\nContent-Length: 3").body).toEqual({ kind: "length", length: 3 });
    expect(f("HTTP/1.1 200 OK\r\nContent-Length: 3", "HEAD").body).toEqual({ kind: "none" });
    expect(f("HTTP/1.1 304 Not Modified\r\nContent-Length: 3").body).toEqual({ kind: "none" });
    expect(f("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked").body).toEqual({ kind: "chunked" });
    const close = f("HTTP/1.1 200 OK");
    expect(close.body).toEqual({ kind: "close" });
    expect(close.head.keepAlive).toBe(false);
    expect(f("HTTP/1.0 200 OK\r\nContent-Length: 0").head.keepAlive).toBe(false);
    expect(f("HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: websocket").head.status).toBe(101);
    expect(isHeadError(parseResponseHead("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked", "GET"))).toBe(true);
    expect(isHeadError(parseResponseHead("SSH-2.0-OpenSSH", "GET"))).toBe(true);
  });
});

describe("forwarding headers", () => {
  const trusted = [parseCidr("10.0.0.0/8")!];
  const h = (xs: [string, string][]) => xs.map(([n, v]) => ({ name: n.toLowerCase(), value: v, line: `${n}: ${v}` }));
  test("from an untrusted peer, what the client claims is replaced", () => {
    const f = forwardingHeaders(h([["X-Forwarded-For", "1.1.1.1"], ["Forwarded", "for=1.1.1.1"], ["X-Forwarded-Proto", "https"]]), "shop.example.com", { peer: "203.0.113.7", proto: "http", trusted });
    expect(f).toEqual({ xForwardedFor: "203.0.113.7", forwarded: 'for=203.0.113.7;host="shop.example.com";proto=http', xForwardedProto: "http", xForwardedHost: "shop.example.com" });
  });
  test("from a trusted proxy, Fizz appends its hop", () => {
    const f = forwardingHeaders(h([["X-Forwarded-For", "198.51.100.1"], ["Forwarded", "for=198.51.100.1;proto=https"], ["X-Forwarded-Proto", "https"]]), "a", { peer: "10.1.2.3", proto: "http", trusted });
    expect(f.xForwardedFor).toBe("198.51.100.1, 10.1.2.3");
    expect(f.forwarded).toBe('for=198.51.100.1;proto=https, for=10.1.2.3;host="a";proto=http');
    expect(f.xForwardedProto).toBe("https");
    expect(clientAddress(f.xForwardedFor, trusted)).toBe("198.51.100.1");
  });
  test("IPv6 peers are bracketed and quoted in Forwarded", () => {
    expect(forwardingHeaders([], "", { peer: "2001:db8::1", proto: "https", trusted: [] }).forwarded).toBe('for="[2001:db8::1]";proto=https');
  });
  test("no trusted range: a forged chain never survives", () => {
    fc.assert(
      fc.property(fc.array(fc.ipV4(), { maxLength: 4 }), fc.ipV4(), (chain, peer) => {
        const f = forwardingHeaders(h(chain.length ? [["X-Forwarded-For", chain.join(", ")]] : []), "x", { peer, proto: "http", trusted: [] });
        return f.xForwardedFor === peer;
      }),
    );
  });
});
