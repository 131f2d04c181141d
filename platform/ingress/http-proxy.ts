/**
 * The HTTP/1.x reverse proxy on one listener: reads request heads from a
 * client connection, routes them by Host and path, and relays each exchange
 * over a keep-alive upstream connection to the least-loaded ready replica.
 * The request head is rewritten only to set the forwarding headers and drop
 * hop-by-hop ones; the response is passed through as received, with its
 * framing tracked to know when it ends. A connection that cannot be made is
 * retried on another replica, as is an idempotent request whose connection
 * closed before any response byte; with no ready replica a request waits up to
 * a bound. WebSocket (Upgrade) exchanges become a tunnel after 101.
 *
 * A session keeps one of everything an exchange needs (the Exchange, its two
 * body trackers, the scanned request and response heads, the metrics record)
 * and reuses them for each request on its connection, and the upstream head is
 * built in one buffer shared by all sessions and written out at once: the
 * usual request allocates nothing here (garbage per request is what the
 * ingress bench's CPU per request paid for in collections).
 */
import type { Cidr } from "../../core/ingress/address.ts";
import type { Backend } from "../../core/ingress/balancer.ts";
import { ChunkedScanner } from "../../core/ingress/chunked.ts";
import { FORWARDING_HEADERS, forwardedNode, forwardingHeaders } from "../../core/ingress/forwarded.ts";
import { inAnyCidr } from "../../core/ingress/address.ts";
import { HOP_BY_HOP, MAX_HEAD_BYTES, headEnd, responseHeadEnd, isHeadError, parseRequestHead, type BodyFraming, type Header, type RequestHead } from "../../core/ingress/http-head.ts";
import { RequestScan, ResponseScan, scanRequestHeadInto, scanResponseHeadInto } from "../../core/ingress/http-scan.ts";
import type { BackendSet } from "./backends.ts";
import type { Conn } from "./sockets.ts";
import { ConnectError } from "./sockets.ts";
import type { PooledConn, Upstream, UpstreamOwner, UpstreamPool } from "./upstream-pool.ts";

export interface RouteHit {
  readonly backends: BackendSet;
  /** Container port is in the upstream; this is what metrics call the route. */
  readonly route: string;
}

/** What `record` gets per exchange; the object is reused (read it during the call, do not keep it). */
export interface ExchangeRecord {
  readonly route: string;
  readonly status: number;
  readonly seconds: number;
  readonly retries: number;
  /** Upstream failures seen while serving it (connect failures, early closes). */
  readonly upstreamErrors: number;
}

export interface HttpProxyConfig {
  readonly scheme: "http" | "https";
  readonly trusted: readonly Cidr[];
  /** Route lookup for a request; undefined = 404. */
  resolve(host: string, target: string): RouteHit | undefined;
  /** HTTP-01: the key authorization for a token, if this cluster has one pending. */
  acmeChallenge?(token: string): string | undefined;
  readonly pool: UpstreamPool;
  /** How long a request waits for a ready replica before 503. */
  readonly waitForReadyMs: number;
  /** Upstream attempts per request (first try + retries). */
  readonly maxAttempts: number;
  /** Idle keep-alive client connections are closed after this. */
  readonly clientIdleMs: number;
  /** A response must start within this. */
  readonly responseTimeoutMs: number;
  record?(r: ExchangeRecord): void;
  now(): number;
}

const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE", "TRACE"]);
const CHALLENGE = "/.well-known/acme-challenge/";
/** Request bodies up to this are kept so a failed attempt can be retried. */
const RETRY_BODY_BYTES = 64 * 1024;
const NO_BODY_COPY = Object.freeze([]) as unknown as Uint8Array[];
const enc = new TextEncoder();

/**
 * Where upstream heads are built, shared by every session: each head is built
 * and written in one go (the connection copies what the kernel does not take),
 * and built again from the client's bytes for a retry.
 */
let scratch = Buffer.allocUnsafe(4096);

