/**
 * Content digests (OCI image-spec "Digests"): `algorithm:encoded`. Only the
 * registered algorithms with their exact lengths are accepted (sha256: 64 and
 * sha512: 128 lower-case hex), so a parsed digest can be used in a file path
 * as is: no `/`, `..`, upper case or other byte can get through (the
 * CVE-2024-3727 class of bug, where a crafted digest walked out of the blob
 * directory, cannot happen here).
 */
import { regErr } from "./errors.ts";

export const DIGEST_ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;

declare const digestBrand: unique symbol;
/** A validated digest string, e.g. `sha256:e3b0…`. */
export type Digest = string & { readonly [digestBrand]: true };

const DIGEST_RE = /^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export function isDigest(s: unknown): s is Digest {
  return typeof s === "string" && DIGEST_RE.test(s);
}

/**
 * Validates a digest from a request (path, `?digest=`, `?mount=`, a
 * descriptor). Unknown algorithms are `UNSUPPORTED`, anything else malformed
 * is `DIGEST_INVALID`; both name the value (shortened).
 */
export function parseDigest(s: string, where = "digest"): Digest {
  if (DIGEST_RE.test(s)) return s as Digest;
  const shown = s.length > 80 ? `${s.slice(0, 80)}… (${s.length} characters)` : s;
  const colon = s.indexOf(":");
  const alg = colon > 0 ? s.slice(0, colon) : "";
  if (/^[a-z0-9]+([+._-][a-z0-9]+)*$/.test(alg) && !(alg in DIGEST_ALGORITHMS)) {
    throw regErr("UNSUPPORTED", `${where} '${shown}' uses the digest algorithm '${alg}'; this registry supports sha256 and sha512`, { digest: shown });
  }
  throw regErr("DIGEST_INVALID", `${where} '${shown}' is not a valid digest (expected sha256: and 64 lower-case hex digits, or sha512: and 128)`, { digest: shown });
}

export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(":")) as DigestAlgorithm;
}

export function digestHex(d: Digest): string {
  return d.slice(d.indexOf(":") + 1);
}

/** `sha256:abcd…` → `sha256/ab/abcd…`: a relative path inside a blob directory (two-level fan-out). */
export function digestRelPath(d: Digest): string {
  const hex = digestHex(d);
  return `${digestAlgorithm(d)}/${hex.slice(0, 2)}/${hex}`;
}

/** The referrers fallback tag for a subject digest (`sha256-<hex, first 64>`), spec "Referrers Tag Schema". */
export function referrersTag(d: Digest): string {
  return `${digestAlgorithm(d)}-${digestHex(d).slice(0, 64)}`;
}

/** Short form for humans: `sha256:e3b0c442`. */
export function shortDigest(d: string): string {
  const i = d.indexOf(":");
  return i < 0 ? d.slice(0, 12) : d.slice(0, i + 13);
}
