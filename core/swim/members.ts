/**
 * The local member table: records by id, a dense id array for O(1) random
 * peer selection, and the shuffled round-robin probe order SWIM uses so every
 * member is probed within a bounded time (each pass visits everyone once).
 */
import type { Rng } from "../random.ts";
import { shuffle } from "../random.ts";
import type { MemberState, NodeMeta } from "./messages.ts";

export interface Member {
  readonly id: string;
  addr: string;
  meta: NodeMeta;
  incarnation: number;
  state: MemberState;
  /** When `state` last changed (virtual or real ms). */
  stateChangeMs: number;
}

export class MemberTable {
  private readonly byId = new Map<string, Member>();
  private readonly dense: string[] = [];
  private readonly denseIndex = new Map<string, number>();
  private probeOrder: string[] = [];
  private probeIndex = 0;
  /** alive + suspect, self included: the N in every log(N) formula. */
  live = 0;

  constructor(private readonly rng: Rng) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Member | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<Member> {
    return this.byId.values();
  }

  /** Add a member; `bulk` skips the probe-order insert (call `reshuffle` after a batch). */
  add(m: Member, bulk = false): void {
    this.byId.set(m.id, m);
    this.denseIndex.set(m.id, this.dense.length);
    this.dense.push(m.id);
    if (isLive(m.state)) this.live++;
    if (bulk) return;
    // Insert at a random spot of the current pass, like memberlist, so a new
    // node is probed within one pass without reshuffling everything.
    const at = this.probeIndex + this.rng.int(this.probeOrder.length - this.probeIndex + 1);
    this.probeOrder.splice(at, 0, m.id);
  }

  reshuffle(): void {
    this.probeOrder = shuffle(this.rng, [...this.dense]);
    this.probeIndex = 0;
  }

  setState(m: Member, state: MemberState, nowMs: number): void {
    if (isLive(m.state) && !isLive(state)) this.live--;
    else if (!isLive(m.state) && isLive(state)) this.live++;
    m.state = state;
    m.stateChangeMs = nowMs;
  }

  remove(id: string): void {
    const m = this.byId.get(id);
    if (m === undefined) return;
    if (isLive(m.state)) this.live--;
    this.byId.delete(id);
    const i = this.denseIndex.get(id) as number;
    const last = this.dense.pop() as string;
    if (last !== id) {
      this.dense[i] = last;
      this.denseIndex.set(last, i);
    }
    this.denseIndex.delete(id);
  }

  /** Next member to probe in the shuffled round robin (skips self, dead and left). */
  nextProbe(selfId: string): Member | undefined {
    for (let pass = 0; pass < 2; pass++) {
      while (this.probeIndex < this.probeOrder.length) {
        const id = this.probeOrder[this.probeIndex++] as string;
        if (id === selfId) continue;
        const m = this.byId.get(id);
        if (m !== undefined && isLive(m.state)) return m;
      }
      this.probeOrder = shuffle(this.rng, [...this.dense]);
      this.probeIndex = 0;
    }
    return undefined;
  }

  /** Up to k distinct random members accepted by `ok`. */
  randomPeers(k: number, ok: (m: Member) => boolean): Member[] {
    const out: Member[] = [];
    const n = this.dense.length;
    if (k <= 0 || n === 0) return out;
    if (n <= 4 * k + 8) {
      for (const id of shuffle(this.rng, [...this.dense])) {
        const m = this.byId.get(id) as Member;
        if (ok(m)) out.push(m);
        if (out.length === k) break;
      }
      return out;
    }
    for (let tries = 0; tries < 8 * k + 16 && out.length < k; tries++) {
      const m = this.byId.get(this.dense[this.rng.int(n)] as string) as Member;
      if (ok(m) && !out.includes(m)) out.push(m);
    }
    return out;
  }
}

export function isLive(s: MemberState): boolean {
  return s === "alive" || s === "suspect";
}
