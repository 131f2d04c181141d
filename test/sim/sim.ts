/**
 * Deterministic cluster simulator (in the spirit of TigerBeetle's VOPR and
 * FoundationDB's simulation): a seeded PRNG, a virtual clock driven by a
 * binary-heap event queue, and the simulated network of network.ts. It drives
 * the very same core/swim state machine the agent runs, optionally through the
 * binary codec, and checks invariants on every membership event. Same seed,
 * same run — a failure message prints the seed and the replay command.
 */
import { createRng, type Rng } from "../../core/random.ts";
import {
  type MemberEvent,
  type MemberRecord,
  type Message,
  type NodeMeta,
  type StreamMessage,
  type SwimConfig,
  SwimNode,
  decodeMessage,
  decodeStream,
  emptyMeta,
  encodeMessage,
  encodeStream,
  encodedSize,
  suspicionBounds,
  swimConfig,
} from "../../core/swim/index.ts";
import { EventHeap } from "./heap.ts";
import { Invariants, SimViolation } from "./invariants.ts";
import { Network, type NetworkOptions, type StarveOptions, Stalls, defaultStarve } from "./network.ts";

export interface SimOptions {
  readonly seed: number;
  readonly nodes: number;
  readonly config?: Partial<SwimConfig>;
  readonly network?: Partial<NetworkOptions>;
  /** Round-trip every packet and stream through the binary codec (slower, catches codec bugs). */
  readonly codec?: boolean;
  /** "full": every node starts knowing all others; "none": isolated until `join`. */
  readonly bootstrap?: "full" | "none";
  /** With "full": these nodes start outside the cluster (nobody knows them, they know nobody) until `join`. */
  readonly outside?: readonly number[];
  /** Replay command; `{seed}` is replaced. */
  readonly replay?: string;
  readonly checkInvariants?: boolean;
  readonly onEvent?: (node: number, ev: MemberEvent, nowMs: number) => void;
  readonly onDeliver?: (node: number, origin: string, payload: Uint8Array, nowMs: number) => void;
  /** Each node's SWIM metadata from the start (default: labels {zone: "sim"}). */
  readonly meta?: (index: number) => NodeMeta;
}

export interface SimNode {
  readonly index: number;
  readonly id: string;
  readonly addr: string;
  swim: SwimNode;
  crashed: boolean;
  leaving: boolean;
  stalls: Stalls | undefined;
  tickAt: number;
  sentPackets: number;
  sentBytes: number;
  /** Push-pull (TCP) messages and bytes sent. */
  sentStreams: number;
  sentStreamBytes: number;
}

const enum Kind {
  Tick,
  Packet,
  Stream,
}
interface Ev {
  t: number;
  seq: number;
  kind: Kind;
  node: number;
  from: number;
  msg: Message | Uint8Array | StreamMessage | undefined;
}

export class Simulation {
  now = 0;
  readonly nodes: SimNode[] = [];
  readonly network: Network;
  readonly config: SwimConfig;
  readonly invariants: Invariants;
  readonly seed: number;
  /** Processed events; a cheap fingerprint of the run for determinism checks. */
  events = 0;
  trace = 0x811c9dc5;
  private readonly heap = new EventHeap<Ev>();
  private readonly rng: Rng;
  private readonly byAddr = new Map<string, number>();
  private readonly byId = new Map<string, number>();
  private seq = 0;
  private faultActive = false;
  private faultEndMs = -Infinity;

