/**
 * HTTP to the engine over its unix socket (or tcp) with undici. Every call has
 * a bounded connect time and a bounded wait for headers; streaming calls have
 * no body timeout but take an AbortSignal. Failures leave here as FizzErrors
 * (core/engine/errors.ts); an abort leaves as the signal's reason.
 */
import { Pool } from "./undici-pool.ts";
import type { Dispatcher } from "undici/index.js";
import type { Duplex } from "node:stream";
import {
  engineConnectError,
  engineHttpError,
  engineProtocolError,
  type EngineCallContext,
  type EngineEndpointInfo,
} from "../../core/engine/errors.ts";
import { isFizzError } from "../../core/errors.ts";
import { engineOp } from "../../core/engine/op-name.ts";
import type { EngineEndpoint } from "./detect.ts";

export interface TransportOptions {
  /** Opening the socket; a missing engine fails fast, a hung one within this. */
  readonly connectTimeoutMs?: number;
  /** Default wait for response headers on ordinary calls. */
  readonly headersTimeoutMs?: number;
  /** Default wait between body chunks on ordinary (non-streaming) calls. */
  readonly bodyTimeoutMs?: number;
  /**
   * Told each call's name (core/engine/op-name.ts) and its seconds until the
   * engine's answer began (or the call failed): the agent's
   * fizz_engine_request_duration_seconds.
   */
  readonly onRequest?: (op: string, seconds: number) => void;
}

export type QueryValue = string | number | boolean | undefined;

export interface CallOptions {
  readonly method: "GET" | "POST" | "PUT" | "DELETE" | "HEAD";
  /** Path without the version prefix, e.g. "/containers/json". */
  readonly path: string;
  readonly query?: Record<string, QueryValue>;
  /** JSON-encoded unless it is bytes or a stream. */
  readonly body?: unknown;
  readonly contentType?: string;
  readonly headers?: Record<string, string>;
  readonly signal?: AbortSignal;
  /** Override the header wait (0 = none; for calls the engine answers late, like stop). */
  readonly headersTimeoutMs?: number;
  /** Override the body wait (0 = none; streams). */
  readonly bodyTimeoutMs?: number;
  /** Skip the /vX.Y prefix (for /_ping and version negotiation). */
  readonly unversioned?: boolean;
  /** For error messages. */
  readonly ctx?: Omit<EngineCallContext, "method" | "path">;
  /** Statuses that are not errors besides 2xx (e.g. 304 for "already started"). */
  readonly okStatuses?: readonly number[];
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Dispatcher.ResponseData["body"];
}

export const DEFAULTS = {
  connectTimeoutMs: 5_000,
  headersTimeoutMs: 60_000,
  bodyTimeoutMs: 60_000,
} as const;

