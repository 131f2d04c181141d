/**
 * UDP transport for SWIM: binds a node:dgram socket, seals every outgoing
 * plaintext packet under the keyring's primary key and opens every incoming
 * datagram. Anything that does not open (wrong key, tampered, garbage, too
 * big) is dropped and counted, never answered and never thrown: a node must
 * survive whatever the network sends it. The keyring can be swapped at any
 * time (rotation without restart).
 */
import { createSocket, type Socket } from "node:dgram";
import { randomBytes as nodeRandomBytes } from "node:crypto";
import { FizzError } from "../../core/errors.ts";
import type { KeyId, Keyring } from "../../core/cluster-crypto/keyring.ts";
import { open, seal, SEAL_OVERHEAD, type OpenFailure, type RandomBytes } from "../../core/cluster-crypto/seal.ts";
import { socketError } from "./errors.ts";
import { parseAddr } from "./addr.ts";

/** SWIM packets are at most this big before sealing (fits a 1,500-byte MTU after 45 bytes of sealing). */
export const MAX_UDP_PLAINTEXT = 1400;

export interface UdpAddress {
  readonly host: string;
  readonly port: number;
}

export type UdpDropReason = OpenFailure | "oversize" | "handler-error";

export interface UdpCounters {
  /** Datagrams that arrived, whatever they held. */
  received: number;
  /** Packets opened and handed to the handler. */
  delivered: number;
  sent: number;
  sendErrors: number;
  dropped: Record<UdpDropReason, number>;
}

export interface UdpTransportOptions {
  readonly host: string;
  /** 0 picks a free port (tests). */
  readonly port: number;
  readonly keyring: Keyring;
  readonly onPacket: (plaintext: Uint8Array, from: UdpAddress, keyId: KeyId) => void;
  /** Called for every dropped datagram (e.g. for a rate-limited log line); must not throw. */
  readonly onDrop?: (reason: UdpDropReason, from: UdpAddress) => void;
  readonly randomBytes?: RandomBytes;
  readonly maxPlaintextBytes?: number;
}

export const defaultRandomBytes: RandomBytes = (n) => new Uint8Array(nodeRandomBytes(n));

export class UdpTransport {
  private ring: Keyring;
  private closed = false;
  readonly counters: UdpCounters = {
    received: 0,
    delivered: 0,
    sent: 0,
    sendErrors: 0,
    dropped: { malformed: 0, "unknown-key": 0, "auth-failed": 0, "bad-version": 0, oversize: 0, "handler-error": 0 },
  };

  private constructor(
    private readonly socket: Socket,
    readonly address: UdpAddress,
    private readonly opts: UdpTransportOptions,
    private readonly random: RandomBytes,
    readonly maxPlaintextBytes: number,
  ) {
    this.ring = opts.keyring;
  }

  static bind(opts: UdpTransportOptions): Promise<UdpTransport> {
    const type = opts.host.includes(":") ? "udp6" : "udp4";
    const socket = createSocket({ type, reuseAddr: false });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => {
        socket.removeListener("listening", onListening);
        try {
          socket.close();
        } catch {
          // already closed
        }
        reject(socketError(err, { op: "listen", proto: "UDP", host: opts.host, port: opts.port }));
      };
      const onListening = () => {
        socket.removeListener("error", onError);
        const a = socket.address();
        const t = new UdpTransport(
          socket,
          { host: a.address, port: a.port },
          opts,
          opts.randomBytes ?? defaultRandomBytes,
          opts.maxPlaintextBytes ?? MAX_UDP_PLAINTEXT,
        );
        t.attach();
        resolve(t);
      };
      socket.once("error", onError);
      socket.once("listening", onListening);
      socket.bind(opts.port, opts.host);
    });
  }

  private attach(): void {
    // After bind, socket errors (e.g. ICMP-induced) must never crash the node.
    this.socket.on("error", () => {
      this.counters.sendErrors++;
    });
    this.socket.on("message", (msg: Uint8Array, rinfo: { address: string; port: number }) => this.receive(msg, rinfo));
  }

  private receive(msg: Uint8Array, rinfo: { address: string; port: number }): void {
    this.counters.received++;
    const from: UdpAddress = { host: rinfo.address, port: rinfo.port };
    if (msg.length > this.maxPlaintextBytes + SEAL_OVERHEAD) return this.drop("oversize", from);
    const r = open(this.ring, "udp", msg);
    if (!r.ok) return this.drop(r.reason, from);
    try {
      this.opts.onPacket(r.plaintext, from, r.keyId);
      this.counters.delivered++;
    } catch {
      this.drop("handler-error", from);
    }
  }

  private drop(reason: UdpDropReason, from: UdpAddress): void {
    this.counters.dropped[reason]++;
    try {
      this.opts.onDrop?.(reason, from);
    } catch {
      // a logging hook must not take the node down
    }
  }

  get keyring(): Keyring {
    return this.ring;
  }

  /** Rotation: takes effect for the next packet sent or received. */
  setKeyring(ring: Keyring): void {
    this.ring = ring;
  }

  /** Seals and sends one packet. Fire and forget: send failures are counted (UDP is lossy anyway). */
  send(to: UdpAddress | string, plaintext: Uint8Array): void {
    const dest = typeof to === "string" ? parseAddr(to) : to;
    if (this.closed) throw new FizzError({ code: "transport.closed", message: "UDP transport is closed" });
    if (plaintext.length > this.maxPlaintextBytes) {
      throw new FizzError({
        code: "transport.packet_too_large",
        message: `UDP packet of ${plaintext.length} bytes exceeds the ${this.maxPlaintextBytes}-byte limit`,
        hint: "SWIM must split gossip across packets",
      });
    }
    const sealed = seal(this.ring, "udp", plaintext, this.random);
    try {
      this.socket.send(sealed, dest.port, dest.host, (err) => {
        if (err) this.counters.sendErrors++;
        else this.counters.sent++;
      });
    } catch {
      this.counters.sendErrors++;
    }
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
