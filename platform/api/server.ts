/**
 * The HTTP server behind the API: node:http (and node:https for TLS), so it
 * runs the same on Bun and Deno. One request handler serves every listener;
 * the unix-socket listener is trusted by its file mode, TCP listeners demand
 * a bearer token (except GET /healthz). Every failure becomes a JSON
 * `{code, message}` answer; nothing a client sends can throw past here.
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Socket } from "node:net";
import type { Logger } from "pino";
import type { ApiAddress } from "../../core/agent-config/address.ts";
import { BODY_TIMEOUT_MS, HEADERS_TIMEOUT_MS, MAX_BODY_BYTES } from "../../core/limits.ts";
import { FizzError } from "../../core/errors.ts";
import { collectGarbageSoon } from "../runtime.ts";
import { errorReply, httpError, type ErrorBody } from "./errors.ts";
import { parseTarget } from "./path.ts";
import { hasBody, isJsonContentType, parseJson, readBody, tooLarge } from "./body.ts";
import { TokenCheck } from "./auth.ts";
import { listenTcp, listenUnix, type Listening } from "./listen.ts";
import type { Reply, RequestContext, SseMessage } from "./reply.ts";
import type { Router } from "./router.ts";

export interface ApiLimits {
  /** Largest accepted request body (compose files travel in it). */
  readonly maxBodyBytes: number;
  /** Time to receive a request body once headers arrived. */
  readonly bodyTimeoutMs: number;
  /** Time to receive request headers. */
  readonly headersTimeoutMs: number;
  /** Idle keep-alive connections are closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** A comment line on idle SSE streams, so proxies and clients see the connection alive. */
  readonly sseHeartbeatMs: number;
  /** After a 413, read and discard at most this much of the body before dropping the connection. */
  readonly maxDiscardBytes: number;
}

export const DEFAULT_LIMITS: ApiLimits = {
  maxBodyBytes: MAX_BODY_BYTES,
  bodyTimeoutMs: BODY_TIMEOUT_MS,
  headersTimeoutMs: HEADERS_TIMEOUT_MS,
  keepAliveTimeoutMs: 5_000,
  sseHeartbeatMs: 15_000,
  maxDiscardBytes: 64 * 1024 * 1024,
};

export interface TlsFiles {
  readonly cert: string | Buffer;
  readonly key: string | Buffer;
}

export interface ApiServerOptions {
  readonly router: Router;
  /** Required before listening on TCP. */
  readonly token?: string | undefined;
  /** Serve TCP listeners over TLS. */
  readonly tls?: TlsFiles | undefined;
  readonly limits?: Partial<ApiLimits>;
  readonly logger?: Logger | undefined;
  readonly metrics?: { observeApiRequest(route: string, method: string, code: number, seconds: number): void } | undefined;
}

export interface ApiServer {
  /** Starts a listener; unix sockets get `socketMode` (default 0o660) and, if given, group `socketGid`. Returns where it listens. */
  listen(addr: ApiAddress, opts?: { socketMode?: number; socketGid?: number }): Promise<Listening>;
  readonly listening: readonly Listening[];
  /** Stops accepting, ends streams, closes connections, removes socket files. */
  close(): Promise<void>;
}

/** Bodies from this size on are followed by a garbage collection (platform/runtime.ts). */
const LARGE_BODY_BYTES = 256 * 1024;

const KNOWN_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
const BODY_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);

