import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  describeJoinToken,
  encodeJoinToken,
  initCluster,
  joinTokenErrorToFizz,
  keyringFromToken,
  mintJoinToken,
  parseJoinToken,
  type JoinToken,
} from "../../../core/cluster-crypto/join-token.ts";
import { install, keyIdOf, use } from "../../../core/cluster-crypto/keyring.ts";
import { formatIp, parseIpv6 } from "../../../core/ip.ts";
import { open, seal } from "../../../core/cluster-crypto/seal.ts";
import { rng } from "./helpers.ts";

function token(seeds: JoinToken["seeds"] = [{ host: "10.0.0.1", port: 7946 }]): JoinToken {
  return { clusterId: rng(16), key: rng(32), seeds };
}

function parseOk(s: string): JoinToken {
  const r = parseJoinToken(s);
  if (!r.ok) throw new Error(r.error.message);
  return r.token;
}

function parseErr(s: string) {
  const r = parseJoinToken(s);
  if (r.ok) throw new Error("expected a parse error");
  return r.error;
}

describe("join token", () => {
  test("round trip with IPv4, IPv6 and hostname seeds", () => {
    const t = token([
      { host: "192.168.1.20", port: 7946 },
      { host: "fd00::1", port: 7947 },
      { host: "node-1.example.com", port: 1 },
    ]);
    const s = encodeJoinToken(t);
    expect(s).toMatch(/^fizz1[qpzry9x8gf2tvdw0s3jn54khce6mua7l]+$/);
    const back = parseOk(s);
    expect(Buffer.from(back.clusterId).equals(Buffer.from(t.clusterId))).toBe(true);
    expect(Buffer.from(back.key).equals(Buffer.from(t.key))).toBe(true);
    expect(back.seeds).toEqual(t.seeds);
    // whitespace from copy-paste and upper case (QR codes) are fine
    expect(parseOk(`  ${s.toUpperCase()}\n`).seeds).toEqual(t.seeds);
  });

  test("one IPv4 seed gives a compact token", () => {
    expect(encodeJoinToken(token()).length).toBeLessThanOrEqual(110);
  });

  test("any single changed character is detected as a checksum mismatch", () => {
    const s = encodeJoinToken(token());
    const charset = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
    for (let i = 5; i < s.length; i++) {
      const c = charset[(charset.indexOf(s[i]!) + 7) % 32]!;
      const e = parseErr(s.slice(0, i) + c + s.slice(i + 1));
      expect(e.code).toBe("checksum");
      expect(e.message).toBe("join token checksum mismatch: copy the whole token from `fizz init`");
    }
  });

  test("truncated token and dropped characters are detected", () => {
    const s = encodeJoinToken(token());
    expect(parseErr(s.slice(0, -1)).code).toBe("checksum");
    expect(parseErr(s.slice(0, 40)).code).toBe("checksum");
    expect(parseErr(s.slice(0, 20) + s.slice(21)).code).toBe("checksum");
  });

  test("precise errors for empty, foreign, mixed-case and bad characters", () => {
    const s = encodeJoinToken(token());
    expect(parseErr("").code).toBe("empty");
    expect(parseErr("SWMTKN-1-abc").code).toBe("wrong-prefix");
    expect(parseErr(s.slice(0, 10) + s.slice(10).toUpperCase()).code).toBe("mixed-case");
    const bad = parseErr(s.slice(0, 12) + "b" + s.slice(13));
    expect(bad.code).toBe("bad-character");
    expect(bad.message).toContain('"b" at position 13');
    expect(joinTokenErrorToFizz(bad).code).toBe("join_token.bad_character");
  });

  test("describe never prints the key", () => {
    const t = token();
    const d = describeJoinToken(t);
    expect(d).toContain("10.0.0.1:7946");
    expect(d).not.toContain(Buffer.from(t.key).toString("hex").slice(0, 8));
  });

  test("property: random strings never throw, and random fizz1 strings are rejected", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (s) => {
        const r = parseJoinToken(s);
        expect(r.ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
    fc.assert(
      fc.property(fc.array(fc.constantFrom(..."qpzry9x8gf2tvdw0s3jn54khce6mua7l"), { maxLength: 150 }), (cs) => {
        expect(parseJoinToken("fizz1" + cs.join("")).ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  test("property: round trip over random tokens", () => {
    const seed = fc.record({
      host: fc.oneof(fc.ipV4(), fc.ipV6().map((h) => formatIp(parseIpv6(h)!))),
      port: fc.integer({ min: 1, max: 65535 }),
    });
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.array(seed, { minLength: 1, maxLength: 8 }), (clusterId, key, seeds) => {
        const back = parseOk(encodeJoinToken({ clusterId, key, seeds }));
        expect(back.seeds).toEqual(seeds);
        expect(Buffer.from(back.key).equals(Buffer.from(key))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  test("IPv6 text forms", () => {
    expect(formatIp(parseIpv6("::1")!)).toBe("::1");
    expect(formatIp(parseIpv6("::")!)).toBe("::");
    expect(formatIp(parseIpv6("FD00:0:0:0:0:0:0:1")!)).toBe("fd00::1");
    expect(formatIp(parseIpv6("1:0:0:2:0:0:0:3")!)).toBe("1:0:0:2::3");
    expect(formatIp(parseIpv6("::ffff:1.2.3.4")!)).toBe("::ffff:1.2.3.4");
    expect(parseIpv6("1::2::3")).toBeUndefined();
    expect(parseIpv6("1:2:3:4:5:6:7:8:9")).toBeUndefined();
  });
});

describe("init / mint", () => {
  test("initCluster gives a token whose key opens what the keyring seals", () => {
    const c = initCluster(rng, [{ host: "127.0.0.1", port: 7946 }]);
    const t = parseOk(c.token);
    expect(Buffer.from(t.clusterId).equals(Buffer.from(c.clusterId))).toBe(true);
    const joiner = keyringFromToken(t);
    expect(open(joiner, "udp", seal(c.keyring, "udp", Uint8Array.of(1), rng)).ok).toBe(true);
    // After rotation the old token's key no longer matches the primary; a fresh token does.
    const k2 = rng(32);
    const i = install(c.keyring, k2);
    if (!i.ok) throw new Error();
    const u = use(i.keyring, keyIdOf(k2));
    if (!u.ok) throw new Error();
    const fresh = parseOk(mintJoinToken(c.clusterId, u.keyring, t.seeds));
    expect(keyringFromToken(fresh).primary).toBe(keyIdOf(k2));
    expect(keyringFromToken(t).primary).not.toBe(keyIdOf(k2));
  });
});
