/**
 * TCP transport for push-pull anti-entropy and join: a listener and a
 * connector that run the sealed handshake (core/cluster-crypto/handshake.ts)
 * and hand the application a SecureStream of sealed, length-prefixed frames.
 *
 * Limits, all configurable (defaults in TCP_DEFAULTS): max concurrent
 * connections (extra ones are closed at once), connect timeout, handshake
 * deadline, idle timeout, per-frame deadline, max frame size. A peer under
 * an unknown key gets one fixed plaintext rejection ("wrong cluster key")
 * so a joining user can be told why; nothing else is revealed.
 *
 * A client hello captured off the network authenticates when replayed, so it
 * must not buy a connection slot: a client nonce seen recently is refused at
 * once, and an accepted connection whose client has not sent its first
 * request within the handshake deadline is closed (a real client asks at
 * once; a replayer cannot seal a frame for the fresh session). Before, a
 * replay held one of the 128 slots for the 30 s idle timeout.
 */
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { FizzError } from "../../core/errors.ts";
import { findById, primaryEntry, type Keyring } from "../../core/cluster-crypto/keyring.ts";
import { open, sealWith, type OpenFailure, type RandomBytes } from "../../core/cluster-crypto/seal.ts";
import { encodeFrame, FrameDecoder } from "../../core/cluster-crypto/stream.ts";
import {
  decodeClientHello,
  decodeRejection,
  decodeServerHello,
  encodeClientHello,
  encodeRejection,
  encodeServerHello,
  HELLO_NONCE_BYTES,
  rejectionMessage,
  sessionId,
  type Intent,
  type RejectReason,
} from "../../core/cluster-crypto/handshake.ts";
import { connectTimeout, formatAddr, socketError } from "./errors.ts";
import { SecureStream, type StreamLimits } from "./stream.ts";
import { defaultRandomBytes } from "./udp.ts";

export interface TcpLimits extends StreamLimits {
  readonly maxConnections: number;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
}

export const TCP_DEFAULTS: TcpLimits = {
  /** Push-pull state is chunked below this; bounds per-connection memory. */
  maxFrameBytes: 1 << 20,
  /** A quiet connection costs a socket; push-pull exchanges finish in well under this. */
  idleTimeoutMs: 30_000,
  /** Generous for a 1 MiB frame on a slow link, short enough to cut off trickling peers. */
  frameTimeoutMs: 10_000,
  /** Frames opened but not yet read before we stop reading the socket. */
  maxQueuedFrames: 16,
  /** Bounds memory and file descriptors under a connection flood. */
  maxConnections: 128,
  connectTimeoutMs: 5_000,
  /** Accept → handshake complete and the client's first request received; a peer that never sends them is dropped after this. */
  handshakeTimeoutMs: 5_000,
};

/** Client nonces remembered to refuse replayed hellos (16 bytes each, plus the set's overhead: well under 1 MiB). */
const RECENT_NONCES = 8192;

export interface Identity {
  readonly clusterId: Uint8Array;
  readonly nodeId: string;
}

export interface TcpServerOptions extends Identity {
  readonly host: string;
  readonly port: number;
  readonly keyring: Keyring;
  readonly onStream: (stream: SecureStream) => void | Promise<void>;
  readonly limits?: Partial<TcpLimits>;
  readonly randomBytes?: RandomBytes;
}

export type HandshakeFailure = OpenFailure | "not-a-hello" | "wrong-cluster-id" | "timeout" | "oversize" | "closed" | "replayed" | "no-request";

export interface TcpServerCounters {
  accepted: number;
  /** Closed at once because maxConnections were open. */
  refusedBusy: number;
  handshakes: number;
  handshakeFailed: Record<HandshakeFailure, number>;
  /** Streams closed by an error after the handshake, by error code. */
  streamErrors: Record<string, number>;
  /** onStream threw or rejected. */
  handlerErrors: number;
}

