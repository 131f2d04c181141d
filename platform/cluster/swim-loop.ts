/**
 * The SWIM loop of a cluster node (memberlist's net.go and the timer half of
 * its state.go): each datagram goes into the pure SWIM node of core/swim,
 * and whatever SWIM produced goes out — packets sent, push-pull streams
 * started, member events and gossip deliveries handed to the node — after
 * which the one timer is re-armed for SWIM's next wakeup. The test link
 * filter (partitions) drops traffic here.
 */
import type { Clock, Timer } from "../../core/clock.ts";
import { decodeMessage, encodeMessage, type MemberEvent, type Message, type StreamMessage, type StreamRequest, type SwimNode } from "../../core/swim/index.ts";
import type { RttTracker } from "./rtt.ts";
import { asFizz } from "./streams.ts";
import type { ClusterTransport } from "./transport.ts";

export interface SwimLoopHost {
  readonly swim: SwimNode;
  readonly clock: Clock;
  readonly rtt: RttTracker;
  readonly stats: { badSwim: number; blocked: number };
  /** The bound endpoint (set once the node has started). */
  transport(): ClusterTransport;
  stopped(): boolean;
  /** A push-pull stream SWIM asked for. */
  exchange(to: string, m: StreamRequest | StreamMessage): Promise<void>;
  onMemberEvent(ev: MemberEvent): void;
  onDeliver(origin: string, payload: Uint8Array): void;
  log(level: "debug" | "info" | "warn", obj: Record<string, unknown>, msg: string): void;
}

export class SwimLoop {
  private timer: Timer | undefined;
  private linkFilter: ((peerAddr: string) => boolean) | undefined;

  constructor(private readonly h: SwimLoopHost) {}

  /** Test hook (partitions): traffic to or from peers whose address makes it return false is dropped. */
  setLinkFilter(filter: ((peerAddr: string) => boolean) | undefined): void {
    this.linkFilter = filter;
  }

  blocked(addr: string): boolean {
    return this.linkFilter !== undefined && !this.linkFilter(addr);
  }

  onPacket(plaintext: Uint8Array, from: string): void {
    const h = this.h;
    if (h.stopped()) return;
    if (this.blocked(from)) {
      h.stats.blocked++;
      return;
    }
    const d = decodeMessage(plaintext);
    if (!d.ok) {
      h.stats.badSwim++;
      return;
    }
    h.rtt.acked(from, d.value);
    h.swim.receive(from, d.value, h.clock.monotonic());
    this.pump();
  }

  /** Sends everything SWIM produced and re-arms the timer. */
  pump(): void {
    const h = this.h;
    if (h.stopped()) return;
    for (const o of h.swim.drain()) {
      switch (o.kind) {
        case "packet":
          this.sendPacket(o.to, o.message);
          break;
        case "stream":
          h.exchange(o.to, o.message).catch((e) => h.log("debug", { to: o.to, type: o.message.type, err: asFizz(e, "cluster.stream_failed").message }, "stream exchange failed"));
          break;
        case "event":
          h.onMemberEvent(o.event);
          break;
        case "deliver":
          h.onDeliver(o.origin, o.payload);
          break;
      }
    }
    this.arm();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  private arm(): void {
    const h = this.h;
    if (h.stopped()) return;
    this.timer?.cancel();
    const wait = Math.min(1000, Math.max(0, Math.ceil(h.swim.nextWakeupMs() - h.clock.monotonic())));
    this.timer = h.clock.setTimeout(() => {
      this.timer = undefined;
      if (h.stopped()) return;
      h.swim.tick(h.clock.monotonic());
      this.pump();
    }, wait);
  }

  private sendPacket(to: string, m: Message): void {
    const h = this.h;
    if (this.blocked(to)) {
      h.stats.blocked++;
      return;
    }
    h.rtt.sent(to, m);
    try {
      h.transport().send(to, encodeMessage(m));
    } catch (e) {
      h.log("debug", { to, err: asFizz(e, "cluster.send_failed").message }, "UDP send failed");
    }
  }
}
