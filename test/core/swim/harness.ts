/**
 * A minimal synchronous driver for unit tests: zero-latency delivery, a clock
 * advanced in small steps, and a drop filter. The full simulator is test/sim.
 */
import { createRng } from "../../../core/random.ts";
import {
  type MemberEvent,
  type Message,
  type StreamMessage,
  type SwimConfig,
  type SwimNode,
  createSwimNode,
  emptyMeta,
  encodedSize,
  swimConfig,
} from "../../../core/swim/index.ts";
import type { UserStateHook } from "../../../core/gossip/hook.ts";

export class Harness {
  now = 0;
  readonly nodes = new Map<string, SwimNode>();
  readonly events: { at: string; ev: MemberEvent }[] = [];
  readonly delivered: { at: string; origin: string; payload: Uint8Array }[] = [];
  readonly packets: { from: string; to: string; message: Message; size: number }[] = [];
  drop: (from: string, to: string, m: Message | StreamMessage) => boolean = () => false;
  readonly config: SwimConfig;
  private seed = 1;

  constructor(overrides: Partial<SwimConfig> = {}) {
    this.config = swimConfig({ pushPullIntervalMs: 0, ...overrides });
  }

  add(id: string, hook?: UserStateHook): SwimNode {
    const n = createSwimNode(this.config, { id, addr: id, meta: emptyMeta }, createRng(this.seed++), hook ? { userState: hook } : {});
    this.nodes.set(id, n);
    n.tick(this.now);
    return n;
  }

  /** Everyone knows everyone (via join to the first node). */
  cluster(ids: string[]): void {
    for (const id of ids) this.add(id);
    for (const id of ids.slice(1)) this.get(id).join([ids[0] as string], this.now);
    this.flush();
    this.run(3000);
  }

  get(id: string): SwimNode {
    const n = this.nodes.get(id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  dead = new Set<string>();

  flush(): void {
    for (let guard = 0; guard < 10_000; guard++) {
      let any = false;
      for (const [id, n] of this.nodes) {
        if (this.dead.has(id)) {
          n.drain();
          continue;
        }
        for (const o of n.drain()) {
          any = true;
          if (o.kind === "packet") {
            this.packets.push({ from: id, to: o.to, message: o.message, size: encodedSize(o.message) });
            const t = this.nodes.get(o.to);
            if (t && !this.dead.has(o.to) && !this.drop(id, o.to, o.message)) t.receive(id, o.message, this.now);
          } else if (o.kind === "stream") {
            this.stream(id, o.to, o.message);
          } else if (o.kind === "event") this.events.push({ at: id, ev: o.event });
          else this.delivered.push({ at: id, origin: o.origin, payload: o.payload });
        }
      }
      if (!any) return;
    }
    throw new Error("harness: message storm");
  }

  private stream(from: string, to: string, m: StreamMessage): void {
    let a = this.nodes.get(from);
    let b = this.nodes.get(to);
    let msg: StreamMessage | undefined = m;
    let fromAddr = from;
    while (msg && a && b && !this.dead.has(to) && !this.dead.has(fromAddr) && !this.drop(fromAddr, fromAddr === from ? to : from, msg)) {
      msg = b.receiveStream(fromAddr, msg, this.now);
      fromAddr = fromAddr === from ? to : from;
      [a, b] = [b, a];
    }
  }

  run(ms: number, step = 5): void {
    const end = this.now + ms;
    while (this.now < end) {
      this.now += step;
      for (const [id, n] of this.nodes) if (!this.dead.has(id) && n.nextWakeupMs() <= this.now) n.tick(this.now);
      this.flush();
    }
  }
}
