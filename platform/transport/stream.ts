/**
 * A SecureStream: one TCP connection after a successful handshake. Messages
 * go out as sealed, length-prefixed frames bound to the session, direction
 * and sequence number; incoming frames are opened in order. Reading is
 * pull-based and bounded: when `maxQueuedFrames` opened frames wait unread,
 * the socket is paused, so a fast peer cannot grow our memory.
 *
 * Deadlines: no bytes for `idleTimeoutMs` closes the stream; a frame that has
 * started must complete within `frameTimeoutMs` (a peer trickling one byte at
 * a time, slowloris-style, is cut off even though it is never idle).
 */
import type { Socket } from "node:net";
import { FizzError } from "../../core/errors.ts";
import type { KeyEntry, KeyId, Keyring } from "../../core/cluster-crypto/keyring.ts";
import { open, sealWith, SEAL_OVERHEAD, type RandomBytes } from "../../core/cluster-crypto/seal.ts";
import { encodeFrame, frameContext, FrameDecoder, type Direction } from "../../core/cluster-crypto/stream.ts";
import type { Intent } from "../../core/cluster-crypto/handshake.ts";
import { formatAddr } from "./errors.ts";

export interface StreamLimits {
  readonly maxFrameBytes: number;
  readonly idleTimeoutMs: number;
  readonly frameTimeoutMs: number;
  readonly maxQueuedFrames: number;
}

export interface StreamPeer {
  readonly host: string;
  readonly port: number;
  readonly nodeId: string;
  readonly intent: Intent;
}

type Waiter = { resolve: (b: Uint8Array | null) => void; reject: (e: FizzError) => void };

export class SecureStream {
  private readonly ring: Keyring;
  private sendSeq = 0;
  private recvSeq = 0;
  private readonly queue: Uint8Array[] = [];
  private readonly waiters: Waiter[] = [];
  private failure: FizzError | undefined;
  private ended = false;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private frameTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly sendDir: Direction;
  private readonly recvDir: Direction;
  private readonly closeHandlers: ((err: FizzError | undefined) => void)[] = [];

  /** @internal built by TcpServer / connect after the handshake. */
  constructor(
    private readonly socket: Socket,
    private readonly decoder: FrameDecoder,
    private readonly key: KeyEntry,
    private readonly session: Uint8Array,
    readonly role: "client" | "server",
    readonly peer: StreamPeer,
    private readonly limits: StreamLimits,
    private readonly random: RandomBytes,
    leftover: readonly Uint8Array[],
  ) {
    this.ring = { primary: key.id, keys: [key] };
    this.sendDir = role === "client" ? "client-to-server" : "server-to-client";
    this.recvDir = role === "client" ? "server-to-client" : "client-to-server";
    socket.on("data", (chunk: Uint8Array) => this.onData(chunk));
    socket.on("end", () => this.onEnd());
    socket.on("error", (err: Error) => this.fail(new FizzError({ code: "transport.connection_reset", message: `connection to ${this.where} failed: ${err.message}`, cause: err })));
    socket.on("close", () => this.onEnd());
    for (const f of leftover) this.onFrame(f);
    this.touch();
    this.armFrameTimer();
  }

  /** Frames received and authenticated so far. */
  get framesReceived(): number {
    return this.recvSeq;
  }

  get keyId(): KeyId {
    return this.key.id;
  }

  get where(): string {
    return formatAddr(this.peer.host, this.peer.port);
  }

  /** Largest payload one `send` accepts. */
  get maxPayloadBytes(): number {
    return this.limits.maxFrameBytes - SEAL_OVERHEAD;
  }

