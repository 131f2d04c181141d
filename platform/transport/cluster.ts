/**
 * The node's cluster endpoint: UDP (SWIM packets) and TCP (push-pull, join)
 * on the same address and port, like memberlist's 7946, sharing one keyring
 * so a rotation is one call. With port 0 it picks a port free for both.
 */
import type { Keyring } from "../../core/cluster-crypto/keyring.ts";
import { FizzError } from "../../core/errors.ts";
import { connect, TcpServer, type ConnectOptions, type TcpLimits, type TcpServerOptions } from "./tcp.ts";
import { UdpTransport, type UdpTransportOptions } from "./udp.ts";
import type { SecureStream } from "./stream.ts";
import type { Intent } from "../../core/cluster-crypto/handshake.ts";
import { parseAddr } from "./addr.ts";

export interface ClusterEndpointOptions {
  readonly host: string;
  readonly port: number;
  readonly keyring: Keyring;
  readonly clusterId: Uint8Array;
  readonly nodeId: string;
  readonly onPacket: UdpTransportOptions["onPacket"];
  readonly onDrop?: UdpTransportOptions["onDrop"];
  readonly onStream: TcpServerOptions["onStream"];
  readonly limits?: Partial<TcpLimits>;
}

export class ClusterEndpoint {
  private constructor(
    readonly udp: UdpTransport,
    readonly tcp: TcpServer,
    private readonly opts: ClusterEndpointOptions,
  ) {}

  static async bind(opts: ClusterEndpointOptions): Promise<ClusterEndpoint> {
    // With an ephemeral port the TCP pick may be taken for UDP; a few tries settle it.
    const attempts = opts.port === 0 ? 5 : 1;
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      const tcp = await TcpServer.listen({ ...opts, keyring: opts.keyring });
      try {
        const udp = await UdpTransport.bind({ ...opts, port: tcp.address.port });
        return new ClusterEndpoint(udp, tcp, opts);
      } catch (e) {
        last = e;
        await tcp.close();
        if (!(e instanceof FizzError && e.code === "transport.address_in_use" && opts.port === 0)) throw e;
      }
    }
    throw last;
  }

  get address(): { host: string; port: number } {
    return this.udp.address;
  }

  get keyring(): Keyring {
    return this.udp.keyring;
  }

  /** Rotation without restart: new packets and new streams use `ring` at once. */
  setKeyring(ring: Keyring): void {
    this.udp.setKeyring(ring);
    this.tcp.setKeyring(ring);
  }

  send(to: string | { host: string; port: number }, plaintext: Uint8Array): void {
    this.udp.send(to, plaintext);
  }

  /** Opens a sealed stream to another node's endpoint ("host:port"). */
  openStream(to: string, intent: Intent, limits?: Partial<TcpLimits>): Promise<SecureStream> {
    const { host, port } = parseAddr(to);
    const o: ConnectOptions = {
      host,
      port,
      keyring: this.keyring,
      clusterId: this.opts.clusterId,
      nodeId: this.opts.nodeId,
      intent,
      limits: { ...this.opts.limits, ...limits },
    };
    return connect(o);
  }

  async close(): Promise<void> {
    await Promise.all([this.udp.close(), this.tcp.close()]);
  }
}
