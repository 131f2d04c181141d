/**
 * The SWIM node as a pure state machine (memberlist's state.go + net.go minus
 * the sockets). Inputs: tick / receive / receiveStream / join / leave /
 * broadcast, each with the current time. Outputs accumulate in an outbox the
 * driver drains: UDP packets, push-pull stream requests, membership events and
 * delivered user payloads. `nextWakeupMs()` says when to tick next, so the
 * simulator (virtual time) and the agent (setTimeout) drive the same code.
 */
import type { Rng } from "../random.ts";
import { packCompound } from "../gossip/pack.ts";
import { TransmitLimitedQueue } from "../gossip/queue.ts";
import { type UserStateHook, noUserState } from "../gossip/hook.ts";
import { Awareness } from "./awareness.ts";
import { COMPOUND_HEADER, MAX_SHORT_STRING, compoundPartSize, encodedSize, utf8Length } from "./codec.ts";
import { type SwimConfig, pushPullInterval, retransmitLimit, suspicionBounds } from "./config.ts";
import { type Member, MemberTable, isLive } from "./members.ts";
import {
  type Alive,
  type Broadcast,
  type Dead,
  type DigestEntry,
  MAX_PUSH_PULL_BUCKETS,
  type MemberRecord,
  type MemberState,
  type Message,
  type NodeMeta,
  type StreamMessage,
  type StreamRequest,
  type Suspect,
  bucketHashes,
  bucketOf,
  newer,
} from "./messages.ts";
import { Suspicion } from "./suspicion.ts";

export interface MemberView {
  readonly id: string;
  readonly addr: string;
  readonly meta: NodeMeta;
  readonly state: MemberState;
  readonly incarnation: number;
}

export type MemberEventType = "join" | "suspect" | "alive" | "dead" | "left" | "update";
export interface MemberEvent {
  readonly type: MemberEventType;
  readonly member: MemberView;
  /** For "dead": true when this node's own suspicion timer declared it (not learned by gossip). */
  readonly local: boolean;
}

export type Output =
  | { readonly kind: "packet"; readonly to: string; readonly message: Message }
  | { readonly kind: "stream"; readonly to: string; readonly message: StreamRequest }
  | { readonly kind: "event"; readonly event: MemberEvent }
  | { readonly kind: "deliver"; readonly origin: string; readonly payload: Uint8Array };

export interface SwimIdentity {
  readonly id: string;
  readonly addr: string;
  readonly meta: NodeMeta;
}

export interface SwimOptions {
  /** Start above a previous run's incarnation (persisted by the agent) so old gossip cannot override us. */
  readonly incarnation?: number;
  /** Members known at start (agent restart from persisted state; simulator bootstrap). */
  readonly knownMembers?: readonly MemberRecord[];
  /** CRDT layer's push-pull hook. */
  readonly userState?: UserStateHook;
}

export type BroadcastResult = { readonly ok: true } | { readonly ok: false; readonly code: "swim.user_payload_too_large"; readonly message: string };

interface Probe {
  readonly seq: number;
  readonly target: Member;
  readonly ackDeadline: number;
  readonly endMs: number;
  indirect: boolean;
  tcpAcked: boolean;
  expectedNacks: number;
  nacks: number;
}

interface Relay {
  readonly origSeq: number;
  readonly origAddr: string;
  nackAt: number;
  readonly expires: number;
}

const PRIORITY = { dead: 3, suspect: 2, alive: 1, user: 0 } as const;
const REAP_EVERY_MS = 1000;

export class SwimNode {
  private readonly members: MemberTable;
  private readonly self: Member;
  private readonly queue: TransmitLimitedQueue<Broadcast>;
  private readonly awareness: Awareness;
  private readonly suspicions = new Map<string, Suspicion>();
  private readonly relays = new Map<number, Relay>();
  private readonly seenUser = new Map<string, number>();
  private readonly gone = new Set<string>();
  private readonly userState: UserStateHook;
  private outbox: Output[] = [];
  private seq = 0;
  /**
   * Numbers this process's user broadcasts. It starts at a random point: peers
   * drop an (origin, seq) they saw within userDedupMs, so a restarted agent
   * counting from 0 again would have its first broadcasts dropped as repeats
   * of its previous life's until push-pull repaired the state.
   */
  private userSeq: number;
  private probe: Probe | undefined;
  private started = false;
  private leaving = false;
  private nextProbeAt = 0;
  private nextGossipAt = 0;
  private nextPushPullAt = 0;
  private nextReconnectAt = 0;
  private nextReapAt = 0;
  private nextDedupPruneAt = 0;

