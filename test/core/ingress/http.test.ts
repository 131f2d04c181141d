// HTTP heads as the proxy parses them (strict where lenience smuggles) and
// the forwarding headers it sets (trusted only from configured proxies).
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { parseCidr } from "../../../core/ingress/address.ts";
import { clientAddress, forwardingHeaders } from "../../../core/ingress/forwarded.ts";
import { headEnd, isHeadError, parseRequestHead, parseResponseHead, responseHeadEnd, sniffHttp, type RequestHead } from "../../../core/ingress/http-head.ts";
import { scanRequestHead, scanResponseHead } from "../../../core/ingress/http-scan.ts";

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
    // CGI behind busybox httpd: the status line in CRLF, the CGI's own header lines in bare LF.
    const cgi = new Uint8Array(Buffer.from("HTTP/1.1 200 OK\r\nContent-Type: text/plain\n\nhello"));
    const end = responseHeadEnd(cgi);
    expect(end).toBe(cgi.length - 5);
    expect(scanResponseHead(cgi, end, "GET")).toEqual({ status: 200, keepAlive: false, body: { kind: "close" } });
  });
});

describe("request head scanner", () => {
  const line = fc.oneof(
    fc.constantFrom("Host: a.test", "host: B.test:8080", "Host: a b", "Content-Length: 5", "Content-Length: 5, 6", "Transfer-Encoding: chunked", "Transfer-Encoding: gzip", "Connection: close", "Connection: keep-alive", "Connection: Upgrade", "Connection: x-secret", "Upgrade: websocket", "Expect: 100-continue", "X-Forwarded-For: 1.2.3.4", "Forwarded: for=1.2.3.4", " folded", "Bad Name: x", ":v", "X-A: \u0001", "X-Long-Header-Name: a\u007fb", "Host: a\u0001", "Keep-Alive: 5", "TE: trailers", "User-Agent: wrk", "Accept-Language: en-GB,en;q=0.9"),
    fc.string({ maxLength: 16 }),
  );
  test("agrees with the parser; dropped lines are exactly the hop-by-hop and forwarding ones", () => {
    fc.assert(
      fc.property(fc.constantFrom("GET / HTTP/1.1", "POST /x?y HTTP/1.0", "GET / HTTP/2.0", "GET  / HTTP/1.1", "G@T / HTTP/1.1", "GET /a HTTP/1.1x", "PURGE /a-long-path/with/more/than/16/chars?q=1 HTTP/1.1", "PATCH /caf\u00e9-long-target-0123456789 HTTP/1.1", "M-SEARCH * HTTP/1.1"), fc.array(line, { maxLength: 6 }), (start, lines) => {
        const text = [start, ...lines].join("\r\n");
        const bytes = new Uint8Array(Buffer.from(`${text}\r\n\r\n`, "latin1"));
        const end = headEnd(bytes);
        if (end !== bytes.length) return true;
        const a = parseRequestHead(text);
        const b = scanRequestHead(bytes, end);
        // The same bytes as a Buffer (what sockets deliver: strings come from its latin1Slice) scan the same.
        if (JSON.stringify(scanRequestHead(Buffer.from(bytes), end)) !== JSON.stringify(b)) return false;
        if (b === "fallback") return lines.some((l) => /^connection:/i.test(l));
        // Both refuse; which status (400 or 505) can differ when the line and a header are both bad.
        if (isHeadError(a)) return "reason" in b;
        if ("reason" in b) return false;
        const same = a.method === b.method && a.target === b.target && a.minor === b.minor && a.host === b.host && a.keepAlive === b.keepAlive && a.upgrade === b.upgrade && a.expectContinue === b.expectContinue && JSON.stringify(a.body) === JSON.stringify(b.body);
        const dropped: string[] = [];
        for (let k = 0; k < b.drop.length; k += 2) dropped.push(Buffer.from(bytes.subarray(b.drop[k]!, b.drop[k + 1]! - 2)).toString("latin1"));
        const want = a.headers.filter((h) => ["connection", "upgrade", "x-forwarded-for", "forwarded", "keep-alive", "te"].includes(h.name)).map((h) => h.line);
        return same && JSON.stringify(dropped) === JSON.stringify(want);
      }),
      { numRuns: 3000 },
    );
  });
});

