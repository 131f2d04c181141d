/**
 * The client a pull-through cache uses to reach other registries (the
 * runtime's fetch, whose connections are kept alive and reused; undici's
 * Agent opened a new connection for every request under Bun):
 * HTTPS with the certificate verified, plain HTTP only for upstreams listed
 * as insecure; Docker token auth (a 401 challenge, a token for the
 * repository's pull scope, cached until it expires) or Basic, with
 * credentials from the user's docker config.json; redirects followed for
 * blobs (Docker Hub serves them from a CDN), without the Authorization
 * header once the host changes. Manifests are fetched with every type this
 * registry stores in Accept, so upstreams never convert them.
 */
import { setTimeout as nodeTimeout } from "node:timers";
import { fetchTls } from "../runtime.ts";
import {
  bareMediaType,
  isDigest,
  isInsecureUpstream,
  MANIFEST_ACCEPT,
  MAX_MANIFEST_BYTES,
  parseChallenge,
  parseTokenResponse,
  regErr,
  RegistryError,
  tokenUrl,
  type Credentials,
  type Digest,
} from "../../core/registry/index.ts";

export interface UpstreamTarget {
  /** host[:port] to connect to. */
  readonly endpoint: string;
  /** The repository path there. */
  readonly remote: string;
  /** The host as users name it (for credentials): `docker.io`. */
  readonly host: string;
}

export interface UpstreamOptions {
  /** Upstreams allowed over plain HTTP (registry.insecure). */
  readonly insecure: readonly string[];
  /** Credentials for a host, from docker's config.json (and helpers). */
  readonly credentials?: (host: string) => Promise<Credentials | undefined> | Credentials | undefined;
  readonly userAgent?: string;
  /** Connect + response headers (ms). Default 30 s. */
  readonly headersTimeoutMs?: number;
  /** Longest pause inside a body (ms). Default 60 s. */
  readonly bodyTimeoutMs?: number;
  readonly now?: () => number;
  /** Extra TLS trust (PEM), e.g. a private CA; the system's roots are always trusted. */
  readonly ca?: string;
}

export interface ManifestAnswer {
  readonly digest: Digest | undefined;
  readonly mediaType: string;
  readonly size: number;
  readonly bytes?: Buffer;
}

export interface BlobAnswer {
  readonly size: number;
  readonly body: AsyncIterable<Uint8Array>;
  /** Stops the transfer (the reader went away). */
  abort(): void;
}

type Method = "GET" | "HEAD";

/** An upstream that did not answer (connection refused, TLS, timeout): the cache may serve what it has. */
export function isUnreachable(e: unknown): boolean {
  return e instanceof RegistryError && e.spec === "UNAVAILABLE";
}

export class UpstreamClient {
  private readonly tokens = new Map<string, { value: string; until: number }>();
  private readonly now: () => number;
  /** fetch's TLS options, made once (under Deno that is one HTTP client, whose connections are reused). */
  private readonly tls: Record<string, unknown>;

  constructor(private readonly o: UpstreamOptions) {
    this.now = o.now ?? Date.now;
    this.tls = fetchTls(o.ca ? { ca: o.ca } : undefined);
  }

  async close(): Promise<void> {
    (this.tls.client as { close?: () => void } | undefined)?.close?.();
  }

  private origin(endpoint: string): string {
    return `${isInsecureUpstream(endpoint, this.o.insecure) ? "http" : "https"}://${endpoint}`;
  }

  private async authHeader(t: UpstreamTarget, challengeHeader: string | undefined): Promise<string | undefined> {
    const c = parseChallenge(challengeHeader);
    if (!c) return undefined;
    const creds = await this.o.credentials?.(t.host);
    const basic = creds?.kind === "basic" ? `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString("base64")}` : undefined;
    if (c.scheme === "basic") return basic;
    const key = `${t.endpoint} ${t.remote}`;
    const cached = this.tokens.get(key);
    if (cached && cached.until > this.now()) return `Bearer ${cached.value}`;
    const url = tokenUrl(c, t.remote);
    const headers: Record<string, string> = basic ? { authorization: basic } : {};
    const r = await this.fetchOnce(url, "GET", headers, `a token for ${t.remote}`);
    const text = (await this.small(r, SMALL_BODY_BYTES, `the token for ${t.remote}`)).toString("utf8");
    if (r.status !== 200) throw regErr(r.status === 401 || r.status === 403 ? "DENIED" : "UNAVAILABLE", `${new URL(url).host} refused a pull token for ${t.remote} (${r.status})`, undefined, 502);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const tok = parseTokenResponse(parsed);
    if (!tok) throw regErr("UNAVAILABLE", `${new URL(url).host} answered the token request without a token`, undefined, 502);
    // Renew a little early: a token that expires mid-pull fails a blob.
    this.tokens.set(key, { value: tok.token, until: this.now() + Math.max(10, tok.expiresIn - 10) * 1000 });
    return `Bearer ${tok.token}`;
  }

