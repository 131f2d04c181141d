/**
 * Reading age files: binary or ASCII-armored, any recipient type the
 * age-encryption package supports (X25519, the post-quantum hybrid; not
 * scrypt passphrases: Fizz holds none). The package parses and authenticates
 * the header and unwraps the file key (`Decrypter.decryptHeader`); the payload
 * goes through age-stream.ts with an injected AEAD. Every failure comes back
 * as a typed value that says which part of the file is wrong.
 */
import { Decrypter, armor } from "age-encryption";
import { decryptChunks, describePayloadFailure, NONCE, payloadKey, type Aead, type PayloadFailure } from "./age-stream.ts";

const MAGIC = "age-encryption.org/";
const ARMOR_BEGIN = "-----BEGIN AGE ENCRYPTED FILE-----";
/** Headers are a few hundred bytes per recipient (post-quantum ones ~2 KB); this bounds the scan. */
const MAX_HEADER = 1 << 20;
/** 32 bytes in canonical unpadded base64: the last character carries 2 bits, so it is one of AEIMQUYcgkosw048. */
const MAC_LINE = /^--- [A-Za-z0-9+/]{42}[AEIMQUYcgkosw048]$/;

export type AgeFormat = "binary" | "armored";

/** What kind of age file `bytes` look like, by their first bytes; undefined when they are not one. */
export function ageFormatOf(bytes: Uint8Array): AgeFormat | undefined {
  let i = 0;
  while (i < bytes.length && i < 1024 && (bytes[i] === 0x20 || bytes[i] === 0x09 || bytes[i] === 0x0a || bytes[i] === 0x0d)) i++;
  const head = new TextDecoder().decode(bytes.subarray(i, i + ARMOR_BEGIN.length));
  // Any PEM-looking start is taken as armor, so a wrong or mangled armor line is named as such.
  if (head.toUpperCase().startsWith("-----BEGIN")) return "armored";
  if (i === 0 && head.startsWith(MAGIC)) return "binary";
  return undefined;
}

export type AgeFailureKind = "armor" | "header" | "no_match" | "hmac" | "payload";

export type AgeResult =
  | { readonly ok: true; readonly plaintext: Uint8Array }
  | {
      readonly ok: false;
      readonly kind: AgeFailureKind;
      readonly message: string;
      /** payload failures: the plaintext that verified before the failure */
      readonly released?: Uint8Array;
      readonly payload?: PayloadFailure;
    };

/** Where the header ends: after the line that starts with "--- " (the MAC line). */
export function headerLength(file: Uint8Array): number | undefined {
  const limit = Math.min(file.length, MAX_HEADER);
  for (let i = 0; i + 4 < limit; i++) {
    if (file[i] === 0x0a && file[i + 1] === 0x2d && file[i + 2] === 0x2d && file[i + 3] === 0x2d) {
      for (let j = i + 4; j < limit; j++) if (file[j] === 0x0a) return j + 1;
      return undefined;
    }
  }
  return undefined;
}

/** The recipient types named in a header's stanzas (`X25519`, `mlkem768x25519`, `scrypt`…), for messages. */
export function stanzaTypes(file: Uint8Array): string[] {
  const n = headerLength(file);
  if (n === undefined) return [];
  const lines = new TextDecoder().decode(file.subarray(0, n)).split("\n");
  return lines.filter((l) => l.startsWith("-> ")).map((l) => l.slice(3).split(" ")[0] ?? "?");
}

function classify(e: unknown): { kind: AgeFailureKind; message: string } {
  const m = e instanceof Error ? e.message : String(e);
  if (/no identity matched/i.test(m)) return { kind: "no_match", message: m };
  if (/invalid header HMAC/i.test(m)) return { kind: "hmac", message: "the header MAC does not verify: the header was changed after encryption" };
  return { kind: "header", message: `malformed age header: ${m}` };
}

/** Undoes the ASCII armor if there is one; binary files pass through. */
export function dearmor(file: Uint8Array, format = ageFormatOf(file)): { ok: true; binary: Uint8Array } | { ok: false; message: string } {
  if (format !== "armored") return { ok: true, binary: file };
  try {
    return { ok: true, binary: armor.decode(new TextDecoder("utf-8", { fatal: true }).decode(file)) };
  } catch (e) {
    return { ok: false, message: `malformed age armor: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/**
 * Decrypts an age file with the first of `identities` (AGE-SECRET-KEY-1…,
 * AGE-SECRET-KEY-PQ-1…) that matches one of its stanzas. `format` is found
 * from the first bytes unless given.
 */
export async function decryptAge(file: Uint8Array, identities: readonly string[], aead: Aead, format = ageFormatOf(file)): Promise<AgeResult> {
  const d = dearmor(file, format);
  if (!d.ok) return { ok: false, kind: "armor", message: d.message };
  const bin = d.binary;
  const n = headerLength(bin);
  if (n === undefined) {
    return { ok: false, kind: "header", message: ageFormatOf(bin) ? "malformed age header: no MAC line (truncated file?)" : "not an age file (it does not start with age-encryption.org/v1)" };
  }
  const mac = new TextDecoder().decode(bin.subarray(0, n)).split("\n").at(-2) ?? "";
  if (!MAC_LINE.test(mac)) return { ok: false, kind: "header", message: "malformed age header: the MAC line is not '--- ' and 43 characters of base64" };
  const dec = new Decrypter();
  for (const id of identities) dec.addIdentity(id);
  let fileKey: Uint8Array;
  try {
    fileKey = await dec.decryptHeader(bin.subarray(0, n));
  } catch (e) {
    const c = classify(e);
    if (c.kind === "no_match") {
      const types = stanzaTypes(bin);
      return { ok: false, kind: "no_match", message: `none of the keys this cluster holds can open it (it is encrypted to ${types.length ? types.join(", ") : "no"} recipient${types.length === 1 ? "" : "s"}, none of them this cluster's)` };
    }
    return { ok: false, ...c };
  }
  const payload = bin.subarray(n);
  // The reference implementation reads the nonce with the header: a short one is a bad header.
  if (payload.length < NONCE) return { ok: false, kind: "header", message: "the file ends before the payload's 16-byte nonce (truncated file)" };
  const p = decryptChunks(payloadKey(fileKey, payload.subarray(0, NONCE)), payload.subarray(NONCE), aead);
  if (p.ok) return p;
  return { ok: false, kind: "payload", message: describePayloadFailure(p), released: p.released, payload: p.reason };
}