export function createApiServer(opts: ApiServerOptions): ApiServer {
  const limits: ApiLimits = { ...DEFAULT_LIMITS, ...opts.limits };
  const log = opts.logger;
  const tokenCheck = opts.token ? new TokenCheck(opts.token) : undefined;
  const listening: Listening[] = [];
  const servers: { server: Server; sockets: Set<Socket>; cleanup: () => Promise<void> }[] = [];
  const shutdown = new AbortController();

  const handlerFor = (local: boolean) => (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res, local).catch((e: unknown) => {
      // handle() answers every error itself; reaching here means writing failed.
      log?.error({ err: e }, "api: failed to answer a request");
      try {
        res.destroy();
      } catch {
        /* already gone */
      }
    });
  };

  // Header deadlines per connection. Not every runtime's node:http enforces
  // headersTimeout (Bun does not), so a client trickling header bytes
  // (slowloris) would hold a connection forever. A connection must deliver
  // complete request headers within headersTimeoutMs of opening, and within
  // keepAliveTimeoutMs + headersTimeoutMs of its previous response.
  const deadlines = new Map<Socket, ReturnType<typeof setTimeout>>();
  function arm(s: Socket, ms: number, answer = true): void {
    disarm(s);
    const timer = setTimeout(() => {
      deadlines.delete(s);
      // A fresh connection that sent no complete headers gets a 408; an idle
      // keep-alive connection is just closed, as node:http does.
      if (answer) rawAnswer(s, 408, "Request Timeout", "api.timeout", `request headers not received within ${limits.headersTimeoutMs} ms`);
      else s.destroy();
    }, ms);
    timer.unref?.();
    deadlines.set(s, timer);
  }
  function disarm(s: Socket): void {
    const t = deadlines.get(s);
    if (t !== undefined) {
      clearTimeout(t);
      deadlines.delete(s);
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse, local: boolean): Promise<void> {
    const t0 = performance.now();
    const sock = req.socket as Socket | null;
    if (sock) {
      disarm(sock);
      res.once("finish", () => {
        if (!sock.destroyed) arm(sock, limits.keepAliveTimeoutMs + limits.headersTimeoutMs, false);
      });
    }
    const method = KNOWN_METHODS.has(req.method ?? "") ? req.method! : "OTHER";
    let route = "unmatched";
    res.once("finish", () => {
      const seconds = (performance.now() - t0) / 1000;
      opts.metrics?.observeApiRequest(route, method, res.statusCode, seconds);
      log?.debug({ method, route, status: res.statusCode, ms: Math.round(seconds * 10_000) / 10 }, "api request");
    });
    const ac = new AbortController();
    const onGone = () => ac.abort();
    res.once("close", onGone);
    shutdown.signal.addEventListener("abort", onGone, { once: true });
    res.once("close", () => shutdown.signal.removeEventListener("abort", onGone));

    let bodyRead = false;
    /** The client stopped sending its body: answer at once, without waiting to drain it. */
    let bodyStalled = false;
    try {
      if (req.headers.host === undefined && req.httpVersionMajor === 1 && req.httpVersionMinor >= 1) {
        throw httpError(400, "api.no_host", "an HTTP/1.1 request needs a Host header", "send any Host, e.g. 'Host: localhost' (HTTP clients do this by themselves)");
      }
      const target = parseTarget(req.url);
      const isHealth = target.segments.length === 1 && target.segments[0] === "healthz" && (req.method === "GET" || req.method === "HEAD");
      if (!local && !isHealth) {
        if (!tokenCheck) throw httpError(401, "api.unauthorized", "this listener has no token configured");
        tokenCheck.check(req.headers.authorization);
      }
      const m = opts.router.match(req.method ?? "", target.segments);
      if (m.kind === "not_found") throw httpError(404, "api.not_found", `no such endpoint: ${req.method} /${target.segments.map(encodeURIComponent).join("/")}`);
      if (m.kind === "method_not_allowed") {
        route = m.pattern;
        res.setHeader("Allow", m.allow.join(", "));
        throw httpError(405, "api.method_not_allowed", `${req.method} is not allowed here; allowed: ${m.allow.join(", ")}`);
      }
      route = m.route.pattern;
      const ctx: RequestContext = {
        method: req.method!,
        route,
        params: m.params,
        query: target.query,
        headers: req.headers,
        signal: ac.signal,
        local,
        log: log ?? (silentLogger as unknown as Logger),
        body: async () => {
          if (bodyRead) throw new Error("body() called twice");
          bodyRead = true;
          if (!BODY_METHODS.has(req.method!) || !hasBody(req)) return undefined;
          if (!isJsonContentType(req.headers["content-type"])) {
            throw httpError(415, "api.unsupported_media_type", `request body must be application/json, got '${req.headers["content-type"] ?? "none"}'`);
          }
          let buf: Buffer;
          try {
            buf = await withTimeout(readBody(req, limits.maxBodyBytes), limits.bodyTimeoutMs);
            // Parsing and checking a large body leaves many times its size in garbage.
            if (buf.length >= LARGE_BODY_BYTES) collectGarbageSoon();
          } catch (e) {
            if (e instanceof FizzError && e.status === 408) bodyStalled = true;
            throw e;
          }
          return parseJson(buf);
        },
      };
      // A body nobody asked for is still validated for size, so a huge upload
      // to a body-less route is refused early rather than silently drained.
      if (BODY_METHODS.has(req.method!) && hasBody(req)) {
        const len = req.headers["content-length"];
        if (len !== undefined && Number(len) > limits.maxBodyBytes) {
          bodyRead = true;
          throw tooLarge(limits.maxBodyBytes);
        }
      }
      const reply = await m.handler(ctx);
      // The handler ignored a body: drain it before answering, for the same
      // reason as in the error path below.
      if (!bodyRead && BODY_METHODS.has(req.method!) && hasBody(req) && !req.readableEnded) {
        if (!(await discard(req, limits.maxDiscardBytes, limits.bodyTimeoutMs))) res.setHeader("connection", "close");
      }
      await send(req, res, reply, ac.signal);
    } catch (e) {
      const { status, body, internal } = errorReply(e);
      if (internal) log?.error({ err: e, method: req.method, route }, "api: handler failed");
      else if (status >= 500) log?.warn({ code: body.code, method: req.method, route }, body.message);
      if (res.headersSent) {
        res.destroy();
        return;
      }
      // An unread or partly read body is drained (up to a cap and a time limit)
      // *before* answering: answering or closing first makes clients still
      // sending fail with EPIPE (always so over unix sockets, on Bun and Deno)
      // instead of reading the 413.
      const unread = !bodyStalled && BODY_METHODS.has(req.method ?? "") && hasBodySafe(req) && !req.readableEnded;
      const drained = unread ? await discard(req, limits.maxDiscardBytes, limits.bodyTimeoutMs) : true;
      if (res.destroyed) return;
      sendError(req, res, status, body, !drained || bodyStalled);
    }
  }

  async function send(req: IncomingMessage, res: ServerResponse, reply: Reply, signal: AbortSignal): Promise<void> {
    const head = req.method === "HEAD";
    switch (reply.kind) {
      case "json": {
        const body = JSON.stringify(reply.body) + "\n";
        res.writeHead(reply.status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(body), ...reply.headers });
        res.end(head ? undefined : body);
        return;
      }
      case "text":
        res.writeHead(reply.status, { "content-type": reply.contentType, "content-length": Buffer.byteLength(reply.body) });
        res.end(head ? undefined : reply.body);
        return;
      case "empty":
        res.writeHead(reply.status);
        res.end();
        return;
      case "sse": {
        res.writeHead(200, {
          "content-type": "text/event-stream; charset=utf-8",
          "cache-control": "no-cache",
          "x-accel-buffering": "no",
        });
        if (head) return void res.end();
        res.write(": fizz event stream\n\n");
        const hb = setInterval(() => {
          if (!res.writableNeedDrain && !res.destroyed) res.write(": ping\n\n");
        }, reply.heartbeatMs ?? limits.sseHeartbeatMs);
        hb.unref?.();
        try {
          await pump(reply.source, (m) => sseFrame(m), res, signal);
        } finally {
          clearInterval(hb);
        }
        return;
      }
      case "stream":
        res.writeHead(reply.status, { "content-type": reply.contentType, "cache-control": "no-cache", "x-content-type-options": "nosniff" });
        if (head) return void res.end();
        // Followed logs may stay quiet for long; the client should see the 200 now.
        res.flushHeaders();
        await pump(reply.source, (c) => c, res, signal);
        return;
    }
  }

  return {
    get listening() {
      return listening;
    },
    async listen(addr, lopts = {}) {
      const local = addr.kind === "unix";
      if (!local && !tokenCheck) throw httpError(400, "api.no_token", "a TCP listener needs a bearer token", "set api.tcp.token_file or --api-token-file");
      const handler = handlerFor(local);
      const useTls = !local && opts.tls !== undefined;
      // requireHostHeader off: the runtimes' own refusal is an empty 400; handle() answers it in JSON.
      const httpOpts = { requireHostHeader: false };
      const server: Server = useTls ? (createHttpsServer({ ...httpOpts, cert: opts.tls!.cert, key: opts.tls!.key }, handler) as unknown as Server) : createHttpServer(httpOpts, handler);
      server.headersTimeout = limits.headersTimeoutMs;
      server.requestTimeout = limits.headersTimeoutMs + limits.bodyTimeoutMs;
      server.keepAliveTimeout = limits.keepAliveTimeoutMs;
      server.maxHeadersCount = 100;
      const sockets = new Set<Socket>();
      server.on("connection", (s: Socket) => {
        sockets.add(s);
        s.once("close", () => {
          sockets.delete(s);
          disarm(s);
        });
        arm(s, limits.headersTimeoutMs);
      });
      server.on("clientError", (err: NodeJS.ErrnoException, socket: Socket) => onClientError(err, socket));
      // CONNECT and protocol upgrades bypass the request handler; without
      // these listeners the connection would just be dropped without an answer.
      server.on("connect", (_req: IncomingMessage, socket: Socket) => rawAnswer(socket, 405, "Method Not Allowed", "api.method_not_allowed", "CONNECT is not supported"));
      server.on("upgrade", (_req: IncomingMessage, socket: Socket) => rawAnswer(socket, 400, "Bad Request", "api.upgrade_not_supported", "protocol upgrades are not supported"));
      server.on("tlsClientError", () => {
        /* a failed handshake concerns only that client */
      });
      const bound = local ? await listenUnix(server, addr.path, lopts.socketMode ?? 0o660, lopts.socketGid) : await listenTcp(server, addr.host, addr.port, useTls);
      listening.push(bound.listening);
      servers.push({ server, sockets, cleanup: bound.cleanup });
      return bound.listening;
    },
    async close() {
      shutdown.abort();
      await Promise.all(
        servers.map(async ({ server, sockets, cleanup }) => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          for (const s of sockets) s.destroy();
          await closed;
          await cleanup();
        }),
      );
      servers.length = 0;
      listening.length = 0;
    },
  };
}