  /** A request to the upstream's /v2 API with auth: on 401, get a token (or use Basic) and retry once. */
  private async api(t: UpstreamTarget, path: string, method: Method, headers: Record<string, string>, what: string): Promise<Response> {
    const url = `${this.origin(t.endpoint)}/v2/${t.remote}/${path}`;
    const key = `${t.endpoint} ${t.remote}`;
    const cached = this.tokens.get(key);
    const first = await this.fetchOnce(url, method, cached && cached.until > this.now() ? { ...headers, authorization: `Bearer ${cached.value}` } : headers, what);
    if (first.status !== 401) return first;
    await this.discard(first);
    this.tokens.delete(key);
    const auth = await this.authHeader(t, first.headers.get("www-authenticate") ?? undefined);
    if (!auth) throw regErr("UNAUTHORIZED", `${t.host} requires authentication for ${t.remote}; log in with 'docker login ${t.host}' on this node (Fizz reads ~/.docker/config.json)`, undefined, 401);
    return this.fetchOnce(url, method, { ...headers, authorization: auth }, what);
  }

  /** GET or HEAD of a manifest by tag or digest. Undefined when the upstream says it does not exist. */
  async manifest(t: UpstreamTarget, reference: string, method: Method): Promise<ManifestAnswer | undefined> {
    const what = `manifest ${t.remote}:${reference}`;
    const r = await this.api(t, `manifests/${reference}`, method, { accept: MANIFEST_ACCEPT }, what);
    if (r.status === 404) {
      await this.discard(r);
      return undefined;
    }
    if (r.status !== 200) throw upstreamError(t, r.status, `manifest ${reference}`, await this.errorText(r));
    const mediaType = bareMediaType(r.headers.get("content-type") ?? undefined);
    const dh = r.headers.get("docker-content-digest");
    const digest = dh && isDigest(dh) ? dh : undefined;
    if (method === "HEAD") {
      await this.discard(r);
      return { digest, mediaType, size: Number(r.headers.get("content-length") ?? 0) };
    }
    const bytes = await this.small(r, MAX_MANIFEST_BYTES, what, "MANIFEST_INVALID");
    return { digest, mediaType, size: bytes.byteLength, bytes };
  }

  /**
   * GET of a blob, following redirects. Undefined when the upstream does not
   * have it. Bulk bytes go through the runtime's own fetch: on Bun it reads
   * the socket natively, where undici's node:net socket costs ~2.5 ms of CPU
   * per MB (bun --cpu-prof of a cold pull), the largest cost of the cache.
   */
  async blob(t: UpstreamTarget, digest: Digest): Promise<BlobAnswer | undefined> {
    const what = `blob ${digest}`;
    let url = `${this.origin(t.endpoint)}/v2/${t.remote}/blobs/${digest}`;
    const key = `${t.endpoint} ${t.remote}`;
    const cached = this.tokens.get(key);
    let auth: string | undefined = cached && cached.until > this.now() ? `Bearer ${cached.value}` : undefined;
    const authed = (a: string | undefined): Record<string, string> => (a ? { authorization: a } : {});
    let r = await this.fetchOnce(url, "GET", authed(auth), what);
    if (r.status === 401) {
      await this.discard(r);
      this.tokens.delete(key);
      auth = await this.authHeader(t, r.headers.get("www-authenticate") ?? undefined);
      if (!auth) throw regErr("UNAUTHORIZED", `${t.host} requires authentication for ${t.remote}; log in with 'docker login ${t.host}' on this node (Fizz reads ~/.docker/config.json)`, undefined, 401);
      r = await this.fetchOnce(url, "GET", authed(auth), what);
    }
    const origin = new URL(url).origin;
    for (let hops = 0; r.status >= 300 && r.status < 400 && hops < 5; hops++) {
      const loc = r.headers.get("location");
      await r.body?.cancel().catch(() => {});
      if (!loc) throw upstreamError(t, r.status, what, "redirect without Location");
      const next = new URL(loc, url);
      if (next.protocol !== "https:" && !(next.protocol === "http:" && isInsecureUpstream(next.host, this.o.insecure))) {
        throw regErr("UNAVAILABLE", `${t.host} redirected blob ${digest} to ${next.protocol}//${next.host}, which is not HTTPS and not listed in registry.insecure`, undefined, 502);
      }
      url = next.toString();
      // The registry's credentials are not for the CDN it redirects to.
      r = await this.fetchOnce(url, "GET", next.origin === origin ? authed(auth) : {}, what);
    }
    if (r.status === 404) {
      await r.body?.cancel().catch(() => {});
      return undefined;
    }
    if (r.status !== 200 || !r.body) throw upstreamError(t, r.status, what, await this.errorText(r));
    const size = Number(r.headers.get("content-length"));
    if (!Number.isSafeInteger(size) || size < 0) {
      await r.body.cancel().catch(() => {});
      throw regErr("UNAVAILABLE", `${t.host} sent blob ${digest} without a Content-Length`, undefined, 502);
    }
    const ac = this.aborts.get(r);
    return { size, body: this.watched(r.body as unknown as AsyncIterable<Uint8Array>, ac, what), abort: () => ac?.abort() };
  }

