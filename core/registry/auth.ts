/**
 * Talking to upstream registries' auth, without I/O: the `WWW-Authenticate`
 * challenge (RFC 7235 auth-params, Bearer per the Docker token spec, or
 * Basic), the token request URL for a scope, the token response, and the
 * credentials for a host from a docker `config.json` (`auths` entries keyed
 * by host or by URL, Docker Hub's legacy `https://index.docker.io/v1/` key,
 * and which credential helper applies when one is configured).
 */

export type Challenge =
  | { readonly scheme: "bearer"; readonly realm: string; readonly service?: string; readonly scope?: string }
  | { readonly scheme: "basic"; readonly realm?: string };

/** Parses the first Bearer or Basic challenge of a `WWW-Authenticate` header. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header);
  if (!m) return undefined;
  const scheme = m[1]!.toLowerCase();
  const params: Record<string, string> = {};
  const re = /\s*([A-Za-z0-9_-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))\s*,?/gy;
  const rest = m[2]!;
  re.lastIndex = 0;
  let p: RegExpExecArray | null;
  while (re.lastIndex < rest.length && (p = re.exec(rest)) !== null) {
    params[p[1]!.toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, "$1") : p[3]!;
    if (p[0] === "") break;
  }
  if (scheme === "bearer") {
    if (!params.realm) return undefined;
    return { scheme, realm: params.realm, ...(params.service ? { service: params.service } : {}), ...(params.scope ? { scope: params.scope } : {}) };
  }
  if (scheme === "basic") return { scheme, ...(params.realm ? { realm: params.realm } : {}) };
  return undefined;
}

/** The token endpoint URL for a pull of `repo` (scope `repository:<repo>:pull`). */
export function tokenUrl(c: Challenge & { scheme: "bearer" }, repo: string): string {
  const u = new URL(c.realm);
  if (c.service) u.searchParams.set("service", c.service);
  u.searchParams.set("scope", `repository:${repo}:pull`);
  return u.toString();
}

export interface Token {
  readonly token: string;
  /** Seconds; the Docker token spec's default is 60. */
  readonly expiresIn: number;
}

export function parseTokenResponse(body: unknown): Token | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const o = body as Record<string, unknown>;
  const token = typeof o.token === "string" && o.token ? o.token : typeof o.access_token === "string" && o.access_token ? o.access_token : undefined;
  if (!token) return undefined;
  const e = typeof o.expires_in === "number" && o.expires_in > 0 ? o.expires_in : 60;
  return { token, expiresIn: e };
}

export type Credentials =
  | { readonly kind: "basic"; readonly username: string; readonly password: string }
  /** An OAuth refresh token from `docker login` with an identity provider. */
  | { readonly kind: "identity-token"; readonly username: string; readonly token: string }
  /** Credentials live in a helper (`docker-credential-<helper> get`); the platform runs it. */
  | { readonly kind: "helper"; readonly helper: string };

/** `https://index.docker.io/v1/` → `docker.io`, `https://ghcr.io/` → `ghcr.io`. */
export function configKeyHost(key: string): string {
  const h = key
    .replace(/^[a-z]+:\/\//i, "")
    .replace(/\/.*$/, "")
    .toLowerCase();
  return h === "index.docker.io" || h === "registry-1.docker.io" ? "docker.io" : h;
}

function decodeBase64(s: string): string | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s)) return undefined;
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(Uint8Array.from(atob(s), (c) => c.charCodeAt(0)));
  } catch {
    return undefined;
  }
}

/**
 * The credentials docker would use for `host` (as written in image names,
 * `docker.io` for Docker Hub) from a parsed config.json. A per-registry
 * credential helper wins over `auths`, which wins over the default
 * `credsStore` (docker's order).
 */
export function credentialsFor(config: unknown, host: string): Credentials | undefined {
  if (typeof config !== "object" || config === null) return undefined;
  const c = config as Record<string, unknown>;
  const want = configKeyHost(host);
  const helpers = c.credHelpers;
  if (typeof helpers === "object" && helpers !== null) {
    for (const [k, v] of Object.entries(helpers as Record<string, unknown>)) {
      if (configKeyHost(k) === want && typeof v === "string" && /^[A-Za-z0-9._-]+$/.test(v)) return { kind: "helper", helper: v };
    }
  }
  const auths = c.auths;
  if (typeof auths === "object" && auths !== null) {
    for (const [k, v] of Object.entries(auths as Record<string, unknown>)) {
      if (configKeyHost(k) !== want || typeof v !== "object" || v === null) continue;
      const e = v as Record<string, unknown>;
      const decoded = typeof e.auth === "string" && e.auth ? decodeBase64(e.auth) : undefined;
      const colon = decoded?.indexOf(":") ?? -1;
      const username = decoded && colon > 0 ? decoded.slice(0, colon) : typeof e.username === "string" ? e.username : "";
      const password = decoded && colon > 0 ? decoded.slice(colon + 1) : typeof e.password === "string" ? e.password : "";
      if (typeof e.identitytoken === "string" && e.identitytoken) return { kind: "identity-token", username, token: e.identitytoken };
      if (username || password) return { kind: "basic", username, password };
    }
  }
  if (typeof c.credsStore === "string" && /^[A-Za-z0-9._-]+$/.test(c.credsStore)) return { kind: "helper", helper: c.credsStore };
  return undefined;
}
