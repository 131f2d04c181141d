import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { HlcClock } from "../../../core/crdt/index.ts";
import {
  acmeCertKey,
  applyDelta,
  challengeAnswer,
  decodeDelta,
  decodeState,
  deleteIngressRecord,
  drainKey,
  drainMarks,
  emptyState,
  encodeDelta,
  encodeState,
  getIngressRecord,
  listIngressRecords,
  parseIngressKey,
  putIngressRecord,
  tokenKey,
  userCertKey,
  type IngressRecord,
} from "../../../core/state/index.ts";

const SEALED = { kid: "0a1b2c3d", box: "AAAA" };
const CERT: IngressRecord = { kind: "cert", names: ["shop.test"], chain: "-----BEGIN CERTIFICATE-----\n…", key: SEALED, notBefore: 1, notAfter: 2, by: "nodea", directory: "https://ca/dir" };

describe("the ingress collection", () => {
  test("drain marks, certificates and tokens, merged from two nodes and through the wire", () => {
    const a = new HlcClock("nodea", 60_000);
    const b = new HlcClock("nodeb", 60_000);
    let s = emptyState();
    s = putIngressRecord(s, a.now(1), drainKey("shop", "web", 0, "nodea"), { kind: "drain", container: "c1", since: 5 }).state;
    s = putIngressRecord(s, b.now(2), acmeCertKey("shop.test"), CERT).state;
    s = putIngressRecord(s, b.now(3), tokenKey("tok_1-A"), { kind: "token", domain: "shop.test", keyAuthorization: "tok_1-A.thumb", expires: 100 }).state;
    expect(drainMarks(s).get("shop/web/0/nodea")).toEqual({ kind: "drain", container: "c1", since: 5 });
    expect(challengeAnswer(s, "tok_1-A", 50)).toBe("tok_1-A.thumb");
    expect(challengeAnswer(s, "tok_1-A", 100)).toBeUndefined(); // expired
    expect(challengeAnswer(s, "../x", 50)).toBeUndefined();
    const back = decodeState(encodeState(s));
    expect(back.ok && getIngressRecord(back.value, acmeCertKey("shop.test"))).toEqual(CERT);
    s = deleteIngressRecord(s, a.now(4), drainKey("shop", "web", 0, "nodea")).state;
    expect(drainMarks(s).size).toBe(0);
    expect(listIngressRecords(s, "acme/").map(([k]) => k)).toEqual(["acme/shop.test"]);
  });

  test("keys and values are validated; a record under another kind's key is refused", () => {
    const clock = new HlcClock("nodea", 60_000);
    const good = putIngressRecord(emptyState(), clock.now(1), userCertKey("mine"), CERT).delta;
    expect(decodeDelta(encodeDelta(good)).ok).toBe(true);
    const text = new TextDecoder().decode(encodeDelta(good));
    for (const bad of ["user/../x", "acme/*.wild.test", "acme/UPPER.test", "token/a b", "drain/shop/web/x/nodea", "nope/x", "account/xyz"]) {
      expect(decodeDelta(text.replace("user/mine", bad)).ok).toBe(false);
      expect(parseIngressKey(bad)).toBeUndefined();
    }
    // A certificate under a token key is forged.
    expect(decodeDelta(text.replace("user/mine", "token/abc")).ok).toBe(false);
    expect(decodeDelta(text.replace('"kid":"0a1b2c3d"', '"kid":"x y"')).ok).toBe(false);
    expect(decodeDelta(text.replace('"names":["shop.test"]', '"names":["not a name"]')).ok).toBe(false);
  });

  test("any decoded delta is a valid collection or an error, never a throw", () => {
    const clock = new HlcClock("nodea", 60_000);
    const base = new TextDecoder().decode(encodeDelta(putIngressRecord(emptyState(), clock.now(1), tokenKey("t"), { kind: "token", domain: "a.test", keyAuthorization: "k", expires: 1 }).delta));
    fc.assert(
      fc.property(fc.nat(base.length), fc.string({ maxLength: 8 }), (at, ins) => {
        const r = decodeDelta(base.slice(0, at) + ins + base.slice(at));
        expect(typeof r.ok).toBe("boolean");
      }),
      { numRuns: 300 },
    );
  });

  test("a delta joins like the rest of the state (idempotent)", () => {
    const clock = new HlcClock("nodea", 60_000);
    const c = putIngressRecord(emptyState(), clock.now(1), acmeCertKey("shop.test"), CERT);
    const once = applyDelta(emptyState(), c.delta);
    expect(encodeState(applyDelta(once, c.delta))).toEqual(encodeState(once));
  });
});