function concat(a: Uint8Array | undefined, b: Uint8Array): Uint8Array {
  if (!a || a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Copies src[from, to) into out at `at`. Buffer's copy, not out.set(src.subarray(...)):
 * on Bun a Buffer's subarray costs ~190 ns and set() from it ~900 ns, copy ~0
 * (measured with the data buffers the sockets deliver).
 */
function copyBytes(src: Uint8Array, out: Uint8Array, at: number, from: number, to: number): void {
  Buffer.prototype.copy.call(src, out, at, from, to);
}

function latin1(b: Uint8Array, end: number): string {
  return Buffer.from(b.buffer, b.byteOffset, end).toString("latin1");
}

const REASONS: Record<number, string> = { 400: "Bad Request", 404: "Not Found", 408: "Request Timeout", 413: "Payload Too Large", 431: "Request Header Fields Too Large", 501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout", 505: "HTTP Version Not Supported", 200: "OK" };

export function simpleResponse(status: number, body: string, close: boolean, extra = ""): Uint8Array {
  return enc.encode(
    `HTTP/1.1 ${status} ${REASONS[status] ?? "Error"}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\n${close ? "connection: close\r\n" : ""}${extra}\r\n${body}`,
  );
}

/** Body progress of one direction of an exchange; reset for each message. */
class BodyTracker {
  kind: BodyFraming["kind"] = "none";
  private left = 0;
  private chunked: ChunkedScanner | undefined = undefined;
  done = true;
  error: string | undefined = undefined;

  reset(kind: BodyFraming["kind"], length: number): void {
    this.kind = kind;
    this.left = kind === "length" ? length : 0;
    this.done = kind === "none" || (kind === "length" && length === 0);
    this.error = undefined;
    if (kind === "chunked") (this.chunked ??= new ChunkedScanner()).reset();
  }

  /** How many bytes of `b` from `from` on belong to the body; sets done/error. */
  take(b: Uint8Array, from = 0): number {
    if (this.done) return 0;
    switch (this.kind) {
      case "length": {
        const n = Math.min(this.left, b.length - from);
        this.left -= n;
        if (this.left === 0) this.done = true;
        return n;
      }
      case "chunked": {
        const s = this.chunked!.feed(b, from);
        if (s.kind === "error") {
          this.error = s.reason;
          return 0;
        }
        if (s.kind === "done") this.done = true;
        return s.used;
      }
      default:
        return b.length - from;
    }
  }
}

/** The request facts from a head the general parser read (a Connection header naming other headers), as a scan would have. */
function fillFromParsed(out: RequestScan, h: RequestHead): void {
  out.method = h.method;
  out.target = h.target;
  out.minor = h.minor;
  out.host = h.host;
  out.body = h.body.kind;
  out.length = h.body.kind === "length" ? h.body.length : 0;
  out.keepAlive = h.keepAlive;
  out.upgrade = h.upgrade;
  out.expectContinue = h.expectContinue;
  out.drop.length = 0;
  out.forwarding = undefined;
  out.lineEnd = 0;
}

type Phase = "head" | "dispatch" | "request-body" | "response" | "tunnel" | "closed";

/**
 * One request and its response. A session has one and reuses it for each
 * request on its connection; `gen` tells the requests apart, so a callback
 * left from an earlier one (a connect, a wait) knows it is stale.
 */
class Exchange {
  gen = 0;
  hit!: RouteHit;
  started = 0;
  /** The client's bytes the upstream head is built from ([0, srcEnd)), kept for a retry; or the built head itself (`upHead`, the general parser's path). */
  src: Uint8Array | undefined = undefined;
  srcEnd = 0;
  upHead: Uint8Array | undefined = undefined;
  readonly reqBody = new BodyTracker();
  /** Body bytes kept for a retry (undefined once more than RETRY_BODY_BYTES were taken), or sent on the first attach. */
  bodyCopy: Uint8Array[] | undefined = undefined;
  bodyCopyBytes = 0;
  attempts = 0;
  upstreamErrors = 0;
  /** Replicas tried this round: the first one alone in `firstTried`, a list only once there is a retry (most requests have none). */
  firstTried: string | undefined = undefined;
  tried: string[] | undefined = undefined;
  backend: Backend<Upstream> | undefined = undefined;
  up: PooledConn | undefined = undefined;
  /** Whether the final response head came (resBody is then its body). */
  resHead = false;
  readonly resBody = new BodyTracker();
  resHeadBuf: Uint8Array | undefined = undefined;
  resBytes = 0;
  status = 0;
  resKeepAlive = false;
  cancelWait: (() => void) | undefined = undefined;
  settled = false;
  /** Attempts made before the last wait for the replica set to change. */
  round = 0;

  constructor(readonly req: RequestScan) {}

  begin(hit: RouteHit, now: number): void {
    this.gen++;
    this.hit = hit;
    this.started = now;
    this.src = undefined;
    this.srcEnd = 0;
    this.upHead = undefined;
    this.reqBody.reset(this.req.body, this.req.length);
    // Nothing to keep for a request without a body: a shared (frozen) empty list.
    this.bodyCopy = this.req.body === "none" ? NO_BODY_COPY : [];
    this.bodyCopyBytes = 0;
    this.attempts = 0;
    this.upstreamErrors = 0;
    this.firstTried = undefined;
    this.tried = undefined;
    this.backend = undefined;
    this.up = undefined;
    this.resHead = false;
    this.resHeadBuf = undefined;
    this.resBytes = 0;
    this.status = 0;
    this.resKeepAlive = false;
    this.cancelWait = undefined;
    this.settled = false;
    this.round = 0;
  }

  /** Drops what the finished exchange still points at (the client's and body bytes, the route). */
  release(): void {
    this.src = undefined;
    this.upHead = undefined;
    this.bodyCopy = undefined;
    this.resHeadBuf = undefined;
  }
}

/** One client connection. */
export class HttpSession implements UpstreamOwner {
  private buf: Uint8Array | undefined;
  private phase: Phase = "head";
  private ex: Exchange | undefined;
  private deadline: number;
  private readonly peer: string;
  private readonly peerTrusted: boolean;
  private readonly peerNode: string;
  /** Reused for every request of this connection (see the file's header). */
  private readonly scan = new RequestScan();
  private readonly resScan = new ResponseScan();
  private readonly exchange = new Exchange(this.scan);
  private readonly rec = { route: "", status: 0, seconds: 0, retries: 0, upstreamErrors: 0 };

  constructor(
    private readonly client: Conn,
    private readonly cfg: HttpProxyConfig,
    /** The client's address when a trusted PROXY header said so. */
    peer?: string,
  ) {
    this.peer = peer ?? client.remoteAddress;
    this.peerTrusted = inAnyCidr(cfg.trusted, this.peer);
    this.peerNode = forwardedNode(this.peer);
    this.deadline = cfg.now() + cfg.clientIdleMs;
    client.setHandlers({
      onData: (d) => this.onClientData(d),
      onDrain: () => this.ex?.up?.conn.resume(),
      onEnd: () => this.onClientEnd(),
      onClose: () => this.onClientClose(),
    });
  }

  /** Called by the listener's sweep; closes what overstayed. */
  tick(now: number): void {
    if (now < this.deadline || this.phase === "tunnel" || this.phase === "closed") return;
    if (this.phase === "head") this.client.destroy();
    else if (this.phase === "response" && this.ex && this.ex.resBytes === 0) this.failExchange(504, "the backend did not answer in time");
  }

  get closed(): boolean {
    return this.phase === "closed";
  }

  // ---- client side ---------------------------------------------------------

  private onClientData(d: Uint8Array): void {
    switch (this.phase) {
      case "tunnel":
        if (this.ex?.up && !this.ex.up.conn.write(d)) this.client.pause();
        return;
      case "request-body":
        this.forwardBody(d);
        return;
      case "head":
        this.buf = concat(this.buf, d);
        this.readHead();
        return;
      default:
        // Pipelined bytes while an exchange runs: keep them, and stop reading until it ends.
        this.buf = concat(this.buf, d);
        if (this.buf.length > MAX_HEAD_BYTES) this.client.pause();
    }
  }

  private onClientEnd(): void {
    if (this.phase === "head" && (!this.buf || this.buf.length === 0)) this.client.end();
    else if (this.phase === "tunnel") this.ex?.up?.conn.end();
  }

  private onClientClose(): void {
    const ex = this.ex;
    this.phase = "closed";
    if (!ex) return;
    ex.cancelWait?.();
    // The exchange dies with the client: its upstream connection is not reusable mid-exchange.
    if (ex.up) ex.up.conn.destroy();
    this.settle(ex, "failed-client");
    ex.release();
  }

  /** Reads the next request head from buf (only between exchanges: the scan and the exchange are reused). */
  private readHead(): void {
    const buf = this.buf!;
    const end = headEnd(buf);
    if (end < 0) {
      if (buf.length > MAX_HEAD_BYTES) this.reject(431, "request head too large");
      return;
    }
    this.buf = end < buf.length ? buf.subarray(end) : undefined;
    const req = this.scan;
    const scanned = scanRequestHeadInto(buf, end, req);
    let upHead: Uint8Array | undefined;
    if (scanned === "fallback") {
      // A Connection header naming other headers: the general parser and builder.
      const parsed = parseRequestHead(latin1(buf, end - 4));
      if (isHeadError(parsed)) return this.reject(parsed.status, parsed.reason);
      fillFromParsed(req, parsed);
      upHead = this.upstreamHead(parsed);
    } else if (scanned !== undefined) {
      return this.reject(scanned.status, scanned.reason);
    }
    if (req.target.startsWith(CHALLENGE) && this.cfg.acmeChallenge && (req.method === "GET" || req.method === "HEAD")) {
      const token = req.target.slice(CHALLENGE.length);
      const answer = this.cfg.acmeChallenge(token);
      this.answerLocally(req, answer === undefined ? 404 : 200, answer ?? "no such challenge\n");
      return;
    }
    const hit = this.cfg.resolve(req.host, req.target);
    if (!hit) {
      this.answerLocally(req, 404, `no route for ${req.host || "(no host)"}${req.target.split("?")[0]}\n`);
      return;
    }
    const ex = this.exchange;
    ex.begin(hit, this.cfg.now());
    if (upHead) ex.upHead = upHead;
    else {
      ex.src = buf;
      ex.srcEnd = end;
    }
    this.startExchange(ex);
  }

  /** Answers without a backend; a request body, if any, cannot be skipped safely, so the connection closes. */
  private answerLocally(req: RequestScan, status: number, body: string): void {
    const close = !req.keepAlive || req.body !== "none";
    this.client.write(simpleResponse(status, req.method === "HEAD" ? "" : body, close));
    if (close) {
      this.phase = "closed";
      this.client.end();
      return;
    }
    this.deadline = this.cfg.now() + this.cfg.clientIdleMs;
    if (this.buf) this.readHead();
  }

  private reject(status: number, reason: string): void {
    this.phase = "closed";
    this.client.write(simpleResponse(status, `${reason}\n`, true));
    this.client.end();
  }

  private upstreamHead(req: RequestHead): Uint8Array {
    const f = forwardingHeaders(req.headers, req.host, { peer: this.peer, proto: this.cfg.scheme, trusted: this.cfg.trusted, peerTrusted: this.peerTrusted, peerNode: this.peerNode });
    let connTokens: string[] | undefined;
    for (const h of req.headers) if (h.name === "connection") (connTokens ??= []).push(...h.value.toLowerCase().split(",").map((t) => t.trim()));
    let head = `${req.method} ${req.target} HTTP/1.${req.minor}\r\n`;
    for (const h of req.headers) {
      const n = h.name;
      if (FORWARDING_HEADERS.has(n)) continue;
      if ((HOP_BY_HOP.has(n) || (connTokens !== undefined && connTokens.includes(n))) && !(n === "transfer-encoding" || (req.upgrade && n === "upgrade"))) continue;
      head += `${h.line}\r\n`;
    }
    head += `x-forwarded-for: ${f.xForwardedFor}\r\nforwarded: ${f.forwarded}\r\nx-forwarded-proto: ${f.xForwardedProto}\r\n`;
    if (f.xForwardedHost) head += `x-forwarded-host: ${f.xForwardedHost}\r\n`;
    if (req.upgrade) head += "connection: upgrade\r\n";
    else if (req.minor === 0) head += "connection: keep-alive\r\n";
    head += "\r\n";
    return Buffer.from(head, "latin1");
  }

  /** The forwarding (and connection) lines appended to a passed-on head; cached per host for the usual case. */
  private suffixCache: { host: string; minor: number; buf: Uint8Array } | undefined;

  private suffix(f: RequestScan): Uint8Array {
    const simple = (!this.peerTrusted || f.forwarding === undefined) && f.upgrade === undefined;
    const c = this.suffixCache;
    if (simple && c && c.host === f.host && c.minor === f.minor) return c.buf;
    const incoming: Header[] = [];
    if (this.peerTrusted && f.forwarding) {
      const fw = f.forwarding;
      if (fw.xff !== undefined) incoming.push({ name: "x-forwarded-for", value: fw.xff, line: "" });
      if (fw.forwarded !== undefined) incoming.push({ name: "forwarded", value: fw.forwarded, line: "" });
      if (fw.proto !== undefined) incoming.push({ name: "x-forwarded-proto", value: fw.proto, line: "" });
      if (fw.host !== undefined) incoming.push({ name: "x-forwarded-host", value: fw.host, line: "" });
    }
    const h = forwardingHeaders(incoming, f.host, { peer: this.peer, proto: this.cfg.scheme, trusted: this.cfg.trusted, peerTrusted: this.peerTrusted, peerNode: this.peerNode });
    let text = `x-forwarded-for: ${h.xForwardedFor}\r\nforwarded: ${h.forwarded}\r\nx-forwarded-proto: ${h.xForwardedProto}\r\n`;
    if (h.xForwardedHost) text += `x-forwarded-host: ${h.xForwardedHost}\r\n`;
    if (f.upgrade !== undefined) text += `connection: upgrade\r\nupgrade: ${f.upgrade}\r\n`;
    else if (f.minor === 0) text += "connection: keep-alive\r\n";
    const buf = Buffer.from(text, "latin1");
    if (simple) this.suffixCache = { host: f.host, minor: f.minor, buf };
    return buf;
  }

  /**
   * Builds the head to send upstream into `scratch` (the client's bytes minus
   * dropped lines, plus the forwarding lines) and returns its length. The
   * caller writes it before anything else can use `scratch`.
   */
  private buildHead(src: Uint8Array, end: number): number {
    const f = this.scan;
    const suffix = this.suffix(f);
    const limit = end - 2;
    let total = limit + suffix.length + 2;
    const d = f.drop;
    for (let k = 0; k < d.length; k += 2) total -= d[k + 1]! - d[k]!;
    if (scratch.length < total) scratch = Buffer.allocUnsafe(Math.max(total, scratch.length * 2));
    const out = scratch;
    let o = 0;
    let from = 0;
    for (let k = 0; k < d.length; k += 2) {
      copyBytes(src, out, o, from, d[k]!);
      o += d[k]! - from;
      from = d[k + 1]!;
    }
    copyBytes(src, out, o, from, limit);
    o += limit - from;
    copyBytes(suffix, out, o, 0, suffix.length);
    o += suffix.length;
    out[o] = 0x0d;
    out[o + 1] = 0x0a;
    return total;
  }

  private startExchange(ex: Exchange): void {
    this.ex = ex;
    this.phase = "dispatch";
    // Body bytes that came with the head are part of the exchange.
    const early = this.buf;
    this.buf = undefined;
    if (early) this.takeBody(ex, early);
    // A request body waits in the kernel until an upstream connection is there.
    if (!ex.reqBody.done) this.client.pause();
    this.dispatch(ex, ex.started);
  }

  /** Accounts request body bytes: kept for retries (and for the first attach), the rest (next request) back into buf. */
  private takeBody(ex: Exchange, d: Uint8Array): Uint8Array {
    const n = ex.reqBody.take(d);
    const body = n === d.length ? d : d.subarray(0, n);
    if (n < d.length && !ex.reqBody.error) this.buf = concat(this.buf, d.subarray(n));
    if (ex.bodyCopy && n > 0) {
      ex.bodyCopy.push(body);
      ex.bodyCopyBytes += n;
      // Past the bound no retry is possible; bytes not yet sent (no upstream yet) are kept for the first attach all the same.
      if (ex.bodyCopyBytes > RETRY_BODY_BYTES && ex.up !== undefined) ex.bodyCopy = undefined;
    }
    return body;
  }

  /** `now` only when the caller just read the clock (one read per request is enough; it is not free). */
  private dispatch(ex: Exchange, now = this.cfg.now()): void {
    if (this.ex !== ex || this.phase === "closed") return;
    const bal = ex.hit.backends.balancer;
    if (ex.tried === undefined && ex.firstTried !== undefined) ex.tried = [ex.firstTried];
    const b = bal.pick(now, ex.tried);
    if (!b) {
      // No replica ready (a rollout, a scale from zero), or every one tried has
      // refused (a replica stopping while its replacement is not yet known here):
      // wait for the replica set to change, bounded, then try again.
      const left = ex.started + this.cfg.waitForReadyMs - now;
      const noneReady = bal.ready() === 0;
      if (left > 0 && (noneReady || this.canResend(ex))) {
        this.waitForReplicas(ex, left, noneReady);
        return;
      }
      this.failExchange(noneReady ? 503 : 502, noneReady ? "no replica of this service is ready" : "no replica could be reached");
      return;
    }
    ex.cancelWait = undefined;
    ex.attempts++;
    if (ex.tried) ex.tried.push(b.key);
    else ex.firstTried = b.key;
    ex.backend = b;
    bal.start(b);
    const pooled = this.cfg.pool.take(b.target);
    if (pooled) {
      this.attach(ex, pooled, now);
      return;
    }
    this.connectTo(ex, b);
  }

  /** The waiting half of dispatch (its closures kept out of dispatch, which runs per request). */
  private waitForReplicas(ex: Exchange, left: number, noneReady: boolean): void {
    const gen = ex.gen;
    ex.cancelWait = ex.hit.backends.wait(
      left,
      () => {
        if (ex.gen !== gen) return;
        ex.firstTried = undefined;
        ex.tried = undefined;
        ex.round = ex.attempts;
        this.dispatch(ex);
      },
      () => {
        if (this.ex !== ex || ex.gen !== gen) return;
        this.failExchange(noneReady ? 503 : 502, noneReady ? "no replica of this service is ready" : "no replica could be reached");
      },
    );
  }

  /** A new upstream connection for the exchange (its closures kept out of dispatch). */
  private connectTo(ex: Exchange, b: Backend<Upstream>): void {
    const gen = ex.gen;
    const bal = ex.hit.backends.balancer;
    this.cfg.pool.connect(b.target).then(
      (pc) => {
        if (this.ex !== ex || ex.gen !== gen || this.phase === "closed") {
          pc.conn.destroy();
          return;
        }
        this.attach(ex, pc);
      },
      (e: unknown) => {
        // An exchange that ended meanwhile has finished its replica already (settle).
        if (this.ex !== ex || ex.gen !== gen || ex.backend !== b) return;
        ex.upstreamErrors++;
        bal.finish(b, e instanceof ConnectError && e.kind === "refused" ? "refused" : "failed", this.cfg.now());
        ex.backend = undefined;
        this.retryOrFail(ex, 502, `could not connect to a replica: ${(e as Error).message}`);
      },
    );
  }

  /** Whether the request can go out again: nothing of the response came, and the body (if any) is kept whole. */
  private canResend(ex: Exchange): boolean {
    return ex.resBytes === 0 && ex.bodyCopy !== undefined && ex.bodyCopyBytes <= RETRY_BODY_BYTES && (ex.reqBody.done || ex.req.body === "none" || ex.attempts === 0);
  }

  private retryOrFail(ex: Exchange, status: number, reason: string): void {
    if (this.ex !== ex || this.phase === "closed") return;
    // maxAttempts per round; a round ends when the request waited for the replica set to change.
    if (ex.attempts - ex.round < this.cfg.maxAttempts && this.canResend(ex)) {
      this.dispatch(ex);
      return;
    }
    this.failExchange(status, reason);
  }

  // Events of the upstream connection this session holds (see attach).
  upData(pc: PooledConn, d: Uint8Array): void {
    if (this.ex) this.onUpstreamData(this.ex, pc, d);
    else pc.conn.destroy();
  }
  upDrain(): void {
    this.client.resume();
  }
  upEnd(pc: PooledConn): void {
    if (this.ex) this.onUpstreamEnd(this.ex, pc);
    else pc.conn.destroy();
  }
  upClose(pc: PooledConn): void {
    if (this.ex) this.onUpstreamClose(this.ex, pc);
  }

  private attach(ex: Exchange, pc: PooledConn, now = this.cfg.now()): void {
    ex.up = pc;
    pc.owner = this;
    this.phase = ex.reqBody.done ? "response" : "request-body";
    this.deadline = now + this.cfg.responseTimeoutMs;
    const body = ex.bodyCopy;
    let flowing: boolean;
    if (ex.upHead === undefined && (body === undefined || body.length === 0)) {
      // The usual request: the head built and written in one go from the shared scratch buffer.
      flowing = pc.conn.writeScratch(scratch, this.buildHead(ex.src!, ex.srcEnd));
    } else {
      let out: Uint8Array = ex.upHead ?? Uint8Array.prototype.slice.call(scratch, 0, this.buildHead(ex.src!, ex.srcEnd));
      if (body) for (const b of body) out = concat(out, b);
      flowing = pc.conn.write(out);
      // Body bytes past the retry bound were kept only to be sent once: sent now.
      if (ex.bodyCopyBytes > RETRY_BODY_BYTES) ex.bodyCopy = undefined;
    }
    if (this.phase === "request-body" || ex.req.upgrade) {
      if (flowing) this.client.resume();
    } else if (ex.req.keepAlive) {
      // Read ahead (pipelined requests are buffered, bounded) so a client FIN is seen.
      this.client.resume();
    }
  }

  private forwardBody(d: Uint8Array): void {
    const ex = this.ex!;
    const body = this.takeBody(ex, d);
    if (ex.reqBody.error) {
      this.failExchange(400, `bad request body: ${ex.reqBody.error}`);
      return;
    }
    if (ex.up && body.length > 0 && !ex.up.conn.write(body)) this.client.pause();
    if (ex.reqBody.done) this.phase = "response";
  }

  // ---- upstream side -------------------------------------------------------

  private onUpstreamData(ex: Exchange, pc: PooledConn, d: Uint8Array): void {
    if (this.ex !== ex || ex.up !== pc) return;
    if (this.phase === "tunnel") {
      if (!this.client.write(d)) pc.conn.pause();
      return;
    }
    // Body bytes are `src` from `from` on; no views are made in the usual case (a Buffer's subarray is costly on Bun).
    let src = d;
    let from = 0;
    // The final head is sent together with the body bytes that came with it: one write, one segment.
    while (!ex.resHead) {
      const buf = concat(ex.resHeadBuf, from === 0 ? src : src.subarray(from));
      const end = responseHeadEnd(buf);
      if (end < 0) {
        if (buf.length > MAX_HEAD_BYTES) return this.upstreamBroken(ex, pc, "response head too large");
        ex.resHeadBuf = buf;
        return;
      }
      ex.resHeadBuf = undefined;
      const parsed = this.resScan;
      const bad = scanResponseHeadInto(buf, end, ex.req.method, parsed);
      if (bad !== undefined) return this.upstreamBroken(ex, pc, bad.reason);
      ex.resBytes += end;
      ex.status = parsed.status;
      src = buf;
      from = end;
      if (parsed.status === 101 && ex.req.upgrade) {
        this.phase = "tunnel";
        this.client.write(buf);
        this.client.resume();
        return;
      }
      if (parsed.status < 200) {
        // Interim (100 Continue, 103 Early Hints): pass on, wait for the final one.
        this.client.write(buf.subarray(0, end));
        continue;
      }
      ex.resKeepAlive = parsed.keepAlive;
      ex.resBody.reset(parsed.body, parsed.length);
      ex.resHead = true;
    }
    const left = src.length - from;
    const n = left > 0 ? ex.resBody.take(src, from) : 0;
    if (ex.resBody.error) return this.upstreamBroken(ex, pc, ex.resBody.error);
    ex.resBytes += n;
    // With the head: the head and the body bytes that belong to it; without (from is 0 then): the body bytes.
    const out = n === left ? src : src.subarray(0, from + n);
    if (out.length > 0 && !this.client.write(out)) pc.conn.pause();
    if (ex.resBody.done) this.finishExchange(ex, pc, ex.resKeepAlive && ex.reqBody.done && ex.resBody.kind !== "close");
  }

  private onUpstreamEnd(ex: Exchange, pc: PooledConn): void {
    if (this.ex !== ex || ex.up !== pc) return;
    if (this.phase === "tunnel") {
      this.client.end();
      return;
    }
    if (ex.resHead && ex.resBody.kind === "close") {
      ex.resBody.done = true;
      this.finishExchange(ex, pc, false);
      return;
    }
    pc.conn.destroy();
  }

  private onUpstreamClose(ex: Exchange, pc: PooledConn): void {
    if (this.ex !== ex || ex.up !== pc) return;
    if (this.phase === "tunnel") {
      this.client.destroy();
      return;
    }
    if (ex.resHead && ex.resBody.done) return;
    ex.up = undefined;
    ex.upstreamErrors++;
    const b = ex.backend;
    ex.backend = undefined;
    // A reused connection the server had closed says nothing about the replica; a fresh one closed
    // before any byte is a refusal (a relay refusing a stopping replica, a dying process): eject at once.
    if (b) ex.hit.backends.balancer.finish(b, ex.resBytes > 0 ? "failed" : pc.reused ? "ok" : "refused", this.cfg.now());
    if (ex.resBytes > 0) {
      // Part of the response is out: nothing to do but cut the client off too.
      this.settle(ex, "failed-upstream");
      this.phase = "closed";
      this.client.destroy();
      return;
    }
    // Nothing came back: a reused connection the server had closed, or a replica that died.
    if (pc.reused || IDEMPOTENT.has(ex.req.method)) this.retryOrFail(ex, 502, "the replica closed the connection without answering");
    else this.failExchange(502, "the replica closed the connection without answering");
  }

  private upstreamBroken(ex: Exchange, pc: PooledConn, reason: string): void {
    pc.conn.destroy();
    if (ex.resBytes === 0) {
      const b = ex.backend;
      ex.backend = undefined;
      ex.up = undefined;
      if (b) ex.hit.backends.balancer.finish(b, "failed", this.cfg.now());
      this.failExchange(502, `bad response from the replica: ${reason}`);
    }
  }

  private finishExchange(ex: Exchange, pc: PooledConn, reusable: boolean): void {
    const now = this.cfg.now();
    // A draining replica's connection is closed, not pooled: its node waits for those to go (drain).
    const draining = ex.backend !== undefined && ex.backend.state === "draining";
    if (ex.backend) ex.hit.backends.balancer.finish(ex.backend, ex.status >= 500 ? "failed" : "ok", now);
    ex.backend = undefined;
    ex.up = undefined;
    if (reusable && !draining) this.cfg.pool.give(pc, now);
    else pc.conn.destroy();
    this.settle(ex, "done", now);
    const keep = ex.req.keepAlive && ex.resKeepAlive && ex.resBody.kind !== "close" && this.phase !== "closed";
    ex.release();
    this.ex = undefined;
    if (!keep) {
      this.phase = "closed";
      this.client.end();
      return;
    }
    this.phase = "head";
    this.deadline = now + this.cfg.clientIdleMs;
    this.client.resume();
    if (this.buf) this.readHead();
  }

  private failExchange(status: number, reason: string): void {
    const ex = this.ex;
    if (!ex) return;
    ex.cancelWait?.();
    if (ex.up) ex.up.conn.destroy();
    if (ex.backend) ex.hit.backends.balancer.finish(ex.backend, "failed", this.cfg.now());
    ex.backend = undefined;
    ex.up = undefined;
    ex.status = status;
    this.settle(ex, "done");
    ex.release();
    this.ex = undefined;
    this.phase = "closed";
    const extra = status === 503 ? "retry-after: 1\r\n" : "";
    this.client.write(simpleResponse(status, `${reason}\n`, true, extra));
    this.client.end();
  }

  private settle(ex: Exchange, how: "done" | "failed-client" | "failed-upstream", now = this.cfg.now()): void {
    if (ex.settled) return;
    ex.settled = true;
    if (ex.backend) ex.hit.backends.balancer.finish(ex.backend, how === "failed-client" ? "ok" : "failed", now);
    ex.backend = undefined;
    if (this.cfg.record === undefined) return;
    const r = this.rec;
    r.route = ex.hit.route;
    r.status = how === "done" ? ex.status : how === "failed-client" ? 499 : 502;
    r.seconds = (now - ex.started) / 1000;
    r.retries = ex.attempts > 1 ? ex.attempts - 1 : 0;
    r.upstreamErrors = ex.upstreamErrors;
    this.cfg.record(r);
  }
}
