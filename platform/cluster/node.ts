/**
 * ClusterNode: one node's cluster runtime. It binds the ClusterEndpoint (UDP +
 * TCP on one port, sealed with the keyring), runs the pure SWIM node of
 * core/swim with real timers, and keeps the cluster state (core/state) in a
 * ClusterReplica that rides on SWIM: small deltas as piggybacked user
 * broadcasts, everything else through push-pull anti-entropy (user-state.ts).
 *
 * Dissemination rules (why each path exists):
 *  - a local `mutate` broadcasts its delta; SWIM forwards user broadcasts
 *    epidemically by itself, so a delta delivered by gossip is applied, not
 *    re-broadcast (re-broadcasting would make every delivery a new message);
 *  - a delta too big for one UDP packet, and whatever a push-pull taught us
 *    that was new here (the effective delta, e.g. after a partition heals),
 *    goes out by broadcast if it fits, else by immediate push-pull with
 *    `fanout` random live peers — who do the same with what was new to them,
 *    so it spreads epidemically and stops where nothing is new;
 *  - periodic push-pull (SWIM's pushPullIntervalMs) repairs anything lost.
 *
 * The state is persisted through the `persist` callback (debounced) and
 * restored from `initialState`; membership events become rows in `nodes`
 * as described in membership.ts. No policy beyond that wiring.
 */
import { randomBytes } from "node:crypto";
import { FizzError } from "../../core/errors.ts";
import type { Keyring } from "../../core/cluster-crypto/keyring.ts";
import { HlcClock, isNodeId, type Hlc } from "../../core/crdt/index.ts";
import {
  admitDelta,
  ClusterReplica,
  decodeState,
  deltaIsEmpty,
  encodeState,
  putNode,
  type Change,
  type ChangeResult,
  type ClusterDelta,
  type ClusterState,
} from "../../core/state/index.ts";
import {
  createRng,
  createSwimNode,
  decodeMessage,
  decodeStream,
  encodeMessage,
  encodeStream,
  swimConfig,
  type MemberEvent,
  type MemberEventType,
  type MemberView,
  type MemberState,
  type Message,
  type Rng,
  type StreamMessage,
  type StreamRequest,
  type SwimConfig,
  type SwimNode,
  type UserStateHook,
} from "../../core/swim/index.ts";
import { ClusterEndpoint } from "../transport/cluster.ts";
import { addrString, parseAddr } from "../transport/addr.ts";
import type { SecureStream } from "../transport/stream.ts";
import type { TcpLimits, TcpServerCounters } from "../transport/tcp.ts";
import type { UdpCounters } from "../transport/udp.ts";
import type { Logger } from "../log.ts";
import { fromSwimMeta, nodeInfo, selfRowStale, toSwimMeta, writeForEvent, type MemberMeta, type NodeMetaInput } from "./membership.ts";
import { replicaHook } from "./user-state.ts";
import { deltaPayloads, readDeltaPayload } from "./payload.ts";

export type ClusterLogger = Pick<Logger, "debug" | "info" | "warn">;

export interface ClusterNodeOptions {
  /** Stable node id ([A-Za-z0-9._:-]{1,64}); keep it across restarts. */
  readonly nodeId: string;
  /** "host:port" for UDP and TCP, e.g. "0.0.0.0:7946"; port 0 picks a free one. */
  readonly bind: string;
  /** "host:port" other nodes reach us at; default: the bound address (must then not be 0.0.0.0). */
  readonly advertise?: string;
  readonly keyring: Keyring;
  readonly clusterId: Uint8Array;
  readonly meta: NodeMetaInput;
  /** `encodeState` bytes from a previous run (what `persist` was given). */
  readonly initialState?: Uint8Array;
  /** Every non-empty effective change (local, gossip or push-pull), after it is applied. */
  readonly onStateChange?: (effectiveDelta: ClusterDelta) => void;
  /** Receives the whole encoded state after changes, at most every `persistDebounceMs`, and on stop. */
  readonly persist?: (encodedState: Uint8Array) => void;
  readonly persistDebounceMs?: number;
  readonly logger?: ClusterLogger;
  /** SWIM/Lifeguard knobs (core/swim/config.ts); tests use short timings. */
  readonly swim?: Partial<SwimConfig>;
  /** `join` gives up after this long (default 10 s). */
  readonly joinTimeoutMs?: number;
  /** Peers pushed to at once when a delta is too big for a packet (default 3). */
  readonly fanout?: number;
  readonly tcpLimits?: Partial<TcpLimits>;
  /** PRNG seed for SWIM (default: random). */
  readonly seed?: number;
}