  send(payload: Uint8Array): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended || this.socket.destroyed) return Promise.reject(this.closedError());
    if (payload.length > this.maxPayloadBytes) {
      return Promise.reject(
        new FizzError({
          code: "transport.frame_too_large",
          message: `a stream message of ${payload.length} bytes exceeds the ${this.maxPayloadBytes}-byte frame limit`,
          hint: "split the payload into chunks",
        }),
      );
    }
    const body = sealWith(this.key, "tcp-frame", payload, this.random, frameContext(this.session, this.sendDir, this.sendSeq++));
    this.touch();
    return new Promise((resolve, reject) => {
      this.socket.write(encodeFrame(body), (err) => {
        if (err) reject(this.failure ?? new FizzError({ code: "transport.connection_reset", message: `sending to ${this.where} failed: ${err.message}`, cause: err }));
        else resolve();
      });
    });
  }

  /** The next message, or null when the peer closed the stream cleanly. Rejects on any failure. */
  receive(): Promise<Uint8Array | null> {
    const next = this.queue.shift();
    if (next) {
      if (this.queue.length < this.limits.maxQueuedFrames && this.socket.isPaused()) this.socket.resume();
      return Promise.resolve(next);
    }
    if (this.failure) return Promise.reject(this.failure);
    if (this.ended) return Promise.resolve(null);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Half-closes our side after pending writes; the peer's receive() then yields null. */
  end(): void {
    if (!this.socket.destroyed) this.socket.end();
  }

  close(): void {
    this.finish(undefined);
    this.socket.destroy();
  }

  onClose(fn: (err: FizzError | undefined) => void): void {
    this.closeHandlers.push(fn);
  }

  private onData(chunk: Uint8Array): void {
    this.touch();
    const r = this.decoder.push(chunk);
    for (const f of r.frames) this.onFrame(f);
    if (!r.ok) {
      this.fail(
        r.reason === "oversize"
          ? new FizzError({ code: "transport.frame_too_large", message: `${this.where} sent a ${r.length}-byte frame; the limit is ${this.decoder.maxFrameBytes}` })
          : new FizzError({ code: "transport.bad_frame", message: `${this.where} sent an empty frame` }),
      );
      return;
    }
    this.armFrameTimer();
  }

  private onFrame(body: Uint8Array): void {
    if (this.failure) return;
    const o = open(this.ring, "tcp-frame", body, frameContext(this.session, this.recvDir, this.recvSeq));
    if (!o.ok) {
      this.fail(new FizzError({ code: "transport.bad_frame", message: `dropping connection from ${this.where}: frame ${this.recvSeq} failed authentication (${o.reason})` }));
      return;
    }
    this.recvSeq++;
    const w = this.waiters.shift();
    if (w) w.resolve(o.plaintext);
    else {
      this.queue.push(o.plaintext);
      if (this.queue.length >= this.limits.maxQueuedFrames) this.socket.pause();
    }
  }

  private onEnd(): void {
    if (this.ended || this.failure) return;
    if (this.decoder.midFrame) {
      this.fail(new FizzError({ code: "transport.bad_frame", message: `${this.where} closed the connection in the middle of a frame` }));
      return;
    }
    this.finish(undefined);
  }

  private touch(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.ended || this.failure) return;
    this.idleTimer = setTimeout(
      () => this.fail(new FizzError({ code: "transport.idle_timeout", message: `closed idle connection with ${this.where} after ${this.limits.idleTimeoutMs} ms` })),
      this.limits.idleTimeoutMs,
    );
  }

  private armFrameTimer(): void {
    if (!this.decoder.midFrame) {
      if (this.frameTimer) clearTimeout(this.frameTimer);
      this.frameTimer = undefined;
      return;
    }
    if (this.frameTimer || this.ended || this.failure) return;
    this.frameTimer = setTimeout(
      () => this.fail(new FizzError({ code: "transport.frame_timeout", message: `${this.where} took longer than ${this.limits.frameTimeoutMs} ms to send one frame` })),
      this.limits.frameTimeoutMs,
    );
  }

  private closedError(): FizzError {
    return new FizzError({ code: "transport.closed", message: `the stream with ${this.where} is closed` });
  }

  private fail(err: FizzError): void {
    if (this.failure || this.ended) return;
    this.failure = err;
    this.finish(err);
    this.socket.destroy();
  }

  private finish(err: FizzError | undefined): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    if (this.frameTimer) clearTimeout(this.frameTimer);
    this.idleTimer = this.frameTimer = undefined;
    const wasEnded = this.ended;
    this.ended = true;
    for (const w of this.waiters.splice(0)) {
      if (err) w.reject(err);
      else w.resolve(null);
    }
    if (!wasEnded) for (const h of this.closeHandlers.splice(0)) h(err);
  }
}
