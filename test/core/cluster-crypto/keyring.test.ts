import { describe, expect, test } from "bun:test";
import { createKeyring, install, keyIdOf, keyringErrorToFizz, keyringFromJSON, keyringToJSON, MAX_KEYS, remove, use } from "../../../core/cluster-crypto/keyring.ts";
import { key, must, ring } from "./helpers.ts";

describe("keyring", () => {
  test("a new keyring has its only key as primary, id is 8 hex chars", () => {
    const r = ring(key(1));
    expect(r.keys.length).toBe(1);
    expect(r.primary).toMatch(/^[0-9a-f]{8}$/);
    expect(r.primary).toBe(keyIdOf(key(1)));
    expect(keyIdOf(key(1))).not.toBe(keyIdOf(key(2)));
  });

  test("rejects keys that are not 32 bytes", () => {
    const r = createKeyring(new Uint8Array(16));
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe("bad-key-length");
      expect(r.error.message).toContain("got 16 bytes");
    }
  });

  test("install, use, remove; values are immutable", () => {
    const r1 = ring(key(1));
    const r2 = must(install(r1, key(2)));
    expect(r1.keys.length).toBe(1);
    expect(r2.keys.length).toBe(2);
    expect(r2.primary).toBe(keyIdOf(key(1)));
    expect(must(install(r2, key(2)))).toBe(r2); // idempotent
    const r3 = must(use(r2, keyIdOf(key(2)).toUpperCase()));
    expect(r3.primary).toBe(keyIdOf(key(2)));
    const r4 = must(remove(r3, keyIdOf(key(1))));
    expect(r4.keys.map((k) => k.id)).toEqual([keyIdOf(key(2))]);
  });

  test("cannot remove the primary key, with a typed error", () => {
    const r = must(install(ring(key(1)), key(2)));
    const res = remove(r, r.primary);
    expect(res.ok).toBe(false);
    if (!res.ok) {
      expect(res.error.code).toBe("remove-primary");
      const fe = keyringErrorToFizz(res.error);
      expect(fe.code).toBe("keyring.remove_primary");
      expect(fe.hint).toContain("use");
    }
  });

  test("use/remove of an unknown id lists installed ids", () => {
    const r = ring(key(1));
    for (const res of [use(r, "deadbeef"), remove(r, "deadbeef")]) {
      expect(res.ok).toBe(false);
      if (!res.ok) {
        expect(res.error.code).toBe("unknown-key");
        expect(res.error.message).toContain(r.primary);
      }
    }
  });

  test("keyring is bounded", () => {
    let r = ring(key(0));
    for (let i = 1; i < MAX_KEYS; i++) r = must(install(r, key(i)));
    const res = install(r, key(200));
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error.code).toBe("keyring-full");
  });
});

describe("keyring storage form", () => {
  test("round trip keeps keys, order and primary", () => {
    const r = must(use(must(install(ring(key(1)), key(2))), keyIdOf(key(2))));
    const back = keyringFromJSON(JSON.parse(JSON.stringify(keyringToJSON(r))));
    expect(back.ok).toBe(true);
    if (back.ok) {
      expect(back.keyring.primary).toBe(r.primary);
      expect(back.keyring.keys.map((k) => k.id)).toEqual(r.keys.map((k) => k.id));
    }
  });

  test("damaged input gets a precise error, never a throw", () => {
    const good = keyringToJSON(ring(key(1)));
    const cases: [unknown, string][] = [
      [null, "expected an object"],
      [{ keys: good.keys }, "`primary`"],
      [{ primary: good.primary, keys: [] }, "non-empty"],
      [{ primary: good.primary, keys: ["!!!"] }, "keys[0] is not base64url"],
      [{ primary: good.primary, keys: ["AAAA"] }, "keys[0]: a cluster key is 32 bytes"],
      [{ primary: "deadbeef", keys: good.keys }, "primary \"deadbeef\""],
    ];
    for (const [input, msg] of cases) {
      const r = keyringFromJSON(input);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.message).toContain(msg);
    }
  });
});