describe("sniffing a published port", () => {
  // As bytes on the wire: UTF-8 (a latin1 cut of U+0120 would forge a space).
  const t = (s: string) => sniffHttp(new Uint8Array(Buffer.from(s, "utf8")));
  test("an HTTP request line is HTTP; a prefix of one waits; anything else is bytes", () => {
    expect(t("GET / HTTP/1.1\r\nHost: a\r\n")).toBe("yes");
    expect(t("POST /x?y=1 HTTP/1.0\r\n")).toBe("yes");
    expect(t("")).toBe("maybe");
    expect(t("GE")).toBe("maybe");
    expect(t("GET /index.ht")).toBe("maybe");
    expect(t("GET / HTTP/1.")).toBe("maybe");
    expect(t("GET / HTTP/1.1\r")).toBe("maybe");
    expect(t("\u0016\u0003\u0001\u0002")).toBe("no"); // a TLS ClientHello
    expect(t("SSH-2.0-OpenSSH_9.2\r\n")).toBe("no");
    expect(t("get / HTTP/1.1\r\n")).toBe("no");
    expect(t("GET / HTTP/2.0\r\n")).toBe("no");
    expect(t("PING\r\n")).toBe("no");
    // Long request lines (query strings) are still HTTP, up to 8 KiB.
    expect(t(`GET /?q=${"x".repeat(6000)}`)).toBe("maybe");
    expect(t(`GET /?q=${"x".repeat(6000)} HTTP/1.1\r\n`)).toBe("yes");
    expect(t(`GET /?q=${"x".repeat(9000)}`)).toBe("no");
  });
  test("every prefix of a request line is maybe or yes, never no", () => {
    fc.assert(
      fc.property(fc.constantFrom("GET", "POST", "DELETE", "OPTIONS"), fc.array(fc.constantFrom(..."abcXYZ019/._~%?=&+-é字"), { maxLength: 60 }), fc.constantFrom("0", "1"), (m, chars, v) => {
        const line = `${m} /${chars.join("")} HTTP/1.${v}\r\n`;
        for (let i = 0; i < line.length; i++) if (t(line.slice(0, i)) === "no") return false;
        return t(line) === "yes";
      }),
      { numRuns: 60 },
    );
  });
});

describe("response head scanner", () => {
  const line = fc.oneof(
    fc.constantFrom("Content-Length: 5", "content-length: 0", "Content-Length: 5, 5", "Content-Length: 5, 6", "Content-Length: x", "Transfer-Encoding: chunked", "transfer-encoding: gzip", "Connection: close", "Connection: keep-alive", "connection: Keep-Alive, Upgrade", " folded", "Bad Name: x", ":novalue", "X-A: \u0001", "X-B:", "Server: fizz"),
    fc.string({ maxLength: 20 }),
  );
  test("agrees with the parser on status, keep-alive and framing", () => {
    fc.assert(
      fc.property(fc.constantFrom("HTTP/1.1 200 OK", "HTTP/1.0 200 OK", "HTTP/1.1 204 No Content", "HTTP/1.1 304 x", "HTTP/1.1 101 Switching", "HTTP/1.1 100", "HTTP/1.2 200 OK", "HTTP/1.1 2x0 OK", "SSH-2.0"), fc.array(line, { maxLength: 5 }), fc.constantFrom("GET", "HEAD"), fc.constantFrom("\r\n", "\n"), (start, lines, method, eol) => {
        const text = [start, ...lines].join(eol);
        const bytes = new Uint8Array(Buffer.from(`${text}${eol}${eol}`, "latin1"));
        const end = responseHeadEnd(bytes);
        const a = parseResponseHead(text, method);
        if (end !== bytes.length) return true; // a line with CRLFCRLF inside: not one head
        const b = scanResponseHead(bytes, end, method);
        if (isHeadError(a)) return "reason" in b;
        if ("reason" in b) return false;
        return a.head.status === b.status && a.head.keepAlive === b.keepAlive && JSON.stringify(a.body) === JSON.stringify(b.body);
      }),
      { numRuns: 2000 },
    );
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