export class TcpServer {
  private ring: Keyring;
  private readonly sockets = new Set<Socket>();
  /** Client nonces of recent hellos, oldest first (a Set keeps insertion order). */
  private readonly nonces = new Set<string>();
  readonly counters: TcpServerCounters = {
    accepted: 0,
    refusedBusy: 0,
    handshakes: 0,
    handshakeFailed: { malformed: 0, "unknown-key": 0, "auth-failed": 0, "bad-version": 0, "not-a-hello": 0, "wrong-cluster-id": 0, timeout: 0, oversize: 0, closed: 0, replayed: 0, "no-request": 0 },
    streamErrors: {},
    handlerErrors: 0,
  };

  private constructor(
    private readonly server: Server,
    readonly address: { host: string; port: number },
    private readonly opts: TcpServerOptions,
    readonly limits: TcpLimits,
    private readonly random: RandomBytes,
  ) {
    this.ring = opts.keyring;
  }

  static listen(opts: TcpServerOptions): Promise<TcpServer> {
    const limits = { ...TCP_DEFAULTS, ...opts.limits };
    const server = createServer();
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        server.removeListener("listening", onListening);
        reject(socketError(err, { op: "listen", proto: "TCP", host: opts.host, port: opts.port }));
      };
      const onListening = () => {
        server.removeListener("error", onError);
        const a = server.address();
        const addr = typeof a === "object" && a ? { host: a.address, port: a.port } : { host: opts.host, port: opts.port };
        const t = new TcpServer(server, addr, opts, limits, opts.randomBytes ?? defaultRandomBytes);
        server.on("connection", (s: Socket) => t.accept(s));
        server.on("error", () => {
          // accept errors (EMFILE…) must not crash the agent; the listener stays up
        });
        resolve(t);
      };
      server.once("error", onError);
      server.once("listening", onListening);
      server.listen(opts.port, opts.host);
    });
  }

  get keyring(): Keyring {
    return this.ring;
  }

  /** Rotation: new handshakes use the new keyring; open streams keep their session key. */
  setKeyring(ring: Keyring): void {
    this.ring = ring;
  }

  get openConnections(): number {
    return this.sockets.size;
  }

  private accept(socket: Socket): void {
    socket.on("error", () => {
      // reported through the handshake/stream paths; an unhandled 'error' would crash
    });
    if (this.sockets.size >= this.limits.maxConnections) {
      this.counters.refusedBusy++;
      socket.destroy();
      return;
    }
    this.counters.accepted++;
    this.sockets.add(socket);
    socket.on("close", () => this.sockets.delete(socket));
    socket.setNoDelay(true);
    const remote = { host: socket.remoteAddress ?? "?", port: socket.remotePort ?? 0 };
    const acceptedAt = performance.now();
    const decoder = new FrameDecoder(this.limits.maxFrameBytes);
    let done = false;
    const finish = (failure: HandshakeFailure | undefined, lastWords?: Uint8Array) => {
      if (done) return false;
      done = true;
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeListener("close", onClose);
      if (failure) {
        this.counters.handshakeFailed[failure]++;
        if (lastWords && !socket.destroyed) socket.end(encodeFrame(lastWords));
        else socket.destroy();
        // A peer that ignores our FIN must not hold the slot.
        setTimeout(() => socket.destroy(), 1000).unref?.();
      }
      return true;
    };
    const timer = setTimeout(() => finish("timeout"), this.limits.handshakeTimeoutMs);
    const onClose = () => finish("closed");
    const onData = (chunk: Uint8Array) => {
      const r = decoder.push(chunk);
      if (!r.ok) return void finish(r.reason === "oversize" ? "oversize" : "malformed", encodeRejection("malformed-handshake"));
      const [first, ...rest] = r.frames;
      if (!first) return;
      this.handshake(socket, remote, decoder, first, rest, finish, acceptedAt);
    };
    socket.on("data", onData);
    socket.on("close", onClose);
  }

  private handshake(
    socket: Socket,
    remote: { host: string; port: number },
    decoder: FrameDecoder,
    body: Uint8Array,
    leftover: Uint8Array[],
    finish: (failure: HandshakeFailure | undefined, lastWords?: Uint8Array) => boolean,
    acceptedAt: number,
  ): void {
    const ring = this.ring;
    const o = open(ring, "handshake", body);
    if (!o.ok) {
      // Unknown key and failed authentication look the same to the peer: "wrong cluster key".
      const reason: RejectReason = o.reason === "bad-version" ? "unsupported-version" : o.reason === "malformed" ? "malformed-handshake" : "wrong-cluster-key";
      finish(o.reason, encodeRejection(reason));
      return;
    }
    const hello = decodeClientHello(o.plaintext);
    if (!hello) return void finish("not-a-hello", encodeRejection("malformed-handshake"));
    const nonce = Buffer.from(hello.clientNonce).toString("hex");
    // A replayer learns nothing from a reply, so it gets none.
    if (this.nonces.has(nonce)) return void finish("replayed");
    this.nonces.add(nonce);
    if (this.nonces.size > RECENT_NONCES) this.nonces.delete(this.nonces.values().next().value!);
    const key = findById(ring, o.keyId)!;
    const serverNonce = this.random(HELLO_NONCE_BYTES);
    const sameCluster = bytesEqual(hello.clusterId, this.opts.clusterId);
    const reply = sealWith(
      key,
      "handshake",
      encodeServerHello({ serverNonce, status: sameCluster ? "accepted" : "wrong-cluster-id", nodeId: this.opts.nodeId }),
      this.random,
      hello.clientNonce,
    );
    if (!sameCluster) return void finish("wrong-cluster-id", reply);
    if (!finish(undefined)) return;
    this.counters.handshakes++;
    socket.write(encodeFrame(reply));
    const stream = new SecureStream(
      socket,
      decoder,
      key,
      sessionId(this.opts.clusterId, hello.clientNonce, serverNonce),
      "server",
      { host: remote.host, port: remote.port, nodeId: hello.nodeId, intent: hello.intent },
      this.limits,
      this.random,
      leftover,
    );
    const firstRequest = setTimeout(
      () => {
        if (stream.framesReceived > 0) return;
        this.counters.handshakeFailed["no-request"]++;
        stream.close();
      },
      Math.max(0, this.limits.handshakeTimeoutMs - (performance.now() - acceptedAt)),
    );
    firstRequest.unref?.();
    stream.onClose((err) => {
      clearTimeout(firstRequest);
      if (err) this.counters.streamErrors[err.code] = (this.counters.streamErrors[err.code] ?? 0) + 1;
    });
    try {
      Promise.resolve(this.opts.onStream(stream)).catch(() => {
        this.counters.handlerErrors++;
        stream.close();
      });
    } catch {
      this.counters.handlerErrors++;
      stream.close();
    }
  }

  /** Stops listening and closes every open connection. */
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

