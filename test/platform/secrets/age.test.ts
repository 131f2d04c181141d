/**
 * age files written by Fizz (platform/secrets/age-encrypt.ts) and read by
 * Fizz (core/secrets/age.ts), and interop with Debian's `age` both ways.
 */
import { describe, expect, test, beforeAll, afterAll } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { generateX25519Identity, identityToRecipient } from "age-encryption";
import { decryptAge, ageFormatOf } from "../../../core/secrets/age.ts";
import { jsAead } from "../../../core/secrets/aead-js.ts";
import { CHUNK } from "../../../core/secrets/age-stream.ts";
import { encryptAge } from "../../../platform/secrets/age-encrypt.ts";
import { loadNativeAead } from "../../../platform/secrets/aead.ts";
import { peerTool } from "../../support/debian-peer.ts";

const native = await loadNativeAead();
const SIZES = [0, 1, 100, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK, 3 * CHUNK + 17];

describe("age round trip", () => {
  for (const size of SIZES) {
    test(`${size} bytes, binary and armored, native and JavaScript AEAD agree`, async () => {
      const id = await generateX25519Identity();
      const r = await identityToRecipient(id);
      const pt = Uint8Array.from(randomBytes(size));
      for (const armor of [false, true]) {
        const c = await encryptAge(pt, [r], { armor, aead: native });
        expect(ageFormatOf(c)).toBe(armor ? "armored" : "binary");
        for (const aead of [native, jsAead]) {
          const d = await decryptAge(c, [id], aead);
          if (!d.ok) throw new Error(d.message);
          expect(Buffer.from(d.plaintext).equals(Buffer.from(pt))).toBe(true);
        }
      }
    });
  }

  test("several recipients: each identity opens it; another does not, and says so", async () => {
    const ids = await Promise.all([generateX25519Identity(), generateX25519Identity()]);
    const c = await encryptAge(new TextEncoder().encode("s3cret"), await Promise.all(ids.map((i) => identityToRecipient(i))));
    for (const id of ids) expect((await decryptAge(c, [id], native)).ok).toBe(true);
    const other = await decryptAge(c, [await generateX25519Identity()], native);
    expect(other.ok).toBe(false);
    if (!other.ok) {
      expect(other.kind).toBe("no_match");
      expect(other.message).toContain("X25519, X25519");
    }
  });

  test("a flipped payload byte is named as corrupt, a flipped header byte as a bad header MAC", async () => {
    const id = await generateX25519Identity();
    const c = await encryptAge(Uint8Array.from(randomBytes(3 * CHUNK)), [await identityToRecipient(id)]);
    const bad = Uint8Array.from(c);
    bad[bad.length - 100]! ^= 1;
    const d = await decryptAge(bad, [id], native);
    expect(d.ok ? "ok" : `${d.kind}: ${d.message}`).toBe("payload: chunk 3 does not authenticate (corrupt, truncated or tampered ciphertext)");
    const truncated = await decryptAge(c.subarray(0, c.length - CHUNK), [id], native);
    expect(truncated.ok ? "ok" : truncated.kind).toBe("payload");
    const mac = Uint8Array.from(c);
    const at = new TextDecoder().decode(c.subarray(0, 2000)).indexOf("\n--- ") + 6;
    mac[at] = mac[at] === 0x41 ? 0x42 : 0x41;
    const h = await decryptAge(mac, [id], native);
    expect(h.ok ? "ok" : h.kind).toBe("hmac");
  });
});

const age = peerTool("age");
const keygen = peerTool("age-keygen");

describe.skipIf(!age || !keygen)("interop with Debian's age", () => {
  let dir = "";
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "fizz-age-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  for (const size of [0, 5, CHUNK, 5 * CHUNK + 3]) {
    test(`${size} bytes: age -d opens what Fizz writes, Fizz opens what age writes (binary and -a)`, async () => {
      const key = join(dir, `key-${size}`);
      expect(spawnSync(keygen!, ["-o", key]).status).toBe(0);
      const identity = readFileSync(key, "utf8").split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-1"))!;
      const recipient = spawnSync(keygen!, ["-y", key], { encoding: "utf8" }).stdout.trim();
      expect(recipient).toBe(await identityToRecipient(identity));
      const pt = Uint8Array.from(randomBytes(size));
      for (const armor of [false, true]) {
        const mine = join(dir, `fizz-${size}-${armor}.age`);
        writeFileSync(mine, await encryptAge(pt, [recipient], { armor }));
        const out = spawnSync(age!, ["-d", "-i", key, mine]);
        expect(out.stderr.toString()).toBe("");
        expect(Buffer.from(out.stdout).equals(Buffer.from(pt))).toBe(true);

        const plain = join(dir, `plain-${size}`);
        writeFileSync(plain, pt);
        const theirs = join(dir, `age-${size}-${armor}.age`);
        expect(spawnSync(age!, ["-r", recipient, ...(armor ? ["-a"] : []), "-o", theirs, plain]).status).toBe(0);
        const d = await decryptAge(readFileSync(theirs), [identity], native);
        if (!d.ok) throw new Error(d.message);
        expect(Buffer.from(d.plaintext).equals(Buffer.from(pt))).toBe(true);
      }
    });
  }
});