  /** A body that is aborted when no byte arrives for bodyTimeoutMs (fetch has no idle timeout of its own). */
  private async *watched(body: AsyncIterable<Uint8Array>, ac: AbortController | undefined, what: string): AsyncGenerator<Uint8Array> {
    const idle = this.o.bodyTimeoutMs ?? 60_000;
    // One timer, re-armed per chunk (refresh), not a new timer per chunk.
    const timer = nodeTimeout(() => ac?.abort(), idle);
    try {
      for await (const chunk of body) {
        timer.refresh();
        yield chunk;
      }
    } catch (e) {
      throw ac?.signal.aborted ? regErr("UNAVAILABLE", `the upstream stalled sending ${what} (nothing for ${idle} ms)`, undefined, 502) : e;
    } finally {
      clearTimeout(timer);
    }
  }

  private readonly aborts = new WeakMap<Response, AbortController>();

  /** One request, no redirect followed; the headers must come within headersTimeoutMs. */
  private async fetchOnce(url: string, method: Method, headers: Record<string, string>, what: string): Promise<Response> {
    const ac = new AbortController();
    const headersTimer = setTimeout(() => ac.abort(), this.o.headersTimeoutMs ?? 30_000);
    try {
      const r = await fetch(url, {
        method,
        redirect: "manual",
        signal: ac.signal,
        headers: { "user-agent": this.o.userAgent ?? "fizz", ...headers },
        ...this.tls,
      } as RequestInit);
      this.aborts.set(r, ac);
      return r;
    } catch (e) {
      throw new RegistryError("UNAVAILABLE", `cannot reach ${new URL(url).host} for ${what}: ${ac.signal.aborted ? "no answer in time" : (e as Error).message}`, { cause: e, hint: "is the upstream up, and reachable from this node? Cached images still deploy" });
    } finally {
      clearTimeout(headersTimer);
    }
  }

  /** The upstream's tags for a repository (first page of up to 1000). */
  async tags(t: UpstreamTarget): Promise<string[] | undefined> {
    const what = `tags of ${t.remote}`;
    const r = await this.api(t, "tags/list?n=1000", "GET", {}, what);
    if (r.status !== 200) {
      await this.discard(r);
      return undefined;
    }
    let b: { tags?: unknown };
    try {
      b = JSON.parse((await this.small(r, SMALL_BODY_BYTES, what)).toString("utf8")) as { tags?: unknown };
    } catch (e) {
      if (e instanceof RegistryError) throw e;
      throw regErr("UNAVAILABLE", `${t.host} answered the ${what} with something that is not JSON`, undefined, 502);
    }
    return Array.isArray(b?.tags) ? b.tags.filter((x): x is string => typeof x === "string") : [];
  }

  /**
   * A body that is small by nature (a manifest, a token, a tag list), read
   * whole under the body idle timeout; more than `limit` bytes is refused.
   */
  private async small(r: Response, limit: number, what: string, tooBig: "MANIFEST_INVALID" | "UNAVAILABLE" = "UNAVAILABLE"): Promise<Buffer> {
    if (!r.body) return Buffer.alloc(0);
    const parts: Uint8Array[] = [];
    let n = 0;
    for await (const c of this.watched(r.body as unknown as AsyncIterable<Uint8Array>, this.aborts.get(r), what)) {
      n += c.byteLength;
      if (n > limit) {
        this.aborts.get(r)?.abort();
        throw regErr(tooBig, `${what} is over ${limit} bytes`, undefined, 502);
      }
      parts.push(c);
    }
    return Buffer.concat(parts);
  }

  /** The start of an error answer's body, for the message; never throws. */
  private async errorText(r: Response): Promise<string> {
    try {
      return (await this.small(r, SMALL_BODY_BYTES, "an error answer")).toString("utf8");
    } catch {
      return "";
    }
  }

  /** Reads a body that is not needed (a HEAD, a 401, a 404: short ones) so the connection is reused. */
  private async discard(r: Response): Promise<void> {
    await this.small(r, SMALL_BODY_BYTES, "an unused answer").catch(() => this.aborts.get(r)?.abort());
  }
}

/** The most a token, tag list or error answer may be. */
const SMALL_BODY_BYTES = 4 * 1024 * 1024;

function upstreamError(t: UpstreamTarget, status: number, what: string, body: string): RegistryError {
  const detail = body.slice(0, 200).replace(/\s+/g, " ");
  if (status === 401 || status === 403) return regErr("DENIED", `${t.host} denied ${what} of ${t.remote} (${status}): check the credentials in docker's config.json`, undefined, 403);
  if (status === 429) return regErr("TOOMANYREQUESTS", `${t.host} rate-limits pulls of ${t.remote} (429); cached images still deploy`, undefined, 429);
  return regErr("UNAVAILABLE", `${t.host} answered ${status} for ${what} of ${t.remote}${detail ? `: ${detail}` : ""}`, undefined, 502);
}