export interface ConnectOptions extends Identity {
  readonly host: string;
  readonly port: number;
  readonly keyring: Keyring;
  readonly intent: Intent;
  readonly limits?: Partial<TcpLimits>;
  readonly randomBytes?: RandomBytes;
}

/**
 * Connects, proves knowledge of the cluster key, and returns the stream.
 * Fails with a FizzError saying why: nobody listening, timeout, wrong cluster
 * key (the peer said so), different cluster, or an answer we cannot trust.
 */
export function connect(opts: ConnectOptions): Promise<SecureStream> {
  const limits = { ...TCP_DEFAULTS, ...opts.limits };
  const random = opts.randomBytes ?? defaultRandomBytes;
  const where = formatAddr(opts.host, opts.port);
  const key = primaryEntry(opts.keyring);
  const clientNonce = random(HELLO_NONCE_BYTES);
  const hello = sealWith(key, "handshake", encodeClientHello({ clusterId: opts.clusterId, clientNonce, intent: opts.intent, nodeId: opts.nodeId }), random);

  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: opts.host, port: opts.port });
    const decoder = new FrameDecoder(limits.maxFrameBytes);
    let connected = false;
    let settled = false;
    const fail = (err: FizzError) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      reject(err);
    };
    let timer = setTimeout(() => fail(connectTimeout(opts.host, opts.port)), limits.connectTimeoutMs);
    socket.on("error", (err: Error) => fail(socketError(err, { op: connected ? "read" : "connect", proto: "TCP", host: opts.host, port: opts.port })));
    socket.on("close", () =>
      fail(new FizzError({ code: "transport.handshake_failed", message: `${where} closed the connection during the handshake`, hint: "is it a fizz agent of the same version?" })),
    );
    socket.once("connect", () => {
      connected = true;
      socket.setNoDelay(true);
      clearTimeout(timer);
      timer = setTimeout(
        () => fail(new FizzError({ code: "transport.handshake_timeout", message: `${where} did not answer the handshake within ${limits.handshakeTimeoutMs} ms`, hint: "is it a fizz agent?" })),
        limits.handshakeTimeoutMs,
      );
      socket.write(encodeFrame(hello));
    });
    const onData = (chunk: Uint8Array) => {
      const r = decoder.push(chunk);
      if (!r.ok) return fail(new FizzError({ code: "transport.handshake_failed", message: `${where} sent an invalid handshake answer (${r.reason})`, hint: "is it a fizz agent?" }));
      const [first, ...rest] = r.frames;
      if (!first) return;
      const rejected = decodeRejection(first);
      if (rejected) return fail(rejectionError(rejected, where));
      const o = open(opts.keyring, "handshake", first, clientNonce);
      const sh = o.ok && o.keyId === key.id ? decodeServerHello(o.plaintext) : undefined;
      if (!sh) {
        return fail(
          new FizzError({ code: "transport.handshake_failed", message: `${where} answered with a handshake we cannot authenticate`, hint: "the peer is not a member of this cluster, or something between us altered the traffic" }),
        );
      }
      if (sh.status === "wrong-cluster-id") {
        return fail(
          new FizzError({
            code: "cluster.wrong_cluster",
            message: `${where} (${sh.nodeId}) belongs to a different cluster`,
            hint: "use the join token of the cluster that node belongs to",
          }),
        );
      }
      if (sh.status !== "accepted") {
        return fail(new FizzError({ code: "transport.busy", message: `${where} is busy and refused the connection`, hint: "retry shortly" }));
      }
      settled = true;
      clearTimeout(timer);
      socket.removeListener("data", onData);
      socket.removeAllListeners("close");
      socket.removeAllListeners("error");
      resolve(
        new SecureStream(
          socket,
          decoder,
          key,
          sessionId(opts.clusterId, clientNonce, sh.serverNonce),
          "client",
          { host: opts.host, port: opts.port, nodeId: sh.nodeId, intent: opts.intent },
          limits,
          random,
          rest,
        ),
      );
    };
    socket.on("data", onData);
  });
}