/** Writes a source to the response with backpressure; stops (and closes the source) when the client leaves. */
async function pump<T>(source: AsyncIterable<T>, encode: (x: T) => string | Uint8Array, res: ServerResponse, signal: AbortSignal): Promise<void> {
  const it = source[Symbol.asyncIterator]();
  const aborted = new Promise<"aborted">((resolve) => {
    if (signal.aborted) resolve("aborted");
    else signal.addEventListener("abort", () => resolve("aborted"), { once: true });
  });
  let finished = false;
  try {
    for (;;) {
      const r = await Promise.race([it.next(), aborted]);
      if (r === "aborted") break;
      if (r.done) {
        finished = true;
        break;
      }
      if (!res.write(encode(r.value))) {
        const drained = new Promise<"drain">((resolve) => res.once("drain", () => resolve("drain")));
        if ((await Promise.race([drained, aborted])) === "aborted") break;
      }
    }
  } catch (e) {
    // Headers are gone already; all we can do is cut the stream so the client sees it end abnormally.
    res.destroy(e instanceof Error ? e : undefined);
    return;
  } finally {
    if (!finished) void Promise.resolve(it.return?.()).catch(() => undefined);
  }
  if (!res.destroyed) res.end();
}

function sseFrame(m: SseMessage): string {
  let out = "";
  if (m.id !== undefined) out += `id: ${String(m.id).replace(/[\r\n]/g, "")}\n`;
  if (m.event !== undefined) out += `event: ${m.event.replace(/[\r\n]/g, "")}\n`;
  // JSON.stringify never emits raw newlines, so one data line always suffices.
  out += `data: ${JSON.stringify(m.data) ?? "null"}\n\n`;
  return out;
}

