import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { formatHostPort, parseHostPort, withDefaultPort } from "../../core/address.ts";

describe("host:port (core/address.ts)", () => {
  test("parses IPv4, names and bracketed IPv6; refuses the rest, saying why", () => {
    expect(parseHostPort("10.0.0.1:7946")).toEqual({ ok: true, value: { host: "10.0.0.1", port: 7946 } });
    expect(parseHostPort("[fd00::1]:7946")).toEqual({ ok: true, value: { host: "fd00::1", port: 7946 } });
    expect(parseHostPort("node-1.example:80")).toEqual({ ok: true, value: { host: "node-1.example", port: 80 } });
    expect(parseHostPort("fd00::1:7946")).toEqual({ ok: false, why: "write IPv6 addresses in brackets, e.g. [fd00::1]:7946" });
    expect(parseHostPort("10.0.0.1")).toEqual({ ok: false, why: "expected <host>:<port>" });
    expect(parseHostPort("10.0.0.1:0")).toEqual({ ok: false, why: "port 0 is out of range (1-65535)" });
    expect(parseHostPort("10.0.0.1:0", { allowZero: true }).ok).toBe(true);
    expect(parseHostPort("10.0.0.1:70000").ok).toBe(false);
    expect(parseHostPort("10.0.0.1", { defaultPort: 7946 })).toEqual({ ok: true, value: { host: "10.0.0.1", port: 7946 } });
  });

  test("a default port goes where none is", () => {
    expect(withDefaultPort("127.0.0.11", 7946)).toBe("127.0.0.11:7946");
    expect(withDefaultPort("::1", 7946)).toBe("[::1]:7946");
    expect(withDefaultPort("[::1]", 7946)).toBe("[::1]:7946");
    expect(withDefaultPort("h:1", 7946)).toBe("h:1");
  });

  test("property: what is formatted parses back", () => {
    const host = fc.oneof(fc.ipV4(), fc.ipV6(), fc.domain());
    fc.assert(fc.property(host, fc.integer({ min: 1, max: 65535 }), (h, p) => {
      const r = parseHostPort(formatHostPort(h, p));
      return r.ok && r.value.host === h && r.value.port === p;
    }), { numRuns: 500, seed: 16 });
  });
});
