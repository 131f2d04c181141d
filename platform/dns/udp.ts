/**
 * The resolver's UDP sockets, in three implementations with one shape.
 *
 * On Bun on Linux, for IPv4 addresses: udp-native.ts (a thread of a small
 * C part receives in batches and answers repeated simple questions from
 * answers the resolver gave before; the rest reaches JavaScript with the
 * asker's address as a number). FIZZ_DNS_SOCKETS=bun or =node picks one of
 * the others; if the C part cannot be compiled, Bun's socket is used.
 *
 * Bun's UDP socket: Bun reads datagrams in batches
 * (recvmmsg) and calls us once per datagram; the replies made during one
 * turn of the event loop are queued and leave together in one sendmmsg
 * (`sendMany`) from a setImmediate, instead of one system call each. Under
 * load that is one send per receive batch; at a low rate a reply waits
 * only for the end of the current turn. If the kernel takes fewer than all,
 * the rest wait for the socket's drain; past MAX_QUEUED replies waiting,
 * new ones are dropped (UDP: the asker retries) rather than grow without
 * bound.
 *
 * Elsewhere (Deno), or with FIZZ_DNS_SOCKETS=node: node:dgram, one send
 * per reply. Measured numbers for both: docs/ENGINEERING.md (issue 12).
 */
import { createSocket, type Socket } from "node:dgram";
import { formatIp, parseIp } from "../../core/net/cidr.ts";
import { bunUdpBind, type BunUdpSocket } from "../runtime.ts";
import { NativeUdpSocket, nativeUdp } from "./udp-native.ts";

export type UdpImplementation = "native" | "bun" | "node";

/** An asker's address as its socket gives it: text, or an IPv4 address as a number (native sockets). */
export type PeerAddress = string | number;

export interface UdpListener {
  readonly impl: UdpImplementation;
  readonly host: string;
  readonly port: number;
  /** Replies dropped because the send queue was full or the send failed. */
  readonly sendDrops: number;
  /** `address` as the datagram came with it. */
  reply(bytes: Uint8Array, port: number, address: PeerAddress): void;
  /**
   * Native sockets: answer this query from this asker like this from now on
   * (until `forget`), without asking JavaScript. Elsewhere: nothing.
   */
  remember(query: Uint8Array, address: PeerAddress, answer: Uint8Array): void;
  /** Forgets every remembered answer. */
  forget(): void;
  /** Queries answered from remembered answers since the last call (0 elsewhere). */
  takeAnswered(): number;
  close(): Promise<void>;
}

/** Called for each datagram; `query` is valid only during the call (copy it to keep it). */
export type OnDatagram = (query: Uint8Array, port: number, address: PeerAddress, via: UdpListener) => void;

/** Replies waiting for the socket at most (a few receive batches' worth). */
const MAX_QUEUED = 1024;

/**
 * Which implementation listenUdp prefers here (FIZZ_DNS_SOCKETS=native|bun|node
 * forces one where the runtime has it); a listener's `impl` says which it got.
 */
export function udpImplementation(): UdpImplementation {
  const forced = process.env.FIZZ_DNS_SOCKETS;
  if (!bunUdpBind() || forced === "node") return "node";
  if (forced === "bun" || process.platform !== "linux") return "bun";
  return "native";
}

export async function listenUdp(host: string, port: number, onDatagram: OnDatagram): Promise<UdpListener> {
  const impl = udpImplementation();
  const ip4 = parseIp(host);
  if (impl === "native" && ip4 !== undefined) {
    const lib = await nativeUdp();
    if (lib) {
      const l = new NativeListener();
      l.attach(NativeUdpSocket.open(lib, host, ip4, port, (q, p, a) => onDatagram(q, p, a, l)));
      return l;
    }
  }
  const bind = impl !== "node" ? bunUdpBind() : undefined;
  if (bind) {
    const l = new BunListener();
    l.attach(await bind(host, port, { data: (_s, buf, p, a) => onDatagram(buf, p, a, l), drain: () => l.drain() }));
    return l;
  }
  return NodeListener.bind(host, port, onDatagram);
}

class NativeListener implements UdpListener {
  readonly impl = "native";
  private sock: NativeUdpSocket | undefined;

  attach(s: NativeUdpSocket): void {
    this.sock = s;
  }

  get host(): string {
    return this.sock?.host ?? "";
  }

  get port(): number {
    return this.sock?.port ?? 0;
  }

