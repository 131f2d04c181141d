/**
 * One small TCP connection interface for the proxy's data path, over Bun's
 * native sockets (Bun.listen / Bun.connect) on Bun and node:net elsewhere
 * (Deno). Bun's native API serves about twice the requests per CPU second of
 * node:net in Bun (docs/ENGINEERING.md, bench/ingress.ts), which is the
 * difference between reaching haproxy's throughput or not.
 *
 * Writes never drop bytes: what the kernel does not take is queued and
 * flushed on drain, and `write` returns false so the caller can pause the
 * other side (backpressure). `end` half-closes after the queue is flushed.
 */
import net from "node:net";
import { bunTcp } from "../runtime.ts";

export interface ConnHandlers {
  onData(buf: Uint8Array): void;
  /** Everything queued has been handed to the kernel. */
  onDrain(): void;
  /** The peer half-closed (FIN). */
  onEnd(): void;
  /** Gone, either way; called once. */
  onClose(): void;
}

export interface Conn {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  setHandlers(h: ConnHandlers): void;
  /** Bytes the next setHandlers() delivers first (what a PROXY header reader read past the header). */
  prepend(b: Uint8Array): void;
  /** False when bytes are queued: wait for onDrain before writing more. `b` is kept until sent (do not change it). */
  write(b: Uint8Array): boolean;
  /** Like write, for b[0, length) of a buffer the caller reuses right after the call: what is not sent at once is copied. */
  writeScratch(b: Uint8Array, length: number): boolean;
  /** Half-close once queued bytes are out. */
  end(): void;
  destroy(): void;
  pause(): void;
  resume(): void;
  readonly closed: boolean;
}

export interface TcpListener {
  readonly port: number;
  close(): void;
}

const NOOP: ConnHandlers = { onData() {}, onDrain() {}, onEnd() {}, onClose() {} };

/** Strips the brackets and the IPv4-mapped prefix sockets report (::ffff:1.2.3.4 → 1.2.3.4). */
export function plainAddress(a: string | undefined): string {
  if (!a) return "";
  return a.startsWith("::ffff:") && a.includes(".") ? a.slice(7) : a;
}

// ---------------------------------------------------------------- Bun

interface BunSocket {
  write(b: Uint8Array, byteOffset?: number, byteLength?: number): number;
  end(): void;
  shutdown(halfClose?: boolean): void;
  terminate(): void;
  pause(): void;
  resume(): void;
  setNoDelay(v?: boolean): boolean;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
  data: BunConn | undefined;
}

interface BunHandlers {
  open?(s: BunSocket): void;
  data?(s: BunSocket, d: Uint8Array): void;
  drain?(s: BunSocket): void;
  end?(s: BunSocket): void;
  close?(s: BunSocket): void;
  error?(s: BunSocket, e: Error): void;
  connectError?(s: BunSocket, e: Error): void;
}

type BunListen = (o: { hostname: string; port: number; allowHalfOpen?: boolean; socket: BunHandlers }) => { port: number; stop(closeActive?: boolean): void };
type BunConnect = (o: { hostname: string; port: number; allowHalfOpen?: boolean; socket: BunHandlers }) => Promise<BunSocket>;

/**
 * What both socket flavours share: bytes that arrive before the handlers are
 * set (or that a sniffer put back with `prepend`) are held, then handed over
 * in order when `setHandlers` is called.
 */
abstract class HeldUntilHandled {
  protected h: ConnHandlers = NOOP;
  private early: Uint8Array[] | undefined = [];

  setHandlers(h: ConnHandlers): void {
    this.h = h;
    const early = this.early;
    this.early = undefined;
    if (early) for (const b of early) h.onData(b);
  }

  prepend(b: Uint8Array): void {
    this.early = [b, ...(this.early ?? [])];
  }

  data(d: Uint8Array): void {
    if (this.early) this.early.push(d);
    else this.h.onData(d);
  }
}

class BunConn extends HeldUntilHandled implements Conn {
  private queue: Uint8Array[] = [];
  private ending = false;
  closed = false;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;

  constructor(private readonly s: BunSocket) {
    super();
    this.remoteAddress = plainAddress(s.remoteAddress);
    this.remotePort = s.remotePort;
    this.localAddress = plainAddress(s.localAddress);
    this.localPort = s.localPort;
  }

