/**
 * The node-to-node relay: another node's ingress reaches a replica running
 * here by connecting to this node's relay port and naming the replica in a
 * PROXY v2 header (LOCAL, with Fizz's TLV); the relay connects to the
 * container and splices. Only cluster members may use it, and only for
 * replicas this node runs that back an ingress route, so it is not an open
 * door into the node's containers. The bytes that follow (HTTP with its
 * forwarding headers, or a TCP stream with the backend's own PROXY header)
 * pass through untouched, so the client's address survives the extra hop.
 */
import { TLV_FIZZ_REPLICA } from "../../core/ingress/proxy-protocol.ts";
import { parseRelayTarget } from "../../core/ingress/plan.ts";
import { readProxyHeader } from "./proxy-accept.ts";
import { listenTcp, connectTcp, type Conn, type TcpListener } from "./sockets.ts";
import { splice } from "./tcp-listener.ts";

export interface RelayOptions {
  readonly host: string;
  readonly port: number;
  /** Whether a peer address may use the relay (the cluster's members). */
  allowed(address: string): boolean;
  /** The local address of a replica this node runs and routes, or undefined. */
  resolve(t: { deployment: string; service: string; index: number; port: number }): { host: string; port: number } | undefined;
  readonly connectTimeoutMs: number;
  /** A refused relay request, for the log. */
  refused?(peer: string, why: string): void;
}

export class Relay {
  private tcp: TcpListener | undefined;
  private open = new Set<Conn>();
  /** Spliced connections per replica (deployment/service/index), what a drain waits on. */
  private perReplica = new Map<string, number>();

  private constructor(private readonly o: RelayOptions) {}

  static async open(o: RelayOptions): Promise<Relay> {
    const r = new Relay(o);
    r.tcp = await listenTcp(o.host, o.port, (c) => r.accept(c));
    return r;
  }

  get port(): number {
    return this.tcp?.port ?? this.o.port;
  }

  connections(): number {
    return this.open.size;
  }

  /** Connections other nodes hold open to one replica here (deployment/service/index). */
  connectionsTo(replica: string): number {
    return this.perReplica.get(replica) ?? 0;
  }

  private count(replica: string, d: 1 | -1): void {
    const n = (this.perReplica.get(replica) ?? 0) + d;
    if (n > 0) this.perReplica.set(replica, n);
    else this.perReplica.delete(replica);
  }

  private accept(c: Conn): void {
    if (!this.o.allowed(c.remoteAddress)) {
      this.o.refused?.(c.remoteAddress, "not a cluster member");
      c.destroy();
      return;
    }
    this.open.add(c);
    readProxyHeader(c, 5_000, (h) => {
      const tlv = h.tlvs?.find((t) => t.type === TLV_FIZZ_REPLICA);
      const target = tlv ? parseRelayTarget(new TextDecoder().decode(tlv.value)) : undefined;
      const addr = target ? this.o.resolve(target) : undefined;
      if (!addr) {
        this.o.refused?.(c.remoteAddress, target ? "no such replica routed here" : "no replica named");
        c.destroy();
        return;
      }
      const replica = `${target!.deployment}/${target!.service}/${target!.index}`;
      this.count(replica, 1);
      let counted = true;
      const gone = () => {
        this.open.delete(c);
        if (counted) this.count(replica, -1);
        counted = false;
      };
      const held: Uint8Array[] = [];
      let ended = false;
      c.setHandlers({ onData: (d) => held.push(d), onDrain() {}, onEnd: () => void (ended = true), onClose: gone });
      connectTcp(addr.host, addr.port, this.o.connectTimeoutMs).then(
        (up) => {
          if (c.closed) {
            up.destroy();
            return;
          }
          splice(c, up, held, ended, gone);
        },
        () => c.destroy(),
      );
    });
  }

  close(): void {
    this.tcp?.close();
    for (const c of this.open) c.destroy();
  }
}
