/**
 * Request-target hygiene before routing. We accept only origin-form targets
 * (`/a/b?q`) and split the path into decoded segments, refusing anything that
 * could mean something different after decoding: `.`/`..` segments, encoded
 * slashes or backslashes, NUL and control bytes, bad percent-escapes, empty
 * segments. Refusing (400) is safer than normalising: a name can never smuggle
 * a path, and what the router matches is exactly what the client sent.
 */
import { httpError } from "./errors.ts";

export interface RequestTarget {
  /** Decoded path segments; `/v1/containers` → ["v1", "containers"]. */
  readonly segments: readonly string[];
  readonly query: URLSearchParams;
}

export const MAX_TARGET_LENGTH = 4096;

export function parseTarget(raw: string | undefined): RequestTarget {
  const bad = (why: string) => httpError(400, "api.bad_path", `bad request path: ${why}`);
  if (!raw || raw[0] !== "/") throw bad("it must start with '/'");
  if (raw.length > MAX_TARGET_LENGTH) throw httpError(414, "api.uri_too_long", `request target longer than ${MAX_TARGET_LENGTH} bytes`);
  const hash = raw.indexOf("#");
  if (hash >= 0) throw bad("fragments are not allowed");
  const q = raw.indexOf("?");
  const pathPart = q >= 0 ? raw.slice(0, q) : raw;
  const queryPart = q >= 0 ? raw.slice(q + 1) : "";
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) throw bad("control characters and backslashes are not allowed");
  if (pathPart === "/") return { segments: [], query: parseQuery(queryPart) };
  const rawSegments = pathPart.slice(1).split("/");
  // One trailing slash is tolerated (`/v1/containers/`); an empty segment anywhere else is not.
  if (rawSegments.length > 1 && rawSegments[rawSegments.length - 1] === "") rawSegments.pop();
  const segments: string[] = [];
  for (const seg of rawSegments) {
    if (seg === "") throw bad("empty path segment");
    let dec: string;
    try {
      dec = decodeURIComponent(seg);
    } catch {
      throw bad("invalid percent-encoding");
    }
    if (dec === "." || dec === ".." || seg === "." || seg === "..") throw bad("'.' and '..' segments are not allowed");
      if (/[/\\\u0000-\u001f\u007f]/.test(dec)) throw bad("encoded slashes, backslashes and control characters are not allowed");
    segments.push(dec);
  }
  return { segments, query: parseQuery(queryPart) };
}

function parseQuery(q: string): URLSearchParams {
  if (q === "") return new URLSearchParams();
  // URLSearchParams never throws; it maps bad escapes to U+FFFD. Check them ourselves.
  if (/%(?![0-9a-fA-F]{2})/.test(q)) throw httpError(400, "api.bad_query", "bad query string: invalid percent-encoding");
  try {
    for (const part of q.split("&")) decodeURIComponent(part.replace(/\+/g, " "));
  } catch {
    throw httpError(400, "api.bad_query", "bad query string: invalid UTF-8 in percent-encoding");
  }
  return new URLSearchParams(q);
}
