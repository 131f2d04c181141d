/**
 * The C2SP/CCTV age test vectors (npm cctv-age), through Fizz's age reader
 * (core/secrets/age.ts: the age-encryption header code, Fizz's STREAM with
 * both the JavaScript and the native AEAD). Every vector whose keys Fizz can
 * hold runs: X25519 and the post-quantum hybrid. A cluster holds no
 * passphrases, so each scrypt (passphrase) vector must be refused with a
 * typed failure that names scrypt, whatever a passphrase holder would see.
 */
import { describe, expect, test } from "bun:test";
import { inflateSync } from "node:zlib";
import { createHash } from "node:crypto";
import * as vectors from "cctv-age";
import { decryptAge, type AgeFailureKind } from "../../../core/secrets/age.ts";
import { jsAead } from "../../../core/secrets/aead-js.ts";
import { loadNativeAead } from "../../../platform/secrets/aead.ts";

interface Vector {
  name: string;
  expect: string;
  payload?: string;
  identities: string[];
  passphrases: string[];
  armored: boolean;
  file: Uint8Array;
}

function parse(name: string, raw: Uint8Array): Vector {
  let i = 0;
  const v: Vector = { name, expect: "", identities: [], passphrases: [], armored: false, file: new Uint8Array() };
  let compressed = false;
  for (;;) {
    const nl = raw.indexOf(0x0a, i);
    const line = new TextDecoder().decode(raw.subarray(i, nl));
    i = nl + 1;
    if (line === "") break;
    const sep = line.indexOf(": ");
    const k = line.slice(0, sep);
    const val = line.slice(sep + 2);
    if (k === "expect") v.expect = val;
    else if (k === "payload") v.payload = val;
    else if (k === "identity") v.identities.push(val);
    else if (k === "passphrase") v.passphrases.push(val);
    else if (k === "armored") v.armored = val === "yes";
    else if (k === "compressed") compressed = val === "zlib";
  }
  const body = raw.subarray(i);
  v.file = compressed ? new Uint8Array(inflateSync(body)) : body;
  return v;
}

const EXPECT: Record<string, AgeFailureKind | "success"> = {
  success: "success",
  "no match": "no_match",
  "HMAC failure": "hmac",
  "header failure": "header",
  "payload failure": "payload",
  "armor failure": "armor",
};

const all = Object.entries(vectors as unknown as Record<string, Uint8Array>)
  .filter(([, b]) => b instanceof Uint8Array)
  .map(([n, b]) => parse(n, b));
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

for (const [aeadName, aead] of [["javascript", jsAead], ["native", await loadNativeAead()]] as const) {
  describe(`C2SP age vectors (${aeadName} AEAD: ${aead.name})`, () => {
    test("the package ships vectors of every kind", () => {
      expect(all.length).toBeGreaterThan(100);
      expect(new Set(all.map((v) => v.expect))).toEqual(new Set(Object.keys(EXPECT)));
    });
    for (const v of all) {
      if (v.passphrases.length > 0) {
        // A cluster holds no passphrases: whatever the vector expects of a
        // passphrase holder, Fizz must refuse the file with a typed failure
        // that says why (it is for a scrypt recipient), never open or throw.
        test(`${v.name}: refused, a cluster holds no passphrase`, async () => {
          const r = await decryptAge(v.file, v.identities, aead, v.armored ? "armored" : "binary");
          expect(r.ok).toBe(false);
          if (r.ok) return;
          expect(["no_match", "header"]).toContain(r.kind);
          if (r.kind === "no_match") expect(r.message.toLowerCase()).toContain("scrypt");
        });
        continue;
      }
      test(v.name, async () => {
        const want = EXPECT[v.expect];
        expect(want).toBeDefined();
        const r = await decryptAge(v.file, v.identities, aead, v.armored ? "armored" : "binary");
        if (want === "success") {
          if (!r.ok) throw new Error(`${v.name}: ${r.kind}: ${r.message}`);
          expect(sha(r.plaintext)).toBe(v.payload!);
          return;
        }
        expect(r.ok).toBe(false);
        if (r.ok) return;
        expect(`${v.name}: ${r.kind}`).toBe(`${v.name}: ${want}`);
        if (want === "payload") expect(sha(r.released ?? new Uint8Array())).toBe(v.payload!);
      });
    }
  });
}