export function encodeQuery(query: Record<string, QueryValue> | undefined): string {
  if (!query) return "";
  const parts: string[] = [];
  for (const [k, v] of Object.entries(query)) {
    if (v === undefined) continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(typeof v === "boolean" ? (v ? "1" : "0") : String(v))}`);
  }
  return parts.length ? `?${parts.join("&")}` : "";
}

function errnoOf(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur && typeof cur === "object"; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === "string" && code !== "UND_ERR_SOCKET" && code !== "ECONNRESET") return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

export class Transport {
  readonly endpoint: EngineEndpoint;
  /** Set once negotiated; calls are prefixed with /v<apiVersion>. */
  apiVersion: string | undefined;
  private readonly pool: Pool;
  private readonly opts: Required<Omit<TransportOptions, "onRequest">>;
  private readonly onRequest: TransportOptions["onRequest"];

  constructor(endpoint: EngineEndpoint, opts: TransportOptions = {}) {
    this.endpoint = endpoint;
    const { onRequest, ...timeouts } = opts;
    this.opts = { ...DEFAULTS, ...timeouts };
    this.onRequest = onRequest;
    const origin = endpoint.transport === "unix" ? "http://localhost" : endpoint.origin;
    // A Pool (not a Client): long-lived streams (events, follow logs) must not
    // hold up ordinary calls, so each in-flight request gets its own connection.
    this.pool = new Pool(origin, {
      ...(endpoint.transport === "unix" ? { socketPath: endpoint.socketPath } : {}),
      connect: { timeout: this.opts.connectTimeoutMs },
      headersTimeout: this.opts.headersTimeoutMs,
      bodyTimeout: this.opts.bodyTimeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  get endpointInfo(): EngineEndpointInfo {
    const ep = this.endpoint;
    return {
      address: ep.address,
      ...(ep.transport === "unix" ? { socketPath: ep.socketPath } : {}),
      ...(ep.expected ? { engine: ep.expected } : {}),
    };
  }

  private fullPath(o: CallOptions): string {
    const prefix = o.unversioned || !this.apiVersion ? "" : `/v${this.apiVersion}`;
    return `${prefix}${o.path}${encodeQuery(o.query)}`;
  }

  /** Sends the request; returns the response whatever its status. */
  async raw(o: CallOptions): Promise<RawResponse> {
    const path = this.fullPath(o);
    let body: Dispatcher.DispatchOptions["body"] = undefined;
    const headers: Record<string, string> = { ...o.headers };
    if (o.body !== undefined) {
      if (o.body instanceof Uint8Array || typeof (o.body as { pipe?: unknown }).pipe === "function") {
        body = o.body as Dispatcher.DispatchOptions["body"];
        headers["content-type"] ??= o.contentType ?? "application/octet-stream";
      } else {
        body = JSON.stringify(o.body);
        headers["content-type"] ??= "application/json";
      }
    }
    const t0 = this.onRequest ? performance.now() : 0;
    try {
      const res = await this.pool.request({
        method: o.method,
        path,
        headers,
        body,
        signal: o.signal,
        headersTimeout: o.headersTimeoutMs ?? this.opts.headersTimeoutMs,
        bodyTimeout: o.bodyTimeoutMs ?? this.opts.bodyTimeoutMs,
      });
      return { status: res.statusCode, headers: res.headers, body: res.body };
    } catch (e) {
      throw this.mapError(e, o);
    } finally {
      this.onRequest?.(engineOp(o.method, o.path), (performance.now() - t0) / 1000);
    }
  }

  /** Maps a thrown transport error: aborts pass through, the rest become FizzErrors. */
  mapError(e: unknown, o: Pick<CallOptions, "signal" | "method" | "path" | "ctx">): unknown {
    if (isFizzError(e)) return e;
    if (o.signal?.aborted) return o.signal.reason ?? e;
    const code = errnoOf(e) ?? "UNKNOWN";
    const detail = e instanceof Error && !e.message.includes(code) ? e.message : undefined;
    const err = engineConnectError(code, this.endpointInfo, detail);
    (err as { cause?: unknown }).cause = e;
    return err;
  }

  /** Throws the mapped FizzError for a non-OK status, after reading the engine's message. */
  private async check(res: RawResponse, o: CallOptions): Promise<void> {
    if ((res.status >= 200 && res.status < 300) || o.okStatuses?.includes(res.status)) return;
    let text = "";
    try {
      text = await readText(res.body);
    } catch {
      /* the status alone still tells us something */
    }
    let message = text;
    try {
      const parsed = JSON.parse(text) as { message?: unknown; cause?: unknown };
      if (typeof parsed.message === "string") message = parsed.message;
    } catch {
      /* not JSON; keep the text */
    }
    throw engineHttpError(res.status, message, { method: o.method, path: o.path, ...o.ctx });
  }

  /** A call whose answer is JSON. */
  async json<T>(o: CallOptions): Promise<T> {
    const res = await this.raw(o);
    await this.check(res, o);
    let text: string;
    try {
      text = await readText(res.body);
    } catch (e) {
      throw this.mapError(e, o);
    }
    try {
      return JSON.parse(text) as T;
    } catch {
      throw engineProtocolError(`expected JSON, got ${JSON.stringify(text.slice(0, 80))}`, { method: o.method, path: o.path, ...o.ctx });
    }
  }

  /** A call whose answer body does not matter. Returns the status. */
  async empty(o: CallOptions): Promise<number> {
    const res = await this.raw(o);
    await this.check(res, o);
    try {
      await res.body.dump();
    } catch {
      /* ignore: body was empty or the connection closed after it */
    }
    return res.status;
  }

  /** A streaming call: checks the status, then hands over the body. */
  async stream(o: CallOptions): Promise<RawResponse> {
    const res = await this.raw({ ...o, bodyTimeoutMs: o.bodyTimeoutMs ?? 0 });
    await this.check(res, o);
    return res;
  }

  /**
   * Hijacks the connection (HTTP 101, `Upgrade: tcp`) for two-way streams:
   * attach and exec with stdin. The engine then speaks raw bytes both ways.
   */
  async upgrade(o: CallOptions): Promise<Duplex> {
    const body = o.body === undefined ? undefined : JSON.stringify(o.body);
    try {
      const { socket } = await this.pool.upgrade({
        method: o.method,
        path: this.fullPath(o),
        protocol: "tcp",
        headers: {
          ...o.headers,
          ...(body === undefined ? {} : { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) }),
        },
        signal: o.signal ?? null,
        // Not in undici's UpgradeOptions type, but passed through to dispatch: exec start needs its JSON body.
        ...(body === undefined ? {} : { body }),
      } as Dispatcher.UpgradeOptions);
      return socket;
    } catch (e) {
      throw this.mapError(e, o);
    }
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => this.pool.destroy());
  }

  destroy(): void {
    void this.pool.destroy().catch(() => undefined);
  }
}

async function readText(body: AsyncIterable<Uint8Array>): Promise<string> {
  const dec = new TextDecoder();
  let out = "";
  for await (const chunk of body) out += dec.decode(chunk, { stream: true });
  return out + dec.decode();
}
