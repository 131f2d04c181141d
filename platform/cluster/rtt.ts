/** Round-trip times to members, from our direct pings and their acks (`fizz nodes`). */
import type { Message } from "../../core/swim/index.ts";

const TRACK_MAX = 256;

export class RttTracker {
  private readonly pings = new Map<number, { addr: string; at: number }>();
  private readonly rtt = new Map<string, number>();

  constructor(private readonly monotonic: () => number) {}

  /** A packet we sent: its pings are timed. */
  sent(to: string, m: Message): void {
    const parts = m.type === "compound" ? m.parts : [m];
    for (const p of parts) {
      if (p.type !== "ping") continue;
      this.pings.set(p.seq, { addr: to, at: this.monotonic() });
      if (this.pings.size > TRACK_MAX) this.pings.delete(this.pings.keys().next().value as number);
    }
  }

  /** A packet we received: its acks end timings. */
  acked(from: string, m: Message): void {
    const parts = m.type === "compound" ? m.parts : [m];
    for (const p of parts) {
      if (p.type !== "ack") continue;
      const sent = this.pings.get(p.seq);
      if (sent === undefined) continue;
      this.pings.delete(p.seq);
      // An ack relayed by a ping-req helper says nothing about the direct path.
      if (sent.addr === from) this.rtt.set(from, this.monotonic() - sent.at);
    }
  }

  of(addr: string): number | undefined {
    return this.rtt.get(addr);
  }
}