/** One request, one response (a push-pull exchange), then close. */
export async function request(opts: ConnectOptions, payload: Uint8Array): Promise<Uint8Array> {
  const s = await connect(opts);
  try {
    await s.send(payload);
    const reply = await s.receive();
    if (!reply) throw new FizzError({ code: "transport.no_reply", message: `${s.where} closed the stream without replying` });
    return reply;
  } finally {
    s.close();
  }
}

function rejectionError(reason: RejectReason, where: string): FizzError {
  switch (reason) {
    case "wrong-cluster-key":
      return new FizzError({
        code: "cluster.wrong_key",
        message: `the fizz agent at ${where} refused us: ${rejectionMessage(reason)}`,
        hint: "copy the join token again from `fizz init` on a cluster member; if the cluster key was rotated since, make a new token",
      });
    case "unsupported-version":
      return new FizzError({
        code: "cluster.version_mismatch",
        message: `the fizz agent at ${where} refused us: ${rejectionMessage(reason)}`,
        hint: "run the same fizz version on every node",
      });
    case "malformed-handshake":
      return new FizzError({ code: "cluster.handshake_refused", message: `the fizz agent at ${where} refused us: ${rejectionMessage(reason)}`, hint: "run the same fizz version on every node" });
  }
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i]! ^ b[i]!;
  return d === 0;
}