  /**
   * A call on the native socket. Bun throws on some calls once the peer has
   * gone (before our close handler ran); in a socket callback that would be
   * an uncaught exception and take the agent down, so a failed call counts as
   * the connection being gone.
   */
  private sock<R>(f: (s: BunSocket) => R, otherwise: R): R {
    try {
      return f(this.s);
    } catch {
      return otherwise;
    }
  }


  write(b: Uint8Array): boolean {
    if (this.closed) return false;
    if (this.queue.length > 0) {
      this.queue.push(b);
      return false;
    }
    // Inline rather than through sock(): no closure per write on the hot path.
    let n: number;
    try {
      n = this.s.write(b);
    } catch {
      n = -1;
    }
    if (n === b.length) return true;
    this.queue.push(n > 0 ? b.subarray(n) : b);
    return false;
  }

  writeScratch(b: Uint8Array, length: number): boolean {
    if (this.closed) return false;
    if (this.queue.length > 0) {
      this.queue.push(Uint8Array.prototype.slice.call(b, 0, length));
      return false;
    }
    let n: number;
    try {
      n = this.s.write(b, 0, length);
    } catch {
      n = -1;
    }
    if (n === length) return true;
    this.queue.push(Uint8Array.prototype.slice.call(b, n > 0 ? n : 0, length));
    return false;
  }

  drain(): void {
    while (this.queue.length > 0) {
      const b = this.queue[0]!;
      const n = this.sock((s) => s.write(b), -1);
      if (n < b.length) {
        if (n > 0) this.queue[0] = b.subarray(n);
        return;
      }
      this.queue.shift();
    }
    if (this.ending) this.shutWrite();
    this.h.onDrain();
  }

  end(): void {
    if (this.closed) return;
    if (this.queue.length > 0) this.ending = true;
    else this.shutWrite();
  }

  private writeShut = false;
  private readEnded = false;

  /** FIN to the peer; once both directions are done the socket is released. */
  private shutWrite(): void {
    if (this.writeShut) return;
    this.writeShut = true;
    if (this.readEnded) this.sock((s) => s.end(), undefined);
    else this.sock((s) => s.shutdown(), undefined);
  }

  destroy(): void {
    if (this.closed) return;
    this.sock((s) => s.terminate(), undefined);
  }

  private paused = false;

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.sock((s) => s.pause(), undefined);
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.sock((s) => s.resume(), undefined);
  }

  gone(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.h.onClose();
  }

  peerEnded(): void {
    this.readEnded = true;
    this.h.onEnd();
    if (this.writeShut && !this.closed) this.sock((s) => s.end(), undefined);
  }
}

let reportError: (e: unknown) => void = () => {};

/** Where a bug in a connection's handlers is reported (the agent's log); the connection is closed, the process lives on. */
export function onHandlerError(f: (e: unknown) => void): void {
  reportError = f;
}

/** Runs a connection callback; a throw closes that connection instead of crashing the agent. */
function guarded(conn: { destroy(): void } | undefined, f: () => void): void {
  try {
    f();
  } catch (e) {
    reportError(e);
    try {
      conn?.destroy();
    } catch {
      // Already gone.
    }
  }
}

const BUN_HANDLERS: BunHandlers = {
  data(s, d) {
    // guarded() inlined: the data callback runs twice per proxied request, a closure each time is measurable.
    const c = s.data;
    if (!c) return;
    try {
      c.data(d);
    } catch (e) {
      reportError(e);
      try {
        c.destroy();
      } catch {
        // Already gone.
      }
    }
  },
  drain(s) {
    guarded(s.data, () => s.data?.drain());
  },
  end(s) {
    guarded(s.data, () => s.data?.peerEnded());
  },
  close(s) {
    guarded(undefined, () => s.data?.gone());
  },
  error() {
    // close follows.
  },
};

// ---------------------------------------------------------------- node:net

class NodeConn extends HeldUntilHandled implements Conn {
  closed = false;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;

  constructor(private readonly s: net.Socket) {
    super();
    this.remoteAddress = plainAddress(s.remoteAddress);
    this.remotePort = s.remotePort ?? 0;
    this.localAddress = plainAddress(s.localAddress);
    this.localPort = s.localPort ?? 0;
    s.setNoDelay(true);
    s.on("data", (d: Buffer) => guarded(this, () => this.data(d)));
    s.on("drain", () => guarded(this, () => this.h.onDrain()));
    s.on("end", () => guarded(this, () => this.h.onEnd()));
    s.on("error", () => {});
    s.on("close", () => {
      if (this.closed) return;
      this.closed = true;
      guarded(undefined, () => this.h.onClose());
    });
  }