  constructor(
    readonly config: SwimConfig,
    identity: SwimIdentity,
    private readonly rng: Rng,
    options: SwimOptions = {},
  ) {
    for (const s of [identity.id, identity.addr]) {
      if (s.length === 0 || utf8Length(s) > MAX_SHORT_STRING) throw new RangeError(`node id and address must be 1..${MAX_SHORT_STRING} bytes`);
    }
    this.members = new MemberTable(rng);
    this.queue = new TransmitLimitedQueue(config.maxQueuedBroadcasts);
    this.awareness = new Awareness(config.awarenessMaxMultiplier, config.lifeguard);
    this.userState = options.userState ?? noUserState;
    this.self = { id: identity.id, addr: identity.addr, meta: identity.meta, incarnation: options.incarnation ?? 0, state: "alive", stateChangeMs: 0 };
    this.members.add(this.self);
    for (const r of options.knownMembers ?? []) {
      if (r.node === identity.id || this.members.get(r.node) !== undefined) continue;
      this.members.add({ id: r.node, addr: r.addr, meta: r.meta, incarnation: r.incarnation, state: r.state, stateChangeMs: 0 }, true);
      if (!isLive(r.state)) this.gone.add(r.node);
    }
    this.members.reshuffle();
    this.userSeq = rng.u32();
  }

  // ------------------------------------------------------------ public API

  get id(): string {
    return this.self.id;
  }
  get incarnation(): number {
    return this.self.incarnation;
  }
  /** Lifeguard health score (0 = healthy). */
  get healthScore(): number {
    return this.awareness.score;
  }
  /** Alive + suspect members including self. */
  get liveCount(): number {
    return this.members.live;
  }
  get queuedBroadcasts(): number {
    return this.queue.length;
  }

  member(id: string): MemberView | undefined {
    const m = this.members.get(id);
    return m === undefined ? undefined : view(m);
  }

  *memberViews(): IterableIterator<MemberView> {
    for (const m of this.members.all()) yield view(m);
  }

