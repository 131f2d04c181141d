/**
 * The distribution API's endpoints (spec "Endpoints" end-1 … end-13) as a
 * parse of the request path into a typed route. The raw path is parsed, not
 * a percent-decoded one: names, tags and digests have no character that
 * needs escaping, so `%2e%2e` or `%2f` simply fail the name grammar and
 * never become `..` or `/`. The name is everything before the last endpoint
 * keyword, as distribution's router takes it.
 */
import { parseDigest, type Digest } from "./digest.ts";
import { regErr } from "./errors.ts";
import { parseReference, parseRepoName, type Reference, type RepoName } from "./name.ts";
import { isSessionId } from "./upload.ts";

export type Route =
  | { readonly kind: "base" }
  | { readonly kind: "catalog" }
  | { readonly kind: "tags"; readonly name: RepoName }
  | { readonly kind: "manifest"; readonly name: RepoName; readonly reference: Reference }
  | { readonly kind: "blob"; readonly name: RepoName; readonly digest: Digest }
  | { readonly kind: "uploads"; readonly name: RepoName }
  | { readonly kind: "upload"; readonly name: RepoName; readonly session: string }
  | { readonly kind: "referrers"; readonly name: RepoName; readonly digest: Digest };

export type RouteKind = Route["kind"];

/** Methods each endpoint answers; anything else is 405 UNSUPPORTED. */
export const ROUTE_METHODS: Readonly<Record<RouteKind, readonly string[]>> = {
  base: ["GET", "HEAD"],
  catalog: ["GET"],
  tags: ["GET"],
  manifest: ["GET", "HEAD", "PUT", "DELETE"],
  blob: ["GET", "HEAD", "DELETE"],
  uploads: ["POST"],
  upload: ["GET", "PATCH", "PUT", "DELETE"],
  referrers: ["GET"],
};

const UPLOAD_RE = /^\/v2\/(.+)\/blobs\/uploads\/?([^/]*)$/;
const ITEM_RE = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/;
const TAGS_RE = /^\/v2\/(.+)\/tags\/list$/;

/** Bounds the work on absurd paths before any regex runs (names are at most 255 characters). */
const MAX_PATH = 1024;

/**
 * The route for a raw request path (no query string). Returns undefined for
 * paths that are no registry endpoint (404); throws a RegistryError for an
 * endpoint with a bad name, digest, tag or session id.
 */
export function parseRoute(path: string): Route | undefined {
  if (path === "/v2" || path === "/v2/") return { kind: "base" };
  if (!path.startsWith("/v2/") || path.length > MAX_PATH) return undefined;
  if (path === "/v2/_catalog") return { kind: "catalog" };
  let m = TAGS_RE.exec(path);
  if (m) return { kind: "tags", name: parseRepoName(m[1]!) };
  m = UPLOAD_RE.exec(path);
  if (m) {
    const name = parseRepoName(m[1]!);
    const session = m[2]!;
    if (session === "") return { kind: "uploads", name };
    if (!isSessionId(session)) throw regErr("BLOB_UPLOAD_UNKNOWN", `'${session.slice(0, 80)}' is not an upload session of this registry`);
    return { kind: "upload", name, session };
  }
  m = ITEM_RE.exec(path);
  if (!m) return undefined;
  const name = parseRepoName(m[1]!);
  const what = m[2]!;
  const ref = m[3]!;
  if (what === "manifests") return { kind: "manifest", name, reference: parseReference(ref) };
  if (what === "blobs") return { kind: "blob", name, digest: parseDigest(ref) };
  return { kind: "referrers", name, digest: parseDigest(ref, "subject digest") };
}
