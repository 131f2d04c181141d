/**
 * The resolver's UDP sockets, in two implementations with one shape.
 *
 * On Bun: Bun's native UDP socket. Bun reads datagrams in batches
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
import { bunUdpBind, type BunUdpSocket } from "../runtime.ts";

export type UdpImplementation = "bun" | "node";

export interface UdpListener {
  readonly impl: UdpImplementation;
  readonly host: string;
  readonly port: number;
  /** Replies dropped because the send queue was full or the send failed. */
  readonly sendDrops: number;
  reply(bytes: Uint8Array, port: number, address: string): void;
  close(): Promise<void>;
}

/** Called for each datagram; `query` is the datagram's own copy (it may be kept). */
export type OnDatagram = (query: Uint8Array, port: number, address: string, via: UdpListener) => void;

/** Replies waiting for the socket at most (a few receive batches' worth). */
const MAX_QUEUED = 1024;

/** Which implementation listenUdp uses here ("node" forced with FIZZ_DNS_SOCKETS=node). */
export function udpImplementation(): UdpImplementation {
  return bunUdpBind() && process.env.FIZZ_DNS_SOCKETS !== "node" ? "bun" : "node";
}

export async function listenUdp(host: string, port: number, onDatagram: OnDatagram): Promise<UdpListener> {
  const bind = udpImplementation() === "bun" ? bunUdpBind() : undefined;
  if (bind) {
    const l = new BunListener();
    l.attach(await bind(host, port, { data: (_s, buf, p, a) => onDatagram(buf, p, a, l), drain: () => l.drain() }));
    return l;
  }
  return NodeListener.bind(host, port, onDatagram);
}

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

  reply(bytes: Uint8Array, port: number, address: string): void {
    if (this.queue.length >= 3 * MAX_QUEUED || !this.sock) {
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

  reply(bytes: Uint8Array, port: number, address: string): void {
    // A forwarded answer may come back after the socket closed: node:dgram throws then.
    if (this.closed) {
      this.sendDrops++;
      return;
    }
    try {
      this.sock.send(bytes, port, address, this.sent);
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