  /** Take everything produced since the last drain. */
  drain(): Output[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  /** Contact seeds by push-pull (TCP). Call again to retry; any one reachable seed is enough. */
  join(seedAddrs: readonly string[], nowMs: number): void {
    this.start(nowMs);
    this.enqueue(this.aliveMessage());
    for (const addr of seedAddrs) if (addr !== this.self.addr) this.emitPushPull(addr, true);
  }

  /** Graceful leave: tell peers we left (not failed). Keep ticking a few gossip rounds, then stop. */
  leave(nowMs: number): void {
    this.start(nowMs);
    if (this.leaving) return;
    this.leaving = true;
    this.probe = undefined;
    const d: Dead = { type: "dead", node: this.self.id, incarnation: this.self.incarnation, from: this.self.id };
    this.members.setState(this.self, "left", nowMs);
    this.enqueue(d);
    for (const p of this.members.randomPeers(this.config.gossipNodes, (m) => m !== this.self && isLive(m.state))) {
      this.send(p.addr, [d]);
    }
  }

  /** Change our metadata (labels, resources, ports) and gossip it with a new incarnation. */
  updateMeta(meta: NodeMeta, nowMs: number): void {
    this.start(nowMs);
    this.self.meta = meta;
    this.self.incarnation++;
    this.enqueue(this.aliveMessage());
  }

  /** Disseminate an opaque payload to every member (piggybacked; at most once per node). */
  broadcast(payload: Uint8Array): BroadcastResult {
    const msg = { type: "user", origin: this.self.id, seq: (this.userSeq = (this.userSeq + 1) >>> 0), payload } as const;
    const room = this.config.maxPacketBytes - COMPOUND_HEADER - 2 - 64;
    if (payload.length > 0xffff || compoundPartSize(msg) > room) {
      return { ok: false, code: "swim.user_payload_too_large", message: `payload of ${payload.length} bytes does not fit a ${this.config.maxPacketBytes}-byte packet; send large state through push-pull instead` };
    }
    this.enqueue(msg);
    return { ok: true };
  }

  /**
   * An early copy of what no peer has had yet (a fresh broadcast: a state
   * change) to `gossipNodes` random peers now, instead of waiting up to a
   * gossip interval for the next round, whose packet may not even have room
   * for it when other news is queued. Extra packets, not a new schedule: the
   * copy counts no transmission, so the timer's rounds and the probes'
   * piggybacking spread every update exactly as they would without it.
   */
  gossipNow(nowMs: number): void {
    this.start(nowMs);
    const fresh = this.queue.fresh(this.config.maxPacketBytes - COMPOUND_HEADER);
    if (fresh.length === 0) return;
    const message: Message = fresh.length === 1 ? fresh[0]! : { type: "compound", parts: fresh };
    const peers = this.members.randomPeers(this.config.gossipNodes, (m) => m !== this.self && isLive(m.state));
    for (const p of peers) this.outbox.push({ kind: "packet", to: p.addr, message });
  }

  /** Earliest time at which `tick` has something to do. */
  nextWakeupMs(): number {
    let t = Math.min(this.nextGossipAt, this.nextPushPullAt, this.nextReconnectAt, this.nextReapAt, this.nextDedupPruneAt);
    if (this.probe !== undefined) t = Math.min(t, this.probe.indirect ? this.probe.endMs : this.probe.ackDeadline);
    else if (!this.leaving) t = Math.min(t, this.nextProbeAt);
    for (const r of this.relays.values()) t = Math.min(t, r.nackAt, r.expires);
    for (const s of this.suspicions.values()) t = Math.min(t, s.deadlineMs);
    return t;
  }

  tick(nowMs: number): void {
    this.start(nowMs);
    for (const s of [...this.suspicions.values()]) {
      if (s.deadlineMs <= nowMs) this.suspicionExpired(s, nowMs);
    }
    this.stepProbe(nowMs);
    for (const [seq, r] of this.relays) {
      if (r.nackAt <= nowMs) {
        this.send(r.origAddr, [{ type: "nack", seq: r.origSeq }]);
        r.nackAt = Infinity;
      }
      if (r.expires <= nowMs) this.relays.delete(seq);
    }
    if (nowMs >= this.nextGossipAt) {
      this.nextGossipAt = Math.max(this.nextGossipAt + this.config.gossipIntervalMs, nowMs + 1);
      this.gossip(nowMs);
    }
    if (nowMs >= this.nextPushPullAt) {
      this.nextPushPullAt = this.config.pushPullIntervalMs > 0 ? nowMs + pushPullInterval(this.config, this.members.live) : Infinity;
      if (!this.leaving) {
        const [p] = this.members.randomPeers(1, (m) => m !== this.self && m.state === "alive");
        if (p !== undefined) {
          if (this.config.pushPullBuckets > 0) this.emitSync(p.addr);
          else this.emitPushPull(p.addr, false);
        }
      }
    }
    if (nowMs >= this.nextReconnectAt) {
      this.nextReconnectAt = nowMs + this.config.reconnectIntervalMs;
      if (!this.leaving) this.reconnect(nowMs);
    }
    if (nowMs >= this.nextReapAt) {
      this.nextReapAt = nowMs + REAP_EVERY_MS;
      this.reap(nowMs);
    }
    if (nowMs >= this.nextDedupPruneAt) {
      this.nextDedupPruneAt = nowMs + this.config.userDedupMs;
      for (const [k, t] of this.seenUser) if (t < nowMs) this.seenUser.delete(k);
    }
  }

  receive(fromAddr: string, message: Message, nowMs: number): void {
    this.start(nowMs);
    if (message.type === "compound") {
      for (const part of message.parts) if (part.type !== "compound") this.handle(fromAddr, part, nowMs);
    } else this.handle(fromAddr, message, nowMs);
  }

  /**
   * A push-pull stream message arrived (over TCP). Returns the reply to send on
   * the same connection, if any: request → response → final.
   */
  receiveStream(fromAddr: string, message: StreamMessage, nowMs: number): StreamMessage | undefined {
    this.start(nowMs);
    switch (message.type) {
      case "pp-sync": {
        // Digests first: answer with our members of the buckets whose hashes differ (scoped pp-request).
        const buckets = message.buckets.length;
        if (buckets < 1 || buckets > MAX_PUSH_PULL_BUCKETS) return undefined;
        const mine = bucketHashes(this.digestEntries(), buckets);
        const differ = new Set<number>();
        for (let i = 0; i < buckets; i++) if (mine[i] !== message.buckets[i]) differ.add(i);
        const members: DigestEntry[] = [];
        if (differ.size > 0) {
          for (const m of this.members.all()) if (differ.has(bucketOf(m.id, buckets))) members.push({ node: m.id, incarnation: m.incarnation, state: m.state });
        }
        return { type: "pp-request", join: false, from: this.self.id, members, userDigest: this.userState.digest(), scope: { buckets, indices: [...differ].sort((a, b) => a - b) } };
      }
      case "pp-request": {
        const remote = new Map<string, DigestEntry>();
        for (const e of message.members) remote.set(e.node, e);
        const mine = remote.get(this.self.id);
        if (mine !== undefined && !this.leaving && (mine.incarnation > this.self.incarnation || (mine.incarnation === this.self.incarnation && mine.state !== "alive"))) {
          this.refute(mine.incarnation);
        }
        // A scoped request covers only some buckets: compare (and send) only the members in them.
        const scope = message.scope;
        const inScope = scope === undefined ? undefined : new Set(scope.indices);
        const updates: MemberRecord[] = [];
        for (const m of this.members.all()) {
          if (scope !== undefined && !(inScope as Set<number>).has(bucketOf(m.id, scope.buckets))) continue;
          const e = remote.get(m.id);
          if (e === undefined ? m.state !== "left" : newer(m.incarnation, m.state, e.incarnation, e.state)) updates.push(record(m));
        }
        const want: string[] = [];
        for (const e of message.members) {
          if (e.node === this.self.id) continue;
          if (scope !== undefined && !(inScope as Set<number>).has(bucketOf(e.node, scope.buckets))) continue;
          const m = this.members.get(e.node);
          if (m === undefined ? e.state === "alive" || e.state === "suspect" : newer(e.incarnation, e.state, m.incarnation, m.state)) want.push(e.node);
        }
        return { type: "pp-response", from: this.self.id, updates, want, userDiff: this.userState.diff(message.userDigest), userDigest: this.userState.digest() };
      }
      case "pp-response": {
        for (const r of message.updates) this.mergeRecord(r, message.from, nowMs);
        this.userState.apply(message.userDiff);
        const updates: MemberRecord[] = [record(this.self)];
        for (const id of message.want) {
          const m = this.members.get(id);
          if (m !== undefined && m !== this.self) updates.push(record(m));
        }
        return { type: "pp-final", from: this.self.id, updates, userDiff: this.userState.diff(message.userDigest) };
      }
      case "pp-final":
        for (const r of message.updates) this.mergeRecord(r, message.from, nowMs);
        this.userState.apply(message.userDiff);
        return undefined;
      case "tcp-ping":
        return message.target === this.self.id && !this.leaving ? { type: "tcp-ack", from: this.self.id, seq: message.seq } : undefined;
      case "tcp-ack":
        if (this.probe !== undefined && this.probe.seq === message.seq) this.probe.tcpAcked = true;
        return undefined;
    }
  }

  // ------------------------------------------------------------ probing

  private start(nowMs: number): void {
    if (this.started) return;
    this.started = true;
    const c = this.config;
    // Stagger timers so a cluster started at once does not probe in lockstep.
    this.nextProbeAt = nowMs + this.rng.next() * c.probeIntervalMs;
    this.nextGossipAt = nowMs + this.rng.next() * c.gossipIntervalMs;
    this.nextPushPullAt = c.pushPullIntervalMs > 0 ? nowMs + this.rng.next() * pushPullInterval(c, this.members.live) : Infinity;
    this.nextReconnectAt = nowMs + this.rng.next() * c.reconnectIntervalMs;
    this.nextReapAt = nowMs + REAP_EVERY_MS;
    this.nextDedupPruneAt = nowMs + c.userDedupMs;
  }

  private stepProbe(nowMs: number): void {
    const p = this.probe;
    if (p !== undefined && !p.indirect && nowMs >= p.ackDeadline) {
      p.indirect = true;
      const relays = this.members.randomPeers(this.config.indirectChecks, (m) => m !== this.self && m !== p.target && m.state === "alive");
      const nack = this.config.lifeguard;
      for (const r of relays) {
        this.send(r.addr, [{ type: "ping-req", seq: p.seq, target: p.target.id, targetAddr: p.target.addr, nack }]);
      }
      p.expectedNacks = nack ? relays.length : 0;
      if (this.config.tcpFallbackProbe) {
        this.outbox.push({ kind: "stream", to: p.target.addr, message: { type: "tcp-ping", from: this.self.id, seq: p.seq, target: p.target.id } });
      }
    }
    if (p !== undefined && nowMs >= p.endMs) {
      this.probe = undefined;
      // Lifeguard: relays that did not even nack suggest *we* are the problem.
      this.awareness.applyDelta(p.expectedNacks > 0 ? p.expectedNacks - p.nacks : 1);
      // Reachable over TCP but not UDP: a network problem, not a dead node (memberlist does the same).
      if (p.tcpAcked) return;
      const t = p.target;
      if (this.members.get(t.id) === t && isLive(t.state)) {
        this.onSuspect({ type: "suspect", node: t.id, incarnation: t.incarnation, from: this.self.id }, nowMs);
      }
    }
    if (this.probe === undefined && !this.leaving && nowMs >= this.nextProbeAt) {
      this.nextProbeAt = nowMs + this.awareness.scale(this.config.probeIntervalMs);
      const target = this.members.nextProbe(this.self.id);
      if (target === undefined) return;
      const seq = this.nextSeq();
      const parts: Message[] = [];
      // Buddy system: tell a suspect it is suspected so it can refute at once.
      if (this.config.lifeguard && target.state === "suspect") {
        parts.push({ type: "suspect", node: target.id, incarnation: target.incarnation, from: this.self.id });
      }
      parts.push({ type: "ping", seq, target: target.id });
      this.send(target.addr, parts);
      this.probe = {
        seq,
        target,
        ackDeadline: nowMs + this.awareness.scale(this.config.probeTimeoutMs),
        endMs: nowMs + this.awareness.scale(this.config.probeIntervalMs),
        indirect: false,
        tcpAcked: false,
        expectedNacks: 0,
        nacks: 0,
      };
    }
  }

  private handle(from: string, m: Message, nowMs: number): void {
    switch (m.type) {
      case "ping":
        if (m.target === this.self.id && !this.leaving) this.send(from, [{ type: "ack", seq: m.seq }]);
        return;
      case "ping-req": {
        const seq = this.nextSeq();
        this.relays.set(seq, {
          origSeq: m.seq,
          origAddr: from,
          nackAt: m.nack ? nowMs + Math.floor(this.config.probeTimeoutMs * 0.8) : Infinity,
          expires: nowMs + this.config.probeIntervalMs,
        });
        this.send(m.targetAddr, [{ type: "ping", seq, target: m.target }]);
        return;
      }
      case "ack": {
        const p = this.probe;
        if (p !== undefined && p.seq === m.seq) {
          this.probe = undefined;
          this.awareness.applyDelta(-1);
          return;
        }
        const r = this.relays.get(m.seq);
        if (r !== undefined) {
          this.relays.delete(m.seq);
          this.send(r.origAddr, [{ type: "ack", seq: r.origSeq }]);
        }
        return;
      }
      case "nack":
        if (this.probe !== undefined && this.probe.seq === m.seq) this.probe.nacks++;
        return;
      case "alive":
        this.onAlive(m, nowMs);
        return;
      case "suspect":
        this.onSuspect(m, nowMs);
        return;
      case "dead":
        this.onDead(m, nowMs, false);
        return;
      case "user": {
        const key = userKey(m.origin, m.seq);
        if (m.origin === this.self.id || this.seenUser.has(key)) return;
        this.seenUser.set(key, nowMs + this.config.userDedupMs);
        this.outbox.push({ kind: "deliver", origin: m.origin, payload: m.payload });
        this.enqueue(m);
        return;
      }
      case "compound":
        return;
    }
  }

  // ------------------------------------------------------------ membership updates

  private onAlive(a: Alive, nowMs: number): void {
    if (a.node === this.self.id) {
      if (!this.leaving && (a.incarnation > this.self.incarnation || (a.incarnation === this.self.incarnation && a.addr !== this.self.addr))) {
        this.refute(a.incarnation);
      }
      return;
    }
    const m = this.members.get(a.node);
    if (m === undefined) {
      const fresh: Member = { id: a.node, addr: a.addr, meta: a.meta, incarnation: a.incarnation, state: "alive", stateChangeMs: nowMs };
      this.members.add(fresh);
      this.enqueue(a);
      this.emit("join", fresh, false);
      return;
    }
    if (a.incarnation <= m.incarnation) return;
    const prev = m.state;
    m.incarnation = a.incarnation;
    m.addr = a.addr;
    m.meta = a.meta;
    this.suspicions.delete(m.id);
    this.gone.delete(m.id);
    if (prev !== "alive") this.members.setState(m, "alive", nowMs);
    this.enqueue(a);
    this.emit(prev === "alive" ? "update" : prev === "suspect" ? "alive" : "join", m, false);
  }

  private onSuspect(s: Suspect, nowMs: number): void {
    const m = this.members.get(s.node);
    if (m === undefined || s.incarnation < m.incarnation) return;
    const existing = this.suspicions.get(m.id);
    if (existing !== undefined && s.incarnation === existing.incarnation) {
      if (existing.confirm(s.from)) this.enqueue(s);
      return;
    }
    if (!isLive(m.state)) return;
    if (m === this.self) {
      if (!this.leaving) this.refute(s.incarnation);
      return;
    }
    m.incarnation = s.incarnation;
    this.members.setState(m, "suspect", nowMs);
    const n = this.members.live;
    const { minMs, maxMs } = suspicionBounds(this.config, n);
    const k = this.config.lifeguard ? Math.min(this.config.suspicionConfirmations, Math.max(0, n - 2)) : 0;
    this.suspicions.set(m.id, new Suspicion(m.id, s.incarnation, s.from, nowMs, minMs, maxMs, k));
    this.enqueue(s);
    this.emit("suspect", m, false);
  }

  private onDead(d: Dead, nowMs: number, local: boolean): void {
    const m = this.members.get(d.node);
    if (m === undefined || d.incarnation < m.incarnation) return;
    if (!isLive(m.state)) {
      if (m.state === "dead" && d.from === d.node && d.incarnation >= m.incarnation) {
        m.state = "left";
        this.emit("left", m, false);
      }
      return;
    }
    if (m === this.self) {
      if (!this.leaving) this.refute(d.incarnation);
      return;
    }
    m.incarnation = d.incarnation;
    this.suspicions.delete(m.id);
    this.members.setState(m, d.from === d.node ? "left" : "dead", nowMs);
    this.gone.add(m.id);
    this.enqueue(d);
    this.emit(m.state === "left" ? "left" : "dead", m, local);
  }

  private suspicionExpired(s: Suspicion, nowMs: number): void {
    this.suspicions.delete(s.node);
    const m = this.members.get(s.node);
    if (m === undefined || m.state !== "suspect" || m.incarnation !== s.incarnation) return;
    this.onDead({ type: "dead", node: m.id, incarnation: m.incarnation, from: this.self.id }, nowMs, true);
  }

  /** Push-pull merge; a remote "dead" only makes us suspect (memberlist: be conservative). */
  private mergeRecord(r: MemberRecord, from: string, nowMs: number): void {
    switch (r.state) {
      case "alive":
        this.onAlive({ type: "alive", node: r.node, incarnation: r.incarnation, addr: r.addr, meta: r.meta }, nowMs);
        return;
      case "suspect":
      case "dead":
        if (this.members.get(r.node) === undefined) return;
        this.onSuspect({ type: "suspect", node: r.node, incarnation: r.incarnation, from }, nowMs);
        return;
      case "left":
        this.onDead({ type: "dead", node: r.node, incarnation: r.incarnation, from: r.node }, nowMs, false);
        return;
    }
  }

  /** Beat an accusation (suspect, dead, or a conflicting alive) with a higher incarnation. */
  private refute(accusedIncarnation: number): void {
    // Lifeguard (memberlist's refute): having to refute anything means others cannot hear us well; raise our health score.
    this.awareness.applyDelta(1);
    this.self.incarnation = Math.max(this.self.incarnation, accusedIncarnation) + 1;
    this.enqueue(this.aliveMessage());
  }

  // ------------------------------------------------------------ dissemination

  private gossip(nowMs: number): void {
    if (this.queue.length === 0) return;
    const peers = this.members.randomPeers(
      this.config.gossipNodes,
      (m) => m !== this.self && (isLive(m.state) || (m.state === "dead" && nowMs - m.stateChangeMs < this.config.gossipToTheDeadMs)),
    );
    const limit = retransmitLimit(this.config, this.members.live);
    for (const p of peers) {
      const packet = packCompound([], this.queue, this.config.maxPacketBytes, limit);
      if (packet === undefined) return;
      this.outbox.push({ kind: "packet", to: p.addr, message: packet });
    }
  }

  /** Send `parts` to `to`, filling the rest of the packet with queued updates. */
  private send(to: string, parts: Message[]): void {
    const limit = retransmitLimit(this.config, this.members.live);
    const packet = packCompound(parts, this.queue, this.config.maxPacketBytes, limit);
    if (packet !== undefined) this.outbox.push({ kind: "packet", to, message: packet });
  }

  private enqueue(b: Broadcast): void {
    const key = b.type === "user" ? userKey(b.origin, b.seq) : b.node;
    this.queue.enqueue(key, b, compoundPartSize(b), PRIORITY[b.type]);
  }

  private *digestEntries(): IterableIterator<DigestEntry> {
    for (const m of this.members.all()) yield { node: m.id, incarnation: m.incarnation, state: m.state };
  }

  private emitPushPull(to: string, join: boolean): void {
    const members = [...this.digestEntries()];
    this.outbox.push({ kind: "stream", to, message: { type: "pp-request", join, from: this.self.id, members, userDigest: this.userState.digest() } });
  }

  /** Periodic anti-entropy, digests first (see PushPullSync). */
  private emitSync(to: string): void {
    const buckets = Math.min(MAX_PUSH_PULL_BUCKETS, Math.max(1, Math.floor(this.config.pushPullBuckets)));
    this.outbox.push({ kind: "stream", to, message: { type: "pp-sync", from: this.self.id, buckets: bucketHashes(this.digestEntries(), buckets) } });
  }

  /** Dead nodes are retried for `reconnectTimeoutMs`, so a healed partition merges without operator action. */
  private reconnect(nowMs: number): void {
    if (this.gone.size === 0) return;
    const candidates: Member[] = [];
    for (const id of this.gone) {
      const m = this.members.get(id);
      if (m !== undefined && m.state === "dead" && nowMs - m.stateChangeMs < this.config.reconnectTimeoutMs) candidates.push(m);
    }
    if (candidates.length === 0) return;
    const m = candidates[this.rng.int(candidates.length)] as Member;
    this.emitPushPull(m.addr, false);
  }

  private reap(nowMs: number): void {
    for (const id of [...this.gone]) {
      const m = this.members.get(id);
      if (m === undefined || isLive(m.state)) {
        this.gone.delete(id);
        continue;
      }
      const ttl = m.state === "left" ? this.config.leftTombstoneMs : this.config.reconnectTimeoutMs;
      if (nowMs - m.stateChangeMs >= ttl) {
        this.members.remove(id);
        this.gone.delete(id);
        this.queue.remove(id);
      }
    }
  }

  private aliveMessage(): Alive {
    return { type: "alive", node: this.self.id, incarnation: this.self.incarnation, addr: this.self.addr, meta: this.self.meta };
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private emit(type: MemberEventType, m: Member, local: boolean): void {
    this.outbox.push({ kind: "event", event: { type, member: view(m), local } });
  }
}

function view(m: Member): MemberView {
  return { id: m.id, addr: m.addr, meta: m.meta, state: m.state, incarnation: m.incarnation };
}

function record(m: Member): MemberRecord {
  return { node: m.id, incarnation: m.incarnation, state: m.state, addr: m.addr, meta: m.meta };
}

function userKey(origin: string, seq: number): string {
  return `u:${origin}:${seq}`;
}

/** Re-exported for size checks in tests. */
export { encodedSize };
