import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decryptSops, goFloat, isSopsDocument, parseKeyPath, rfc3339 } from "../../../core/secrets/sops.ts";
import { jsAead } from "../../../core/secrets/aead-js.ts";
import { identityFromScalar } from "../../../core/secrets/keys.ts";

/** The identity the fixtures' data keys were re-encrypted to (see test/fixtures/sops/README.md). */
const ID = "AGE-SECRET-KEY-1GFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPYYSJZGFPQ4EGAEX";
const OTHER = identityFromScalar(new Uint8Array(32).fill(9)).identity;
const fx = (f: string) => readFileSync(join(import.meta.dir, "../../fixtures/sops", f), "utf8");
const text = (r: Awaited<ReturnType<typeof decryptSops>>) => (r.ok ? new TextDecoder().decode(r.value) : `${r.kind}: ${r.message}`);

describe("SOPS files written by SOPS", () => {
  test("values by key path, nested and in lists, MAC verified", async () => {
    const y = fx("example.yaml");
    expect(isSopsDocument(y)).toBe(true);
    expect(text(await decryptSops(y, [ID], jsAead, ["app2", "db", "password"]))).toBe("c4r1b0u");
    expect(text(await decryptSops(y, [ID], jsAead, parseKeyPath('["myapp1"]')))).toBe("t00m4nys3cr3tzupdated");
    expect(text(await decryptSops(y, [ID], jsAead, parseKeyPath("an_array.1")))).toBe("secretuser2");
    expect(text(await decryptSops(y, [ID], jsAead, parseKeyPath('["somelist_unencrypted"][0]')))).toBe("all elements of this list");
    expect(text(await decryptSops(fx("example.json"), [ID], jsAead, ["address", "city"]))).not.toContain("ENC[");
    expect(text(await decryptSops(fx("example.json"), [ID], jsAead, ["age"])).length).toBeGreaterThan(0);
  });

  test("the whole file, decrypted and without metadata; a binary file gives its bytes", async () => {
    const all = text(await decryptSops(fx("example.yaml"), [ID], jsAead));
    expect(all).toContain("password: c4r1b0u");
    expect(all).not.toContain("ENC[");
    expect(all).not.toContain("sops:");
    expect(all).not.toContain("#");
    const bin = text(await decryptSops(fx("example-binary.json"), [ID], jsAead));
    expect(bin.length).toBeGreaterThan(10);
    expect(bin).not.toContain("ENC[");
    expect(text(await decryptSops(fx("comments.yaml"), [ID], jsAead, ["lorem"]))).toBe("ipsum");
    expect(text(await decryptSops(fx("format.json"), [ID], jsAead, ["foo"]))).not.toContain("ENC[");
  });

  test("a tampered value, a tampered MAC and a wrong key are each named", async () => {
    const y = fx("example.yaml");
    // moving a ciphertext to another key fails its associated data
    const lines = y.split("\n");
    const user = lines.findIndex((l) => l.includes("user: ENC["));
    const pw = lines.findIndex((l) => l.includes("password: ENC["));
    const swapped = [...lines];
    swapped[user] = lines[user]!.replace(/ENC\[.*\]/, /ENC\[.*\]/.exec(lines[pw]!)![0]);
    const r1 = await decryptSops(swapped.join("\n"), [ID], jsAead, ["app2", "db", "user"]);
    expect(r1.ok ? "" : `${r1.kind} line ${r1.line}`).toBe(`value line ${user + 1}`);
    // an unencrypted value edited: only the MAC notices
    const edited = y.replace("remain in clear text", "remain in plain text");
    const r2 = await decryptSops(edited, [ID], jsAead, ["myapp1"]);
    expect(r2.ok ? "" : r2.kind).toBe("mac");
    expect(r2.ok ? "" : r2.message).toContain("MAC mismatch");
    const macLine = lines.findIndex((l) => l.includes("mac: ENC[")) + 1;
    expect(r2.ok ? 0 : r2.line).toBe(macLine);
    // a value removed: MAC
    const removed = lines.filter((_, i) => i !== user).join("\n");
    expect((await decryptSops(removed, [ID], jsAead, ["myapp1"])).ok).toBe(false);
    const r3 = await decryptSops(y, [OTHER], jsAead, ["myapp1"]);
    expect(r3.ok ? "" : r3.kind).toBe("no_key");
    expect(r3.ok ? "" : r3.message).toContain("age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj");
    const r4 = await decryptSops(y, [ID], jsAead, ["app2", "db"]);
    expect(text(r4)).toBe('key_path: ["app2"]["db"] is a mapping or list, not a value; name a value inside it');
    expect(text(await decryptSops(y, [ID], jsAead, ["nope"]))).toBe('key_path: the file has no value at ["nope"]');
  });

  test("not SOPS, bad YAML", async () => {
    expect(isSopsDocument("a: 1\n")).toBe(false);
    const r = await decryptSops("a: [1\n", [ID], jsAead);
    expect(r.ok ? "" : r.kind).toBe("format");
  });

  test("Go's spellings", () => {
    expect([1e21, 1.5e-7, 0.1, 100, -2.5e-3].map(goFloat)).toEqual(["1000000000000000000000", "0.00000015", "0.1", "100", "-0.0025"]);
    expect(rfc3339("2020-10-07T15:49:13.123+00:00")).toBe("2020-10-07T15:49:13Z");
    expect(rfc3339("2020-10-07T15:49:13+02:00")).toBe("2020-10-07T15:49:13+02:00");
    expect(parseKeyPath('["a.b"][2]["c"]')).toEqual(["a.b", 2, "c"]);
  });
});