export interface ClusterMember {
  readonly id: string;
  readonly address: string;
  readonly state: MemberState;
  readonly incarnation: number;
  readonly meta: MemberMeta;
  /** Last direct UDP ping round trip we measured to this member (undefined for self or before the first ack). */
  readonly rttMs: number | undefined;
  readonly self: boolean;
}

export interface ClusterMemberEvent {
  readonly type: MemberEventType;
  readonly member: ClusterMember;
  /** For "dead": this node's own suspicion timer declared it. */
  readonly local: boolean;
}

export type StateSource = "local" | "gossip" | "sync";

export interface ClusterCounters {
  readonly udp: UdpCounters;
  readonly tcp: TcpServerCounters;
  readonly streams: { opened: number; failed: number; served: number; badMessages: number };
  readonly gossip: { broadcasts: number; tooBigForPacket: number; delivered: number; badPayloads: number; refusedDrift: number; fanoutPushPulls: number };
  readonly packets: { badSwim: number; blocked: number };
}

type Listener<T> = (v: T) => void;

const DEFAULT_JOIN_TIMEOUT_MS = 10_000;
const DEFAULT_PERSIST_DEBOUNCE_MS = 200;
const RTT_TRACK_MAX = 256;

const monotonic = (): number => performance.now();

/** Like parseAddr, but port 0 (pick a free port) is allowed for binding. */
function parseBind(s: string): { host: string; port: number } {
  if (/:0$/.test(s)) return { host: parseAddr(s.replace(/:0$/, ":1")).host, port: 0 };
  return parseAddr(s);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(r, ms);
    (t as { unref?: () => void }).unref?.();
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, to: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = unref(setTimeout(() => reject(new FizzError({ code: "cluster.join_timeout", message: `${to} did not complete the join exchange within ${ms} ms` })), ms));
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

function unref(t: ReturnType<typeof setTimeout>): ReturnType<typeof setTimeout> {
  (t as { unref?: () => void }).unref?.();
  return t;
}

function asFizz(e: unknown, fallbackCode: string): FizzError {
  return e instanceof FizzError ? e : new FizzError({ code: fallbackCode, message: e instanceof Error ? e.message : String(e), cause: e });
}

/** Not worth retrying: the seed answered and said no. */
const FATAL_JOIN_CODES = new Set(["cluster.wrong_key", "cluster.wrong_cluster", "cluster.version_mismatch", "cluster.handshake_refused"]);

export class ClusterNode {
  private readonly swim: SwimNode;
  private readonly clock: HlcClock;
  private readonly replica: ClusterReplica;
  private readonly rng: Rng;
  private endpoint!: ClusterEndpoint;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private persistTimer: ReturnType<typeof setTimeout> | undefined;
  private pushPullTimer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private leaving = false;
  private linkFilter: ((peerAddr: string) => boolean) | undefined;
  private readonly streams = new Set<SecureStream>();
  private readonly pings = new Map<number, { addr: string; at: number }>();
  private readonly rtt = new Map<string, number>();
  private readonly memberListeners = new Set<Listener<ClusterMemberEvent>>();
  private readonly stateListeners = new Set<Listener<{ delta: ClusterDelta; source: StateSource }>>();
  private readonly stats = {
    streams: { opened: 0, failed: 0, served: 0, badMessages: 0 },
    gossip: { broadcasts: 0, tooBigForPacket: 0, delivered: 0, badPayloads: 0, refusedDrift: 0, fanoutPushPulls: 0 },
    packets: { badSwim: 0, blocked: 0 },
  };
  private readonly hook: UserStateHook;
  readonly config: SwimConfig;

  private constructor(
    private readonly opts: ClusterNodeOptions,
    readonly address: string,
    initial: ClusterState | undefined,
  ) {
    this.config = swimConfig(opts.swim);
    // randomBytes may return a view into a shared pool: copy before reading.
    this.rng = createRng(opts.seed ?? new DataView(Uint8Array.from(randomBytes(4)).buffer).getUint32(0));
    this.clock = new HlcClock(opts.nodeId);
    this.replica = new ClusterReplica(initial);
    if (initial) {
      // Our next writes must order after everything we wrote (or saw) before the restart.
      const r = admitDelta(this.clock, initial, Date.now());
      if (!r.ok) this.log("warn", { err: r.error.message }, "persisted cluster state is stamped in the future; local writes may lose to it until the clock catches up");
    }
    this.hook = replicaHook({
      replica: this.replica,
      applyRemote: (d) => this.applyRemote(d, "sync"),
      onBadInput: (what) => {
        this.stats.streams.badMessages++;
        this.log("debug", { what }, "bad push-pull state payload");
      },
    });
    this.swim = createSwimNode(this.config, { id: opts.nodeId, addr: address, meta: toSwimMeta(opts.meta) }, this.rng, { userState: this.hook });
  }

  /** Binds the endpoint and starts the SWIM loop. Rejects with the transport's FizzError if the address cannot be bound. */
  static async start(opts: ClusterNodeOptions): Promise<ClusterNode> {
    let initial: ClusterState | undefined;
    if (opts.initialState !== undefined) {
      const d = decodeState(opts.initialState);
      if (!d.ok) {
        throw new FizzError({
          code: "cluster.bad_persisted_state",
          message: `the stored cluster state cannot be read: ${d.error.message}`,
          hint: "remove the node's stored cluster state to start empty; it is pulled from the other nodes on join",
        });
      }
      initial = d.value;
    }
    if (!isNodeId(opts.nodeId)) {
      throw new FizzError({ code: "cluster.invalid_node_id", message: `node id ${JSON.stringify(opts.nodeId)} must match [A-Za-z0-9._:-]{1,64}`, hint: "keep the id the agent generated on first run" });
    }
    const bind = parseBind(opts.bind);
    let node: ClusterNode | undefined;
    const endpoint = await ClusterEndpoint.bind({
      host: bind.host,
      port: bind.port,
      keyring: opts.keyring,
      clusterId: opts.clusterId,
      nodeId: opts.nodeId,
      limits: opts.tcpLimits,
      onPacket: (p, from) => node?.onPacket(p, addrString(from)),
      onStream: (s) => node?.serveStream(s),
    });
    try {
      const advertise = opts.advertise ?? addrString(endpoint.address);
      if (opts.advertise === undefined && (bind.host === "0.0.0.0" || bind.host === "::")) {
        throw new FizzError({ code: "cluster.no_advertise_address", message: `bound to ${opts.bind}; other nodes need a concrete address to reach this one`, hint: "set the advertise address (host:port)" });
      }
      parseAddr(advertise);
      node = new ClusterNode(opts, advertise, initial);
    } catch (e) {
      await endpoint.close();
      throw e;
    }
    node.endpoint = endpoint;
    node.ensureSelfRow();
    node.swim.tick(monotonic());
    node.pump();
    node.log("info", { address: node.address, nodeId: opts.nodeId }, "cluster node started");
    return node;
  }

  // ------------------------------------------------------------ public API

  get id(): string {
    return this.opts.nodeId;
  }

  get incarnation(): number {
    return this.swim.incarnation;
  }

  /** Lifeguard local health score (0 = healthy). */
  get healthScore(): number {
    return this.swim.healthScore;
  }

  /** The live replicated state. Read-only; it changes under you on the next mutation. */
  get state(): ClusterState {
    return this.replica.view;
  }

  /** An immutable copy of the state. */
  snapshot(): ClusterState {
    return this.replica.snapshot();
  }

  /**
   * Contact the seeds by push-pull until one answers. Resolves with the seed
   * that answered; rejects with the seed's refusal at once (e.g.
   * `cluster.wrong_key`), or with `cluster.join_failed` after `timeoutMs`.
   */
  async join(seeds: readonly string[], timeoutMs = this.opts.joinTimeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS): Promise<{ via: string }> {
    const targets = [...new Set(seeds)].filter((s) => s !== this.address);
    for (const s of targets) parseAddr(s);
    if (targets.length === 0) return { via: this.address };
    const deadline = Date.now() + timeoutMs;
    const errors = new Map<string, FizzError>();
    for (;;) {
      this.assertRunning();
      const remaining = deadline - Date.now();
      const budget = Math.max(100, remaining);
      // A seed that accepts TCP but never answers must not outlast the deadline.
      const attempts = targets.map((to) => withTimeout(this.exchange(to, this.pushPullRequest(true), budget), budget, to).then(() => to));
      // The first seed that answers is enough; the others finish in the background.
      const first = await Promise.any(attempts).then(
        (via) => ({ via }),
        (agg: unknown) => ({ failures: agg instanceof AggregateError ? agg.errors : [agg] }),
      );
      if ("via" in first) {
        this.log("info", { via: first.via }, "joined the cluster");
        return { via: first.via };
      }
      first.failures.forEach((e, i) => errors.set(targets[i]!, asFizz(e, "cluster.join_failed")));
      const fatal = [...errors.values()].find((e) => FATAL_JOIN_CODES.has(e.code));
      if (fatal) throw fatal;
      if (this.stopped) throw new FizzError({ code: "cluster.stopped", message: "the cluster node was stopped while joining" });
      if (Date.now() + 250 >= deadline) {
        const why = [...errors].map(([a, e]) => `${a}: ${e.message}`).join("; ");
        throw new FizzError({
          code: "cluster.join_failed",
          message: `could not join the cluster within ${timeoutMs} ms (${why})`,
          hint: "check that a fizz agent runs at the seed address and that UDP and TCP on that port are open between the nodes",
          cause: [...errors.values()][0],
        });
      }
      await sleep(Math.min(1000, Math.max(0, deadline - Date.now() - 250)));
    }
  }

  /**
   * Graceful leave: marks our row "left", tells the cluster, and keeps the
   * loop running `lingerMs` so the news spreads. Call `stop()` afterwards.
   */
  async leave(lingerMs = Math.max(500, 5 * this.config.gossipIntervalMs)): Promise<void> {
    this.assertRunning();
    if (this.leaving) return;
    this.leaving = true;
    this.ensureSelfRow();
    this.swim.leave(monotonic());
    this.pump();
    await sleep(lingerMs);
  }

  /** Every member SWIM knows (self included), with its state and metadata. */
  members(): ClusterMember[] {
    return [...this.swim.memberViews()].map((v) => this.memberOf(v)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Addresses of the other nodes recorded in the state (for rejoining after a restart without seeds). */
  knownPeers(): string[] {
    const out: string[] = [];
    for (const [id, e] of Object.entries(this.replica.view.nodes)) {
      if (id !== this.id && !e.deleted && (e.value.state === "alive" || e.value.state === "suspect")) out.push(e.value.address);
    }
    return out.sort();
  }

  /**
   * Apply a core/state mutator locally and gossip its delta:
   *   node.mutate((s, ts) => putDeployment(s, ts, "web", "web", spec))
   * Returns the mutator's result; a failed ChangeResult or undefined changes nothing.
   */
  mutate<R extends Change | ChangeResult | undefined>(fn: (state: ClusterState, ts: Hlc) => R): R {
    this.assertRunning();
    const ts = this.clock.now(Date.now());
    const r = fn(this.replica.view, ts);
    if (r === undefined || ("ok" in r && !r.ok)) return r;
    const eff = this.replica.apply(r.delta);
    if (!deltaIsEmpty(eff)) {
      this.changed(eff, "local");
      this.spread(r.delta);
    }
    return r;
  }

  on(event: "member", cb: Listener<ClusterMemberEvent>): () => void;
  on(event: "state", cb: Listener<{ delta: ClusterDelta; source: StateSource }>): () => void;
  on(event: "member" | "state", cb: Listener<ClusterMemberEvent> | Listener<{ delta: ClusterDelta; source: StateSource }>): () => void {
    const set = (event === "member" ? this.memberListeners : this.stateListeners) as Set<typeof cb>;
    set.add(cb);
    return () => void set.delete(cb);
  }

  counters(): ClusterCounters {
    return {
      udp: structuredClone(this.endpoint.udp.counters),
      tcp: structuredClone(this.endpoint.tcp.counters),
      streams: { ...this.stats.streams },
      gossip: { ...this.stats.gossip },
      packets: { ...this.stats.packets },
    };
  }

  /** Key rotation without restart (UDP and TCP at once). */
  setKeyring(ring: Keyring): void {
    this.endpoint.setKeyring(ring);
  }

  /**
   * Test hook (partitions): when set, packets and streams to or from peers
   * whose address makes it return false are dropped.
   */
  setLinkFilter(filter: ((peerAddr: string) => boolean) | undefined): void {
    this.linkFilter = filter;
  }

  /** Stops timers, writes the state one last time, closes sockets. Without `leave()` first, peers see a crash. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of [this.timer, this.pushPullTimer]) if (t) clearTimeout(t);
    this.timer = this.pushPullTimer = undefined;
    if (this.persistTimer) {
      clearTimeout(this.persistTimer);
      this.persistTimer = undefined;
      this.flushPersist();
    }
    for (const s of this.streams) s.close();
    this.streams.clear();
    await this.endpoint.close();
    this.log("info", { nodeId: this.id }, "cluster node stopped");
  }

  // ------------------------------------------------------------ SWIM driving

  private assertRunning(): void {
    if (this.stopped) throw new FizzError({ code: "cluster.stopped", message: "the cluster node is stopped" });
  }

  private blocked(addr: string): boolean {
    return this.linkFilter !== undefined && !this.linkFilter(addr);
  }

  private onPacket(plaintext: Uint8Array, from: string): void {
    if (this.stopped) return;
    if (this.blocked(from)) {
      this.stats.packets.blocked++;
      return;
    }
    const d = decodeMessage(plaintext);
    if (!d.ok) {
      this.stats.packets.badSwim++;
      return;
    }
    this.noteAcks(from, d.value);
    this.swim.receive(from, d.value, monotonic());
    this.pump();
  }

  /** Sends everything SWIM produced and re-arms the timer. */
  private pump(): void {
    if (this.stopped) return;
    for (const o of this.swim.drain()) {
      switch (o.kind) {
        case "packet":
          this.sendPacket(o.to, o.message);
          break;
        case "stream":
          this.exchange(o.to, o.message).catch((e) => this.log("debug", { to: o.to, type: o.message.type, err: asFizz(e, "cluster.stream_failed").message }, "stream exchange failed"));
          break;
        case "event":
          this.onMemberEvent(o.event);
          break;
        case "deliver":
          this.onDeliver(o.origin, o.payload);
          break;
      }
    }
    this.arm();
  }

  private arm(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const wait = Math.min(1000, Math.max(0, Math.ceil(this.swim.nextWakeupMs() - monotonic())));
    this.timer = unref(
      setTimeout(() => {
        this.timer = undefined;
        if (this.stopped) return;
        this.swim.tick(monotonic());
        this.pump();
      }, wait),
    );
  }

  private sendPacket(to: string, m: Message): void {
    if (this.blocked(to)) {
      this.stats.packets.blocked++;
      return;
    }
    this.notePings(to, m);
    try {
      this.endpoint.send(to, encodeMessage(m));
    } catch (e) {
      this.log("debug", { to, err: asFizz(e, "cluster.send_failed").message }, "UDP send failed");
    }
  }

  private notePings(to: string, m: Message): void {
    const parts = m.type === "compound" ? m.parts : [m];
    for (const p of parts) {
      if (p.type !== "ping") continue;
      this.pings.set(p.seq, { addr: to, at: monotonic() });
      if (this.pings.size > RTT_TRACK_MAX) this.pings.delete(this.pings.keys().next().value as number);
    }
  }

  private noteAcks(from: string, m: Message): void {
    const parts = m.type === "compound" ? m.parts : [m];
    for (const p of parts) {
      if (p.type !== "ack") continue;
      const sent = this.pings.get(p.seq);
      if (sent === undefined) continue;
      this.pings.delete(p.seq);
      // An ack relayed by a ping-req helper says nothing about the direct path.
      if (sent.addr === from) this.rtt.set(from, monotonic() - sent.at);
    }
  }

  private pushPullRequest(join: boolean): StreamRequest {
    const members = [...this.swim.memberViews()].map((v) => ({ node: v.id, incarnation: v.incarnation, state: v.state }));
    return { type: "pp-request", join, from: this.id, members, userDigest: this.hook.digest() };
  }

  /** Client side of a stream exchange: request → reply → (our answer → …) until SWIM has nothing more to say. */
  private async exchange(to: string, req: StreamRequest, connectTimeoutMs?: number): Promise<void> {
    this.assertRunning();
    if (this.blocked(to)) {
      this.stats.packets.blocked++;
      throw new FizzError({ code: "cluster.link_blocked", message: `traffic to ${to} is blocked by the link filter` });
    }
    const intent = req.type === "pp-request" && req.join ? "join" : "push-pull";
    const limits = connectTimeoutMs === undefined ? undefined : { connectTimeoutMs: Math.min(connectTimeoutMs, this.opts.tcpLimits?.connectTimeoutMs ?? 5000) };
    let s: SecureStream;
    try {
      s = await this.endpoint.openStream(to, intent, limits);
    } catch (e) {
      this.stats.streams.failed++;
      throw e;
    }
    if (this.stopped) {
      s.close();
      throw new FizzError({ code: "cluster.stopped", message: "the cluster node is stopped" });
    }
    this.stats.streams.opened++;
    this.streams.add(s);
    try {
      let out: StreamMessage | undefined = req;
      let last = false;
      while (out !== undefined) {
        await s.send(encodeStream(out));
        if (last) break;
        const bytes = await s.receive();
        if (bytes === null) throw new FizzError({ code: "transport.no_reply", message: `${to} closed the stream without replying` });
        const d = decodeStream(bytes);
        if (!d.ok) {
          this.stats.streams.badMessages++;
          throw new FizzError({ code: "cluster.bad_stream_message", message: `${to} sent an unreadable ${req.type} reply: ${d.error.message}` });
        }
        if (this.stopped) return;
        out = this.swim.receiveStream(to, d.value, monotonic());
        this.pump();
        // After a pp-response we send the final message and are done.
        last = d.value.type === "pp-response";
      }
      // Half-close and give the peer a moment to read the last frame before the socket goes.
      s.end();
      await Promise.race([s.receive().catch(() => null), sleep(2000)]);
    } catch (e) {
      this.stats.streams.failed++;
      throw e;
    } finally {
      s.close();
      this.streams.delete(s);
    }
  }

  /** Server side: answer until SWIM has no reply (pp-final, tcp-ack) or the peer hangs up. */
  private async serveStream(s: SecureStream): Promise<void> {
    if (this.stopped) return void s.close();
    const peerAddr = this.swim.member(s.peer.nodeId)?.addr ?? addrString(s.peer);
    if (this.blocked(peerAddr)) {
      this.stats.packets.blocked++;
      return void s.close();
    }
    this.stats.streams.served++;
    this.streams.add(s);
    try {
      for (let i = 0; i < 4; i++) {
        const bytes = await s.receive();
        if (bytes === null || this.stopped) break;
        const d = decodeStream(bytes);
        if (!d.ok) {
          this.stats.streams.badMessages++;
          break;
        }
        const reply = this.swim.receiveStream(peerAddr, d.value, monotonic());
        this.pump();
        if (reply === undefined) break;
        await s.send(encodeStream(reply));
      }
    } catch (e) {
      this.log("debug", { peer: peerAddr, err: asFizz(e, "cluster.stream_failed").message }, "incoming stream failed");
    } finally {
      s.close();
      this.streams.delete(s);
    }
  }

  // ------------------------------------------------------------ state

  private onDeliver(origin: string, payload: Uint8Array): void {
    const r = readDeltaPayload(payload);
    if (!r.ok) {
      this.stats.gossip.badPayloads++;
      this.log("debug", { origin, err: r.reason }, "dropping unreadable gossip delta");
      return;
    }
    this.stats.gossip.delivered++;
    this.applyRemote(r.delta, "gossip");
  }

  /** HLC gate, then join into the replica. Side effects run after the current SWIM call returns. */
  private applyRemote(delta: ClusterDelta, source: StateSource): boolean {
    const adm = admitDelta(this.clock, delta, Date.now());
    if (!adm.ok) {
      this.stats.gossip.refusedDrift++;
      this.log("warn", { err: adm.error.message, source }, "refusing a cluster state change stamped too far in the future");
      return false;
    }
    const eff = this.replica.apply(delta);
    if (!deltaIsEmpty(eff)) {
      queueMicrotask(() => {
        if (this.stopped) return;
        this.changed(eff, source);
        // What push-pull taught us is news to others too; gossip deliveries are forwarded by SWIM itself.
        if (source === "sync") this.spread(eff);
        this.pump();
      });
    }
    return true;
  }

  private changed(eff: ClusterDelta, source: StateSource): void {
    this.schedulePersist();
    if (source !== "local" && eff.nodes?.[this.id] !== undefined) this.ensureSelfRow();
    try {
      this.opts.onStateChange?.(eff);
    } catch (e) {
      this.log("warn", { err: String(e) }, "onStateChange threw");
    }
    for (const cb of this.stateListeners) {
      try {
        cb({ delta: eff, source });
      } catch (e) {
        this.log("warn", { err: String(e) }, "state listener threw");
      }
    }
  }

  /** Broadcast a delta if it fits one packet, else push-pull it to a few peers now. */
  private spread(delta: ClusterDelta): void {
    const p = deltaPayloads(delta);
    let r = this.swim.broadcast(p.plain);
    if (!r.ok) r = this.swim.broadcast(p.deflated());
    if (r.ok) {
      this.stats.gossip.broadcasts++;
      this.pump();
      return;
    }
    this.stats.gossip.tooBigForPacket++;
    this.schedulePushPull();
  }

  /** Coalesces bursts: one fan-out round per 20 ms at most. */
  private schedulePushPull(): void {
    if (this.pushPullTimer || this.stopped) return;
    this.pushPullTimer = unref(
      setTimeout(() => {
        this.pushPullTimer = undefined;
        if (this.stopped) return;
        const peers = [...this.swim.memberViews()].filter((v) => v.id !== this.id && v.state === "alive");
        const fanout = Math.min(this.opts.fanout ?? 3, peers.length);
        for (let i = 0; i < fanout; i++) {
          const j = i + this.rng.int(peers.length - i);
          [peers[i], peers[j]] = [peers[j]!, peers[i]!];
          const to = peers[i]!.addr;
          this.stats.gossip.fanoutPushPulls++;
          this.exchange(to, this.pushPullRequest(false)).catch((e) => this.log("debug", { to, err: asFizz(e, "cluster.stream_failed").message }, "fan-out push-pull failed"));
        }
      }, 20),
    );
  }

  private ensureSelfRow(): void {
    if (this.stopped) return;
    const want = nodeInfo(this.address, this.opts.meta, this.leaving ? "left" : "alive");
    if (!selfRowStale(this.replica.view, this.id, want)) return;
    this.mutate((s, ts) => putNode(s, ts, this.id, want));
  }

  private onMemberEvent(ev: MemberEvent): void {
    const live = [...this.swim.memberViews()].filter((v) => v.state === "alive" || v.state === "suspect").map((v) => v.id);
    const w = writeForEvent(this.replica.view, this.id, ev, live);
    if (w) this.mutate((s, ts) => putNode(s, ts, w.nodeId, w.info));
    this.log(ev.type === "dead" ? "info" : "debug", { member: ev.member.id, event: ev.type, incarnation: ev.member.incarnation }, "membership change");
    const out: ClusterMemberEvent = { type: ev.type, member: this.memberOf(ev.member), local: ev.local };
    for (const cb of this.memberListeners) {
      try {
        cb(out);
      } catch (e) {
        this.log("warn", { err: String(e) }, "member listener threw");
      }
    }
  }

  private memberOf(v: MemberView): ClusterMember {
    return {
      id: v.id,
      address: v.addr,
      state: v.state,
      incarnation: v.incarnation,
      meta: fromSwimMeta(v.id, v.meta),
      rttMs: v.id === this.id ? undefined : this.rtt.get(v.addr),
      self: v.id === this.id,
    };
  }

  private schedulePersist(): void {
    if (!this.opts.persist || this.persistTimer || this.stopped) return;
    this.persistTimer = unref(
      setTimeout(() => {
        this.persistTimer = undefined;
        this.flushPersist();
      }, this.opts.persistDebounceMs ?? DEFAULT_PERSIST_DEBOUNCE_MS),
    );
  }

  private flushPersist(): void {
    try {
      this.opts.persist?.(encodeState(this.replica.view));
    } catch (e) {
      this.log("warn", { err: String(e) }, "persisting the cluster state failed");
    }
  }

  private log(level: "debug" | "info" | "warn", obj: Record<string, unknown>, msg: string): void {
    this.opts.logger?.[level](obj, msg);
  }
}