  constructor(private readonly opts: SimOptions) {
    this.seed = opts.seed;
    this.rng = createRng(opts.seed);
    this.config = swimConfig(opts.config);
    this.network = new Network(opts.nodes, opts.network ?? {}, this.rng.fork());
    this.invariants = new Invariants(this);
    const defaultMeta: NodeMeta = { ...emptyMeta, labels: { zone: "sim" } };
    const metaOf = (i: number): NodeMeta => opts.meta?.(i) ?? defaultMeta;
    const records: MemberRecord[] = [];
    const outside = new Set(opts.outside ?? []);
    for (let i = 0; i < opts.nodes; i++) if (!outside.has(i)) records.push({ node: `n${i}`, addr: `sim:${i}`, incarnation: 0, state: "alive", meta: metaOf(i) });
    for (let i = 0; i < opts.nodes; i++) {
      const id = `n${i}`;
      const addr = `sim:${i}`;
      const swim = new SwimNode(this.config, { id, addr, meta: metaOf(i) }, this.rng.fork(), opts.bootstrap === "none" || outside.has(i) ? {} : { knownMembers: records });
      this.nodes.push({ index: i, id, addr, swim, crashed: false, leaving: false, stalls: undefined, tickAt: Infinity, sentPackets: 0, sentBytes: 0, sentStreams: 0, sentStreamBytes: 0 });
      this.byAddr.set(addr, i);
      this.byId.set(id, i);
    }
    this.updateFault();
    if (opts.bootstrap !== "none") for (const n of this.nodes) if (!outside.has(n.index)) this.scheduleTick(n, 0);
  }

  indexOf(id: string): number | undefined {
    return this.byId.get(id);
  }

  // ------------------------------------------------------------ faults & control

  /** True while a fault is active, or shortly after (suspicions raised during a fault may still expire). */
  faultyAt(nowMs: number): boolean {
    if (this.faultActive) return true;
    const n = Math.max(2, this.nodes.length);
    const grace = suspicionBounds(this.config, n).maxMs + this.config.awarenessMaxMultiplier * this.config.probeIntervalMs * 2;
    return nowMs - this.faultEndMs < grace;
  }

  setNetwork(o: Partial<NetworkOptions>): void {
    this.network.options = { ...this.network.options, ...o };
    this.updateFault();
  }

  partition(groups: readonly (readonly number[])[]): void {
    this.network.group.fill(0);
    groups.forEach((g, gi) => {
      for (const i of g) this.network.group[i] = gi + 1;
    });
    this.updateFault();
  }

  heal(): void {
    this.network.group.fill(0);
    this.updateFault();
  }

  starve(i: number, o: StarveOptions = defaultStarve): void {
    (this.nodes[i] as SimNode).stalls = new Stalls(o, this.rng.fork(), this.now);
    this.updateFault();
  }

  unstarve(i: number): void {
    (this.nodes[i] as SimNode).stalls = undefined;
    this.updateFault();
  }

  crash(i: number): void {
    const n = this.nodes[i] as SimNode;
    n.crashed = true;
    n.tickAt = Infinity;
  }

  join(i: number, seeds: readonly number[], atMs = this.now): void {
    const n = this.nodes[i] as SimNode;
    n.swim.join(seeds.map((s) => (this.nodes[s] as SimNode).addr), atMs);
    this.flush(n);
  }

  leave(i: number): void {
    const n = this.nodes[i] as SimNode;
    n.leaving = true;
    n.swim.leave(this.now);
    this.flush(n);
  }

  broadcast(i: number, payload: Uint8Array): void {
    const n = this.nodes[i] as SimNode;
    const r = n.swim.broadcast(payload);
    if (!r.ok) throw new Error(r.message);
    this.flush(n);
  }

  fail(message: string): never {
    throw new SimViolation(message, this.seed, this.opts.replay ?? "FIZZ_SIM_SEED={seed} bun test test/sim/");
  }

  private updateFault(): void {
    const o = this.network.options;
    const active = o.loss > 0 || this.network.partitioned || this.nodes.some((n) => n.stalls !== undefined && !n.crashed);
    if (this.faultActive && !active) this.faultEndMs = this.now;
    this.faultActive = active;
  }

  // ------------------------------------------------------------ event loop

  run(untilMs: number): void {
    for (;;) {
      const e = this.heap.peek();
      if (e === undefined || e.t > untilMs) break;
      this.heap.pop();
      this.now = e.t;
      this.dispatch(e);
    }
    this.now = untilMs;
  }

