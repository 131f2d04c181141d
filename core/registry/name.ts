/**
 * Repository names and tags as the distribution spec defines them, checked
 * before anything touches the disk. A name is path components of lower-case
 * alphanumerics joined by `.`, `_`, `__` or `-`, separated by `/`; so `..`,
 * `.`, empty components, leading or trailing separators and every byte that
 * means something to a file system are refused (CVE-2024-3727-like names
 * never reach a path). Names are capped at 255 characters like every major
 * client does; tags follow `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
 */
import { LIMITS, limitMessage } from "../limits.ts";
import { isDigest, parseDigest, type Digest } from "./digest.ts";
import { regErr } from "./errors.ts";

/** The spec's name grammar, one component. */
const COMPONENT_RE = /^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$/;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

export const MAX_NAME_CHARS = LIMITS.repositoryNameChars.max;

declare const nameBrand: unique symbol;
/** A validated repository name. */
export type RepoName = string & { readonly [nameBrand]: true };

declare const tagBrand: unique symbol;
export type Tag = string & { readonly [tagBrand]: true };

export type Reference = { readonly kind: "tag"; readonly tag: Tag } | { readonly kind: "digest"; readonly digest: Digest };

function shown(s: string): string {
  return s.length > 80 ? `${s.slice(0, 80)}… (${s.length} characters)` : s;
}

export function isRepoName(s: string): s is RepoName {
  if (s.length === 0 || s.length > MAX_NAME_CHARS) return false;
  return s.split("/").every((c) => COMPONENT_RE.test(c));
}

export function parseRepoName(s: string): RepoName {
  if (isRepoName(s)) return s;
  if (s.length > MAX_NAME_CHARS) throw regErr("NAME_INVALID", limitMessage("repositoryNameChars", "the repository name", s.length), { name: shown(s) });
  const bad = s.split("/").find((c) => !COMPONENT_RE.test(c));
  const why =
    bad === undefined || bad === ""
      ? "has an empty path component"
      : /[A-Z]/.test(bad)
        ? `has upper case in '${shown(bad)}' (names are lower case)`
        : `has the component '${shown(bad)}', which is not lower-case letters and digits joined by '.', '_', '__' or '-'`;
  throw regErr("NAME_INVALID", `invalid repository name '${shown(s)}': it ${why}`, { name: shown(s) });
}

export function isTag(s: string): s is Tag {
  return TAG_RE.test(s);
}

export function parseTag(s: string): Tag {
  if (TAG_RE.test(s)) return s as Tag;
  throw regErr("TAG_INVALID", `invalid tag '${shown(s)}': a tag is up to 128 characters of letters, digits, '_', '.' and '-', not starting with '.' or '-'`, { tag: shown(s) });
}

/** `<reference>` in `/v2/<name>/manifests/<reference>`: a digest or a tag, nothing else. */
export function parseReference(s: string): Reference {
  if (isDigest(s)) return { kind: "digest", digest: s };
  if (s.includes(":")) return { kind: "digest", digest: parseDigest(s, "manifest reference") };
  return { kind: "tag", tag: parseTag(s) };
}

export function referenceString(r: Reference): string {
  return r.kind === "tag" ? r.tag : r.digest;
}
