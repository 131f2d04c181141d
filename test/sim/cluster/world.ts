/**
 * The world whole agents run in: virtual time (one event heap; each node's
 * clock is it plus the node's skew), a network with latency, loss and
 * partitions, and crashes. After every event the world lets all promise
 * continuations run (one macrotask turn), so the agents' async code — the
 * reconciler, the cluster node's streams — runs as it does for real, only
 * in virtual time and in one deterministic order.
 */
import type { Clock, Timer } from "../../../core/clock.ts";
import { createRng, type Rng } from "../../../core/random.ts";
import { EventHeap } from "../heap.ts";

interface Ev {
  t: number;
  seq: number;
  /** The node's incarnation the event belongs to (its timers die with it); -1: the world's own. */
  node: number;
  incarnation: number;
  fn: () => void;
}

export interface LinkOptions {
  readonly latencyMs: number;
  readonly jitterMs: number;
  /** Probability a datagram is lost. */
  readonly loss: number;
}

export class World {
  now = 0;
  readonly rng: Rng;
  private readonly heap = new EventHeap<Ev>();
  private seq = 0;
  /** Events processed (a fingerprint of the run, with `trace`). */
  events = 0;
  trace = 0x811c9dc5;
  link: LinkOptions = { latencyMs: 1, jitterMs: 2, loss: 0 };
  /** Partition group per node; nodes talk only within a group. */
  readonly group: number[] = [];
  /** Per node: its incarnation (bumped on restart) and whether it is up. */
  readonly incarnation: number[] = [];
  readonly up: boolean[] = [];
  readonly skew: number[] = [];

  constructor(readonly seed: number) {
    this.rng = createRng(seed);
  }

  addNode(skewMs: number): number {
    const i = this.group.length;
    this.group.push(0);
    this.incarnation.push(0);
    this.up.push(true);
    this.skew.push(skewMs);
    return i;
  }

  at(t: number, fn: () => void, node = -1): Timer {
    const ev: Ev = { t: Math.max(t, this.now), seq: this.seq++, node, incarnation: node >= 0 ? this.incarnation[node]! : 0, fn };
    this.heap.push(ev);
    return {
      cancel: () => {
        ev.fn = noop;
      },
    };
  }

  after(ms: number, fn: () => void, node = -1): Timer {
    return this.at(this.now + Math.max(0, ms), fn, node);
  }

  /** Node `i`'s clock: virtual time plus its skew; its timers die when it crashes. */
  clock(i: number): Clock {
    return {
      now: () => Math.round(1_700_000_000_000 + this.now + this.skew[i]!),
      monotonic: () => this.now,
      setTimeout: (fn, ms) => this.after(ms, fn, i),
    };
  }

  reachable(a: number, b: number): boolean {
    return this.up[a]! && this.up[b]! && this.group[a] === this.group[b];
  }

  /** One-way delay for a packet or frame. */
  delay(): number {
    return this.link.latencyMs + this.rng.next() * this.link.jitterMs * 2;
  }

  crash(i: number): void {
    this.up[i] = false;
    this.incarnation[i]!++;
  }

  restart(i: number): void {
    this.up[i] = true;
  }

  partition(groups: readonly (readonly number[])[]): void {
    groups.forEach((g, k) => g.forEach((n) => (this.group[n] = k)));
  }

  heal(): void {
    this.group.fill(0);
  }

  /**
   * Runs events until `until` (virtual ms). Events less than `QUANTUM_MS`
   * apart run back to back, then async work settles (one macrotask turn): a
   * scheduler with a 1 ms tick, deterministic like the rest.
   */
  async run(until: number): Promise<void> {
    for (;;) {
      const first = this.heap.peek();
      if (!first || first.t > until) break;
      const end = Math.min(until, first.t + QUANTUM_MS);
      for (;;) {
        const ev = this.heap.peek();
        if (!ev || ev.t > end) break;
        this.heap.pop();
        if (ev.node >= 0 && (ev.incarnation !== this.incarnation[ev.node] || !this.up[ev.node])) continue;
        this.now = ev.t;
        this.events++;
        this.trace = Math.imul(this.trace ^ (ev.t | 0) ^ (ev.node + 7), 0x01000193) >>> 0;
        ev.fn();
      }
      await turn();
    }
    this.now = Math.max(this.now, until);
  }
}

const noop = () => {};
const QUANTUM_MS = 1;
/** One macrotask turn: every pending promise continuation runs first. */
const turn = () => new Promise<void>((r) => setImmediate(r));