  private dispatch(e: Ev): void {
    const n = this.nodes[e.node] as SimNode;
    if (n.crashed) return;
    if (e.kind === Kind.Tick && e.t !== n.tickAt) return;
    if (n.stalls !== undefined && e.kind !== Kind.Tick) {
      const until = n.stalls.stalledUntil(this.now);
      if (until !== undefined) {
        // The starved process's timers still fire (and time out), but its socket
        // reader gets no CPU: inbound packets wait until the stall ends.
        e.t = until + 0.01 + this.rng.next();
        e.seq = this.seq++;
        this.heap.push(e);
        return;
      }
    }
    this.events++;
    this.trace = Math.imul(this.trace ^ (e.node * 3 + e.kind), 16777619) ^ Math.floor(this.now * 16);
    const swim = n.swim;
    switch (e.kind) {
      case Kind.Tick:
        n.tickAt = Infinity;
        swim.tick(this.now);
        break;
      case Kind.Packet: {
        const from = (this.nodes[e.from] as SimNode).addr;
        if (e.msg instanceof Uint8Array) {
          const d = decodeMessage(e.msg);
          if (!d.ok) this.fail(`codec rejected a packet it encoded: ${d.error.message}`);
          swim.receive(from, d.value, this.now);
        } else swim.receive(from, e.msg as Message, this.now);
        break;
      }
      case Kind.Stream: {
        let msg = e.msg as StreamMessage;
        if (e.msg instanceof Uint8Array) {
          const d = decodeStream(e.msg);
          if (!d.ok) this.fail(`codec rejected a stream it encoded: ${d.error.message}`);
          msg = d.value;
        }
        const reply = swim.receiveStream((this.nodes[e.from] as SimNode).addr, msg, this.now);
        if (reply !== undefined) this.sendStream(n.index, e.from, reply);
        break;
      }
    }
    this.flush(n);
  }

  private flush(n: SimNode): void {
    const outs = n.swim.drain();
    for (const o of outs) {
      switch (o.kind) {
        case "packet": {
          const to = this.byAddr.get(o.to);
          const size = encodedSize(o.message);
          n.sentPackets++;
          n.sentBytes += size;
          if (size > this.config.maxPacketBytes) this.fail(`n${n.index} sent a ${size}-byte packet (limit ${this.config.maxPacketBytes})`);
          if (to === undefined || !this.network.connected(n.index, to)) break;
          const payload = this.opts.codec ? encodeMessage(o.message) : o.message;
          for (const d of this.network.udpDelays()) {
            this.heap.push({ t: this.now + d, seq: this.seq++, kind: Kind.Packet, node: to, from: n.index, msg: payload });
          }
          break;
        }
        case "stream": {
          const to = this.byAddr.get(o.to);
          if (to !== undefined) this.sendStream(n.index, to, o.message);
          break;
        }
        case "event":
          if (this.opts.checkInvariants !== false) this.invariants.onEvent(n.index, o.event, this.now);
          this.opts.onEvent?.(n.index, o.event, this.now);
          break;
        case "deliver":
          this.opts.onDeliver?.(n.index, o.origin, o.payload, this.now);
          break;
      }
    }
    if (!n.crashed) this.scheduleTick(n, n.swim.nextWakeupMs());
  }

  private sendStream(from: number, to: number, msg: StreamMessage): void {
    // A TCP connection to a crashed or unreachable node fails: nothing is delivered.
    const target = this.nodes[to] as SimNode;
    const sender = this.nodes[from] as SimNode;
    const bytes = encodeStream(msg);
    sender.sentStreams++;
    sender.sentStreamBytes += bytes.length;
    if (target.crashed || !this.network.connected(from, to)) return;
    const payload = this.opts.codec ? bytes : msg;
    this.heap.push({ t: this.now + this.network.streamDelay(), seq: this.seq++, kind: Kind.Stream, node: to, from, msg: payload });
  }

  private scheduleTick(n: SimNode, at: number): void {
    const t = Math.max(at, this.now);
    if (t >= n.tickAt) return;
    n.tickAt = t;
    this.heap.push({ t, seq: this.seq++, kind: Kind.Tick, node: n.index, from: -1, msg: undefined });
  }
}

/** Seed for a test run: FIZZ_SIM_SEED when replaying, else the given default. */
export function simSeed(fallback: number): number {
  const env = process.env.FIZZ_SIM_SEED;
  if (env === undefined || env === "") return fallback;
  const n = Number(env);
  if (!Number.isInteger(n)) throw new Error(`FIZZ_SIM_SEED must be an integer, got ${env}`);
  return n;
}
