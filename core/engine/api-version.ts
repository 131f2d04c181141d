/**
 * Docker Engine API version negotiation. The engine's /_ping answers with an
 * `Api-Version` header; we speak min(server, MAX_API_VERSION) and refuse
 * engines older than MIN_API_VERSION (the request and response shapes we
 * type are those of 1.41, Docker 20.10 and Podman 4's compat API).
 */

export const MIN_API_VERSION = "1.41";
export const MAX_API_VERSION = "1.45";

export type ApiVersionResult =
  | { readonly ok: true; readonly version: string }
  | { readonly ok: false; readonly reason: string };

function parse(v: string): [number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)$/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

export function compareApiVersions(a: string, b: string): number {
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) throw new Error(`not an API version: ${pa ? b : a}`);
  return pa[0] - pb[0] || pa[1] - pb[1];
}

/** Picks the version to speak given the server's `Api-Version` header (undefined when absent). */
export function negotiateApiVersion(server: string | undefined): ApiVersionResult {
  // Engines that do not send the header predate negotiation (API < 1.25).
  if (server === undefined || server === "") return { ok: false, reason: "the engine did not report an API version" };
  if (!parse(server)) return { ok: false, reason: `the engine reported an unreadable API version '${server}'` };
  if (compareApiVersions(server, MIN_API_VERSION) < 0) {
    return { ok: false, reason: `the engine speaks API ${server}; fizz needs ${MIN_API_VERSION} or newer (Docker 20.10+, Podman 4+)` };
  }
  const version = compareApiVersions(server, MAX_API_VERSION) > 0 ? MAX_API_VERSION : server.replace(/^v/, "");
  return { ok: true, version };
}
