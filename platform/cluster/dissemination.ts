/**
 * How a state change reaches the others. A delta rides SWIM's piggybacked
 * broadcasts when it fits one packet (plain, else deflated); a bigger one
 * (and whatever a push-pull taught us, e.g. after a partition heals) goes by
 * immediate push-pull with `fanout` random live peers, who do the same with
 * what was new to them, so it spreads epidemically and stops where nothing is
 * new. Bursts coalesce: one fan-out round per 20 ms at most.
 *
 * A broadcast also leaves at once: an early copy to a few peers after the
 * current turn (so a burst of changes shares packets), on top of SWIM's
 * rounds (which still send it as often as before). Without it a new
 * deployment reached the other two nodes of the 3-host harness 90-600 ms
 * after it was accepted: the next round was up to 200 ms away, and a round's
 * packet had room for one 1.1 kB spec among the other news
 * (bench/support/profile-cluster-deploy.ts).
 */
import type { Clock, Timer } from "../../core/clock.ts";
import { sampleWithout } from "../../core/gossip/sample.ts";
import type { Rng } from "../../core/random.ts";
import type { ClusterDelta } from "../../core/state/index.ts";
import type { SwimNode } from "../../core/swim/index.ts";
import { deltaPayloads } from "./payload.ts";
import { asFizz } from "./streams.ts";

export interface DisseminationHost {
  readonly swim: SwimNode;
  readonly clock: Clock;
  readonly rng: Rng;
  readonly selfId: string;
  readonly fanout: number;
  readonly stats: { broadcasts: number; tooBigForPacket: number; fanoutPushPulls: number };
  stopped(): boolean;
  pump(): void;
  pushPull(to: string): Promise<void>;
  log(level: "debug" | "info" | "warn", obj: Record<string, unknown>, msg: string): void;
}

const COALESCE_MS = 20;

export class Dissemination {
  private timer: Timer | undefined;

  constructor(private readonly h: DisseminationHost) {}

  /** Broadcast a delta if it fits one packet, else push-pull it to a few peers now. */
  spread(delta: ClusterDelta): void {
    const p = deltaPayloads(delta);
    let r = this.h.swim.broadcast(p.plain);
    if (!r.ok) r = this.h.swim.broadcast(p.deflated());
    if (r.ok) {
      this.h.stats.broadcasts++;
      this.gossipSoon();
      return;
    }
    this.h.stats.tooBigForPacket++;
    this.schedule();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
    this.gossipTimer?.cancel();
    this.gossipTimer = undefined;
  }

  private gossipTimer: Timer | undefined;

  /** One gossip round after the current turn (every broadcast made in it goes in its packets). */
  private gossipSoon(): void {
    if (this.gossipTimer || this.h.stopped()) return;
    this.gossipTimer = this.h.clock.setTimeout(() => {
      this.gossipTimer = undefined;
      if (this.h.stopped()) return;
      this.h.swim.gossipNow(this.h.clock.monotonic());
      this.h.pump();
    }, 0);
  }

  private schedule(): void {
    if (this.timer || this.h.stopped()) return;
    this.timer = this.h.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.h.stopped()) return;
      const peers = [...this.h.swim.memberViews()].filter((v) => v.id !== this.h.selfId && v.state === "alive").map((v) => v.addr);
      for (const to of sampleWithout(peers, this.h.fanout, this.h.rng)) {
        this.h.stats.fanoutPushPulls++;
        this.h.pushPull(to).catch((e) => this.h.log("debug", { to, err: asFizz(e, "cluster.stream_failed").message }, "fan-out push-pull failed"));
      }
    }, COALESCE_MS);
  }
}
