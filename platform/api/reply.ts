/**
 * What a handler returns: a description of the response, not writes to a
 * socket. The server turns it into bytes, which keeps handlers testable and
 * puts every streaming concern (backpressure, heartbeat, client disconnect)
 * in one place.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { Logger } from "pino";

export interface SseMessage {
  /** Sent as `id:`; clients resume with `Last-Event-ID`. */
  readonly id?: string | number;
  /** Sent as `event:`. */
  readonly event?: string;
  /** JSON-encoded into `data:`. */
  readonly data: unknown;
}

export type Reply =
  | { readonly kind: "json"; readonly status: number; readonly body: unknown; readonly headers?: Readonly<Record<string, string>> }
  | { readonly kind: "text"; readonly status: number; readonly body: string; readonly contentType: string }
  | { readonly kind: "empty"; readonly status: number }
  /** Server-Sent Events; the source is closed (return()) when the client goes away. */
  | { readonly kind: "sse"; readonly source: AsyncIterable<SseMessage>; readonly heartbeatMs?: number }
  /** A chunked body (logs); the source is closed when the client goes away. */
  | { readonly kind: "stream"; readonly status: number; readonly contentType: string; readonly source: AsyncIterable<string | Uint8Array> };

export const json = (body: unknown, status = 200, headers?: Record<string, string>): Reply =>
  headers ? { kind: "json", status, body, headers } : { kind: "json", status, body };
export const text = (body: string, contentType = "text/plain; charset=utf-8", status = 200): Reply => ({ kind: "text", status, body, contentType });
export const empty = (status = 204): Reply => ({ kind: "empty", status });
export const sse = (source: AsyncIterable<SseMessage>, heartbeatMs?: number): Reply =>
  heartbeatMs === undefined ? { kind: "sse", source } : { kind: "sse", source, heartbeatMs };
export const stream = (source: AsyncIterable<string | Uint8Array>, contentType = "application/x-ndjson", status = 200): Reply => ({
  kind: "stream",
  status,
  contentType,
  source,
});

export interface RequestContext {
  readonly method: string;
  /** The matched route pattern, e.g. `/v1/deployments/:name`. */
  readonly route: string;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  /** Aborted when the client disconnects or the server shuts down. */
  readonly signal: AbortSignal;
  /** True when the request came over the unix socket (local, trusted by file mode). */
  readonly local: boolean;
  readonly log: Logger;
  /**
   * The parsed JSON body; `undefined` when there is none. Throws 415 for a
   * non-JSON content type, 413 over the size limit, 400 for malformed JSON.
   */
  body(): Promise<unknown>;
}

export type Handler = (c: RequestContext) => Reply | Promise<Reply>;
