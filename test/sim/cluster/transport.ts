/**
 * The cluster network in the simulated world (platform/cluster/transport.ts's
 * BindTransport): datagrams with latency and loss, streams as pairs of frame
 * queues with latency per frame, and partitions and crashes that drop
 * datagrams, refuse new streams and reset open ones. Nothing is encrypted:
 * the sim tests the agents, not the cipher.
 */
import type { HostPort } from "../../../core/address.ts";
import { FizzError } from "../../../core/errors.ts";
import type { BindOptions, BindTransport, ClusterStream, ClusterTransport } from "../../../platform/cluster/index.ts";
import type { World } from "./world.ts";

export const simAddress = (i: number): string => `10.0.${Math.floor(i / 250)}.${(i % 250) + 1}:7946`;

function hostPort(a: string): HostPort {
  const i = a.lastIndexOf(":");
  return { host: a.slice(0, i), port: Number(a.slice(i + 1)) };
}

class End implements ClusterStream {
  peerEnd!: End;
  private readonly frames: Uint8Array[] = [];
  private waiter: ((v: Uint8Array | null) => void) | undefined;
  private failer: ((e: Error) => void) | undefined;
  private eof = false;
  private reset = false;
  /** A stream keeps its order: nothing sent later arrives earlier (virtual ms). */
  private lastArrival = 0;
  closed = false;

  constructor(
    readonly peer: { readonly nodeId: string; readonly host: string; readonly port: number },
    private readonly self: number,
    private readonly other: number,
    private readonly net: SimNetwork,
  ) {}

  send(payload: Uint8Array): Promise<void> {
    if (this.closed || this.reset) return Promise.reject(new FizzError({ code: "transport.closed", message: "stream closed" }));
    const copy = payload.slice();
    this.inOrder(() => {
      if (!this.net.world.reachable(this.self, this.other)) return this.peerEnd.fail();
      this.peerEnd.push(copy);
    });
    return Promise.resolve();
  }

  /** Delivers after the link's delay, but never before what this end sent earlier. */
  private inOrder(fn: () => void): void {
    const w = this.net.world;
    const at = Math.max(w.now + w.delay(), this.lastArrival);
    this.lastArrival = at;
    w.after(at - w.now, fn);
  }

  receive(): Promise<Uint8Array | null> {
    if (this.frames.length) return Promise.resolve(this.frames.shift()!);
    if (this.reset) return Promise.reject(new FizzError({ code: "transport.reset", message: "connection reset" }));
    if (this.eof || this.closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiter = resolve;
      this.failer = reject;
    });
  }

  end(): void {
    this.inOrder(() => this.peerEnd.finish());
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.finish();
    this.inOrder(() => this.peerEnd.finish());
  }

  push(f: Uint8Array): void {
    if (this.closed) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = this.failer = undefined;
      w(f);
    } else this.frames.push(f);
  }

  finish(): void {
    this.eof = true;
    const w = this.waiter;
    this.waiter = this.failer = undefined;
    w?.(null);
  }

  fail(): void {
    this.reset = true;
    const f = this.failer;
    this.waiter = this.failer = undefined;
    f?.(new FizzError({ code: "transport.reset", message: "connection reset" }));
  }
}

/** Every node's endpoint on the world, by address. */
export class SimNetwork {
  private readonly bound = new Map<string, { index: number; nodeId: string; o: BindOptions }>();

  constructor(readonly world: World) {}

  /** The BindTransport node `index` uses (its address is `simAddress(index)`). */
  transport(index: number): BindTransport {
    return async (o) => {
      const addr = simAddress(index);
      this.bound.set(addr, { index, nodeId: o.nodeId, o });
      const incarnation = this.world.incarnation[index]!;
      const alive = () => this.world.up[index]! && this.world.incarnation[index] === incarnation;
      const t: ClusterTransport = {
        address: hostPort(addr),
        send: (to, bytes) => {
          const dst = this.bound.get(to);
          if (!dst || !alive() || this.world.rng.next() < this.world.link.loss) return;
          const copy = bytes.slice();
          this.world.after(this.world.delay(), () => {
            const now = this.bound.get(to);
            if (now === dst && this.world.reachable(index, dst.index)) dst.o.onPacket(copy, hostPort(addr));
          });
        },
        openStream: (to, _intent, limits) =>
          new Promise((resolve, reject) => {
            const dst = this.bound.get(to);
            const refuse = () => reject(new FizzError({ code: "transport.connect_timeout", message: `timed out connecting to ${to}` }));
            if (!dst || !alive() || !this.world.reachable(index, dst.index)) {
              this.world.after(Math.min(limits?.connectTimeoutMs ?? 1000, 1000), refuse);
              return;
            }
            this.world.after(this.world.delay(), () => {
              if (!this.world.reachable(index, dst.index) || this.bound.get(to) !== dst) return refuse();
              const mine = new End({ nodeId: dst.nodeId, ...hostPort(to) }, index, dst.index, this);
              const theirs = new End({ nodeId: o.nodeId, ...hostPort(addr) }, dst.index, index, this);
              mine.peerEnd = theirs;
              theirs.peerEnd = mine;
              dst.o.onStream(theirs);
              resolve(mine);
            });
          }),
        setKeyring: () => {},
        counters: () => ({ udp: {} as never, tcp: {} as never }),
        close: async () => {
          if (this.bound.get(addr)?.o === o) this.bound.delete(addr);
        },
      };
      return t;
    };
  }
}