  get sendDrops(): number {
    return this.sock?.sendDrops ?? 0;
  }

  reply(bytes: Uint8Array, port: number, address: PeerAddress): void {
    // A native socket's askers are numbers; a string would be another listener's.
    if (typeof address === "number") this.sock?.reply(bytes, port, address);
  }

  remember(query: Uint8Array, address: PeerAddress, answer: Uint8Array): void {
    if (typeof address === "number") this.sock?.remember(query, address, answer);
  }

  forget(): void {
    this.sock?.forget();
  }

  takeAnswered(): number {
    return this.sock?.takeAnswered() ?? 0;
  }

  close(): Promise<void> {
    this.sock?.close();
    return Promise.resolve();
  }
}

/** What listeners without an answering thread do with remembered answers: nothing. */
const NO_MEMORY = {
  remember(): void {},
  forget(): void {},
  takeAnswered(): number {
    return 0;
  },
};

class BunListener implements UdpListener {
  readonly impl = "bun";
  sendDrops = 0;
  private sock: BunUdpSocket | undefined;
  /** Flat (bytes, port, address) triples, as sendMany takes them. */
  private queue: (Uint8Array | number | string)[] = [];
  private scheduled = false;
  private waitingDrain = false;

  attach(s: BunUdpSocket): void {
    this.sock = s;
  }

  get host(): string {
    return this.sock?.hostname ?? "";
  }

  get port(): number {
    return this.sock?.port ?? 0;
  }

  drain(): void {
    this.waitingDrain = false;
    this.flush();
  }

  readonly remember = NO_MEMORY.remember;
  readonly forget = NO_MEMORY.forget;
  readonly takeAnswered = NO_MEMORY.takeAnswered;

  reply(bytes: Uint8Array, port: number, address: PeerAddress): void {
    if (this.queue.length >= 3 * MAX_QUEUED || !this.sock || typeof address !== "string") {
      this.sendDrops++;
      return;
    }
    this.queue.push(bytes, port, address);
    if (!this.scheduled && !this.waitingDrain) {
      this.scheduled = true;
      setImmediate(this.flushSoon);
    }
  }

  private readonly flushSoon = (): void => {
    this.scheduled = false;
    this.flush();
  };

  private flush(): void {
    const q = this.queue;
    if (q.length === 0 || !this.sock) return;
    let sent: number;
    try {
      sent = this.sock.sendMany(q);
    } catch {
      // Not the socket being full (that returns a short count): a reply this socket
      // cannot send at all. Drop what is queued rather than retry it forever.
      this.sendDrops += q.length / 3;
      q.length = 0;
      return;
    }
    if (3 * sent >= q.length) q.length = 0;
    else {
      q.splice(0, 3 * sent);
      this.waitingDrain = true;
    }
  }

  close(): Promise<void> {
    this.sendDrops += this.queue.length / 3;
    this.queue.length = 0;
    this.sock?.close();
    this.sock = undefined;
    return Promise.resolve();
  }
}

class NodeListener implements UdpListener {
  readonly impl = "node";
  sendDrops = 0;

  private constructor(
    private readonly sock: Socket,
    readonly host: string,
    readonly port: number,
  ) {}

  static async bind(host: string, port: number, onDatagram: OnDatagram): Promise<NodeListener> {
    const u = createSocket({ type: "udp4", reuseAddr: false });
    await new Promise<void>((resolve, reject) => {
      u.once("error", reject);
      u.bind(port, host, () => {
        u.off("error", reject);
        resolve();
      });
    });
    const a = u.address();
    const l = new NodeListener(u, a.address, a.port);
    u.on("error", () => {});
    u.on("message", (msg, rinfo) => onDatagram(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), rinfo.port, rinfo.address, l));
    return l;
  }

  private closed = false;

  readonly remember = NO_MEMORY.remember;
  readonly forget = NO_MEMORY.forget;
  readonly takeAnswered = NO_MEMORY.takeAnswered;

  reply(bytes: Uint8Array, port: number, address: PeerAddress): void {
    // A forwarded answer may come back after the socket closed: node:dgram throws then.
    if (this.closed) {
      this.sendDrops++;
      return;
    }
    try {
      this.sock.send(bytes, port, typeof address === "string" ? address : formatIp(address), this.sent);
    } catch {
      this.sendDrops++;
    }
  }

  private readonly sent = (err: Error | null): void => {
    if (err) this.sendDrops++;
  };

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise<void>((r) => this.sock.close(() => r()));
  }
}