function sendError(req: IncomingMessage, res: ServerResponse, status: number, body: ErrorBody, close = false): void {
  const text = JSON.stringify(body) + "\n";
  const headers: Record<string, string | number> = { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) };
  if (status === 401) headers["www-authenticate"] = 'Bearer realm="fizz"';
  if (close) headers.connection = "close";
  res.writeHead(status, headers);
  res.end(req.method === "HEAD" ? undefined : text);
}

function hasBodySafe(req: IncomingMessage): boolean {
  try {
    return hasBody(req);
  } catch {
    return true;
  }
}

/**
 * Reads and drops what the client is still sending, up to `cap` bytes and
 * `ms`; true when the body ended within both (the connection can be reused).
 */
function discard(req: IncomingMessage, cap: number, ms: number): Promise<boolean> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (Number.isFinite(declared) && declared > cap) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("close", onClose);
      resolve(ok);
    };
    const onData = (c: Buffer) => {
      seen += c.length;
      if (seen > cap) finish(false);
    };
    const onEnd = () => finish(true);
    const onClose = () => finish(req.readableEnded);
    const timer = setTimeout(() => finish(false), ms);
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("close", onClose);
    req.on("error", () => undefined);
    req.resume();
  });
}

function onClientError(err: NodeJS.ErrnoException, socket: Socket): void {
  const [status, reason, code] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? ([431, "Request Header Fields Too Large", "api.headers_too_large"] as const)
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? ([408, "Request Timeout", "api.timeout"] as const)
        : ([400, "Bad Request", "api.bad_request"] as const);
  rawAnswer(socket, status, reason, code, `malformed HTTP request (${err.code ?? "parse error"})`);
}

/** Answers on a socket the HTTP layer has given up on, then closes it. */
function rawAnswer(socket: Socket, status: number, reason: string, code: string, message: string): void {
  if (socket.writable && !socket.destroyed) {
    const body = JSON.stringify({ code, message });
    try {
      socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    } catch {
      /* the peer is gone */
    }
  }
  setTimeout(() => socket.destroy(), 1000).unref?.();
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(httpError(408, "api.timeout", `request body not received within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

const noop = () => undefined;
const silentLogger = { trace: noop, debug: noop, info: noop, warn: noop, error: noop, fatal: noop, child: () => silentLogger };