  write(b: Uint8Array): boolean {
    if (this.closed || this.s.destroyed) return false;
    return this.s.write(b);
  }

  writeScratch(b: Uint8Array, length: number): boolean {
    // node:net keeps what it is given until it is sent: a copy.
    return this.write(Uint8Array.prototype.slice.call(b, 0, length));
  }

  end(): void {
    if (!this.closed) this.s.end();
  }

  destroy(): void {
    this.s.destroy();
  }

  private paused = false;

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.s.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.s.resume();
  }
}

/** Wraps an already connected node socket (e.g. a TLS socket after its handshake). */
export function wrapNodeSocket(s: net.Socket): Conn {
  return new NodeConn(s);
}

// ---------------------------------------------------------------- entry points

export type SocketImpl = "bun" | "node";

/** Which implementation listenTcp/connectTcp use here ("node" forced with FIZZ_INGRESS_SOCKETS=node). */
export function socketImpl(): SocketImpl {
  return bunTcp() && process.env.FIZZ_INGRESS_SOCKETS !== "node" ? "bun" : "node";
}

export async function listenTcp(host: string, port: number, onConn: (c: Conn) => void): Promise<TcpListener> {
  const bun = socketImpl() === "bun" ? bunTcp() : undefined;
  if (bun) {
    const listen = bun.listen as BunListen;
    const l = listen({
      hostname: host,
      port,
      allowHalfOpen: true,
      socket: {
        ...BUN_HANDLERS,
        open(s) {
          s.setNoDelay(true);
          const c = new BunConn(s);
          s.data = c;
          onConn(c);
        },
      },
    });
    return { port: l.port, close: () => l.stop(true) };
  }
  const srv = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => onConn(new NodeConn(s)));
  await new Promise<void>((resolve, reject) => {
    srv.once("error", reject);
    srv.listen({ host, port, exclusive: true }, () => {
      srv.off("error", reject);
      resolve();
    });
  });
  const addr = srv.address();
  return { port: typeof addr === "object" && addr ? addr.port : port, close: () => srv.close() };
}

export class ConnectError extends Error {
  constructor(
    readonly kind: "refused" | "timeout" | "unreachable",
    message: string,
  ) {
    super(message);
  }
}

function connectKind(e: unknown): ConnectError["kind"] {
  const code = (e as { code?: string })?.code ?? "";
  return code === "ECONNREFUSED" ? "refused" : code === "ETIMEDOUT" ? "timeout" : "unreachable";
}

/** Connects, or rejects with a ConnectError within timeoutMs. */
export function connectTcp(host: string, port: number, timeoutMs: number): Promise<Conn> {
  const bun = socketImpl() === "bun" ? bunTcp() : undefined;
  return new Promise<Conn>((resolve, reject) => {
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      reject(new ConnectError("timeout", `connect to ${host}:${port} timed out after ${timeoutMs} ms`));
    }, timeoutMs);
    if (bun) {
      const connect = bun.connect as BunConnect;
      const open = (s: BunSocket) => {
        // Attached on open, so a server that speaks first (SMTP, MySQL) loses nothing.
        s.setNoDelay(true);
        s.data = new BunConn(s);
      };
      connect({ hostname: host, port, allowHalfOpen: true, socket: { ...BUN_HANDLERS, open, connectError() {} } }).then(
        (s) => {
          if (settled) {
            s.terminate();
            return;
          }
          settled = true;
          clearTimeout(timer);
          if (!s.data) open(s);
          resolve(s.data!);
        },
        (e: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(new ConnectError(connectKind(e), `connect to ${host}:${port}: ${(e as Error)?.message ?? String(e)}`));
        },
      );
      return;
    }
    const s = net.connect({ host, port, allowHalfOpen: true, noDelay: true });
    s.once("connect", () => {
      if (settled) {
        s.destroy();
        return;
      }
      settled = true;
      clearTimeout(timer);
      resolve(new NodeConn(s));
    });
    s.once("error", (e) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      reject(new ConnectError(connectKind(e), `connect to ${host}:${port}: ${e.message}`));
    });
  });
}
