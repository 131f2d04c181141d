/**
 * The client a pull-through cache uses to reach other registries (undici):
 * HTTPS with the certificate verified, plain HTTP only for upstreams listed
 * as insecure; Docker token auth (a 401 challenge, a token for the
 * repository's pull scope, cached until it expires) or Basic, with
 * credentials from the user's docker config.json; redirects followed for
 * blobs (Docker Hub serves them from a CDN), without the Authorization
 * header once the host changes. Manifests are fetched with every type this
 * registry stores in Accept, so upstreams never convert them.
 */
import type { Dispatcher } from "undici/index.js";
import { setTimeout as nodeTimeout } from "node:timers";
import "../engine/undici-pool.ts";
// @ts-expect-error: undici ships types for its index only
import AgentImpl from "undici/lib/dispatcher/agent.js";
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
  private readonly agent: Dispatcher;
  private readonly tokens = new Map<string, { value: string; until: number }>();
  private readonly now: () => number;

  constructor(private readonly o: UpstreamOptions) {
    this.now = o.now ?? Date.now;
    this.agent = new (AgentImpl as new (o: object) => Dispatcher)({
      headersTimeout: o.headersTimeoutMs ?? 30_000,
      bodyTimeout: o.bodyTimeoutMs ?? 60_000,
      connect: { rejectUnauthorized: true, ...(o.ca ? { ca: o.ca } : {}) },
    });
  }

  async close(): Promise<void> {
    await this.agent.close().catch(() => {});
  }

  private origin(endpoint: string): string {
    return `${isInsecureUpstream(endpoint, this.o.insecure) ? "http" : "https"}://${endpoint}`;
  }

  private async send(url: string, method: Method, headers: Record<string, string>, what: string): Promise<Dispatcher.ResponseData> {
    try {
      return await this.agent.request({ origin: new URL(url).origin, path: new URL(url).pathname + new URL(url).search, method, headers: { "user-agent": this.o.userAgent ?? "fizz", ...headers } });
    } catch (e) {
      throw new RegistryError("UNAVAILABLE", `cannot reach ${new URL(url).host} for ${what}: ${(e as Error).message}`, { cause: e, hint: "is the upstream up, and reachable from this node? Cached images still deploy" });
    }
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
    const r = await this.send(url, "GET", headers, `a token for ${t.remote}`);
    const text = await r.body.text();
    if (r.statusCode !== 200) throw regErr(r.statusCode === 401 || r.statusCode === 403 ? "DENIED" : "UNAVAILABLE", `${new URL(url).host} refused a pull token for ${t.remote} (${r.statusCode})`, undefined, 502);
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
  private async api(t: UpstreamTarget, path: string, method: Method, headers: Record<string, string>, what: string): Promise<Dispatcher.ResponseData> {
    const url = `${this.origin(t.endpoint)}/v2/${t.remote}/${path}`;
    const key = `${t.endpoint} ${t.remote}`;
    const cached = this.tokens.get(key);
    const first = await this.send(url, method, cached && cached.until > this.now() ? { ...headers, authorization: `Bearer ${cached.value}` } : headers, what);
    if (first.statusCode !== 401) return first;
    await first.body.dump().catch(() => {});
    this.tokens.delete(key);
    const auth = await this.authHeader(t, headerString(first.headers["www-authenticate"]));
    if (!auth) throw regErr("UNAUTHORIZED", `${t.host} requires authentication for ${t.remote}; log in with 'docker login ${t.host}' on this node (Fizz reads ~/.docker/config.json)`, undefined, 401);
    return this.send(url, method, { ...headers, authorization: auth }, what);
  }

  /** GET or HEAD of a manifest by tag or digest. Undefined when the upstream says it does not exist. */
  async manifest(t: UpstreamTarget, reference: string, method: Method): Promise<ManifestAnswer | undefined> {
    const r = await this.api(t, `manifests/${reference}`, method, { accept: MANIFEST_ACCEPT }, `manifest ${t.remote}:${reference}`);
    if (r.statusCode === 404) {
      await r.body.dump().catch(() => {});
      return undefined;
    }
    if (r.statusCode !== 200) {
      const text = await r.body.text().catch(() => "");
      throw upstreamError(t, r.statusCode, `manifest ${reference}`, text);
    }
    const mediaType = bareMediaType(headerString(r.headers["content-type"]));
    const dh = headerString(r.headers["docker-content-digest"]);
    const digest = dh && isDigest(dh) ? dh : undefined;
    if (method === "HEAD") {
      await r.body.dump().catch(() => {});
      return { digest, mediaType, size: Number(headerString(r.headers["content-length"]) ?? 0) };
    }
    const bytes = await readCapped(r.body, MAX_MANIFEST_BYTES, `manifest ${t.remote}:${reference}`);
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
    let r = await this.fetchOnce(url, auth, what);
    if (r.status === 401) {
      await r.body?.cancel().catch(() => {});
      this.tokens.delete(key);
      auth = await this.authHeader(t, r.headers.get("www-authenticate") ?? undefined);
      if (!auth) throw regErr("UNAUTHORIZED", `${t.host} requires authentication for ${t.remote}; log in with 'docker login ${t.host}' on this node (Fizz reads ~/.docker/config.json)`, undefined, 401);
      r = await this.fetchOnce(url, auth, what);
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
      r = await this.fetchOnce(url, next.origin === origin ? auth : undefined, what);
    }
    if (r.status === 404) {
      await r.body?.cancel().catch(() => {});
      return undefined;
    }
    if (r.status !== 200 || !r.body) {
      const text = await r.text().catch(() => "");
      throw upstreamError(t, r.status, what, text);
    }
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

  private async fetchOnce(url: string, auth: string | undefined, what: string): Promise<Response> {
    const ac = new AbortController();
    const headersTimer = setTimeout(() => ac.abort(), this.o.headersTimeoutMs ?? 30_000);
    try {
      const r = await fetch(url, {
        method: "GET",
        redirect: "manual",
        signal: ac.signal,
        headers: { "user-agent": this.o.userAgent ?? "fizz", ...(auth ? { authorization: auth } : {}) },
        ...fetchTls(this.o.ca ? { ca: this.o.ca } : undefined),
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
    const r = await this.api(t, "tags/list?n=1000", "GET", {}, `tags of ${t.remote}`);
    if (r.statusCode !== 200) {
      await r.body.dump().catch(() => {});
      return undefined;
    }
    const b = (await r.body.json()) as { tags?: unknown };
    return Array.isArray(b.tags) ? b.tags.filter((x): x is string => typeof x === "string") : [];
  }
}

function headerString(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function upstreamError(t: UpstreamTarget, status: number, what: string, body: string): RegistryError {
  const detail = body.slice(0, 200).replace(/\s+/g, " ");
  if (status === 401 || status === 403) return regErr("DENIED", `${t.host} denied ${what} of ${t.remote} (${status}): check the credentials in docker's config.json`, undefined, 403);
  if (status === 429) return regErr("TOOMANYREQUESTS", `${t.host} rate-limits pulls of ${t.remote} (429); cached images still deploy`, undefined, 429);
  return regErr("UNAVAILABLE", `${t.host} answered ${status} for ${what} of ${t.remote}${detail ? `: ${detail}` : ""}`, undefined, 502);
}

async function readCapped(body: Dispatcher.ResponseData["body"], limit: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let n = 0;
  for await (const c of body as AsyncIterable<Buffer>) {
    n += c.byteLength;
    if (n > limit) {
      body.destroy();
      throw regErr("MANIFEST_INVALID", `${what} is over ${limit} bytes`, undefined, 502);
    }
    parts.push(c);
  }
  return Buffer.concat(parts);
}
