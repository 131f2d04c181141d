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
 * as described in core/state/membership-rows.ts. No policy beyond that wiring.
 *
 * This file is the node's lifecycle (start, join, leave, stop) and its public
 * face; the parts, memberlist's way: swim-loop.ts (datagrams in and out, the
 * SWIM timer), streams.ts (push-pull streams and the join loop),
 * dissemination.ts (how a delta reaches the others), replicated-state.ts
 * (the replica, the HLC gate, change notifications, persistence),
 * user-state.ts (the state's push-pull hook), rtt.ts, payload.ts.
 */
import { DropLog } from "./drop-log.ts";
import { randomBytes } from "node:crypto";
import { FizzError } from "../../core/errors.ts";
import type { Keyring } from "../../core/cluster-crypto/keyring.ts";
import { isNodeId, type Hlc } from "../../core/crdt/index.ts";
import { decodeState, putNode, type Change, type ChangeResult, type ClusterDelta, type ClusterState } from "../../core/state/index.ts";
import { createRng, createSwimNode, swimConfig, type MemberEvent, type MemberView, type Rng, type StreamRequest, type SwimConfig, type SwimNode, type UserStateHook } from "../../core/swim/index.ts";
import { addrString, parseAddr } from "../transport/addr.ts";
import { sleep, type Clock } from "../../core/clock.ts";
import { systemClock } from "../clock.ts";
import { bindEndpoint, type ClusterTransport } from "./transport.ts";
import { joinSeeds, StreamExchange } from "./streams.ts";
import { fromSwimMeta, nodeInfo, selfRowStale, toSwimMeta, writeForEvent } from "../../core/state/membership-rows.ts";
import { replicaHook } from "./user-state.ts";
import { RttTracker } from "./rtt.ts";
import { Dissemination } from "./dissemination.ts";
import { readDeltaPayload } from "./payload.ts";
import { ReplicatedState } from "./replicated-state.ts";
import { SwimLoop } from "./swim-loop.ts";

export type { ClusterCounters, ClusterLogger, ClusterMember, ClusterMemberEvent, ClusterNodeOptions, StateSource } from "./types.ts";
import type { ClusterCounters, ClusterMember, ClusterMemberEvent, ClusterNodeOptions, StateSource } from "./types.ts";

type Listener<T> = (v: T) => void;

const DEFAULT_JOIN_TIMEOUT_MS = 10_000;

/** Like parseAddr, but port 0 (pick a free port) is allowed for binding. */
function parseBind(s: string): { host: string; port: number } {
  if (/:0$/.test(s)) return { host: parseAddr(s.replace(/:0$/, ":1")).host, port: 0 };
  return parseAddr(s);
}

export class ClusterNode {
  private readonly swim: SwimNode;
  private readonly rng: Rng;
  private transport!: ClusterTransport;
  private readonly time: Clock;
  private readonly loop: SwimLoop;
  private readonly streamsIo: StreamExchange;
  private readonly replicated: ReplicatedState;
  private readonly dissemination: Dissemination;
  private stopped = false;
  private changes = 0;
  private leaving = false;
  private readonly rtt: RttTracker;
  private readonly memberListeners = new Set<Listener<ClusterMemberEvent>>();
  private readonly stats = {
    streams: { opened: 0, failed: 0, served: 0, badMessages: 0 },
    gossip: { broadcasts: 0, tooBigForPacket: 0, delivered: 0, badPayloads: 0, refusedDrift: 0, fanoutPushPulls: 0 },
    packets: { badSwim: 0, blocked: 0 },
  };
  private readonly hook: UserStateHook;
  readonly config: SwimConfig;
  private readonly drops: DropLog;

  private constructor(
    private readonly opts: ClusterNodeOptions,
    readonly address: string,
    initial: ClusterState | undefined,
  ) {
    this.config = swimConfig(opts.swim);
    this.time = opts.clock ?? systemClock;
    this.rtt = new RttTracker(() => this.time.monotonic());
    this.drops = new DropLog(() => this.time.monotonic(), (obj, msg) => this.log("warn", obj, msg));
    // randomBytes may return a view into a shared pool: copy before reading.
    this.rng = createRng(opts.seed ?? new DataView(Uint8Array.from(randomBytes(4)).buffer).getUint32(0));
    this.replicated = new ReplicatedState(
      {
        nodeId: opts.nodeId,
        clock: this.time,
        stats: this.stats.gossip,
        assertRunning: () => this.assertRunning(),
        stopped: () => this.stopped,
        spread: (d) => this.dissemination.spread(d),
        pump: () => this.loop.pump(),
        bump: () => void this.changes++,
        ensureSelfRow: () => this.ensureSelfRow(),
        ...(opts.onStateChange ? { onStateChange: opts.onStateChange } : {}),
        ...(opts.persist ? { persist: opts.persist } : {}),
        ...(opts.persistDebounceMs !== undefined ? { persistDebounceMs: opts.persistDebounceMs } : {}),
        log: (level, obj, msg) => this.log(level, obj, msg),
      },
      initial,
    );
    this.hook = replicaHook({
      replica: this.replicated.crdt,
      applyRemote: (d) => this.replicated.applyRemote(d, "sync"),
      onBadInput: (what) => {
        this.stats.streams.badMessages++;
        this.log("debug", { what }, "bad push-pull state payload");
      },
    });
    this.swim = createSwimNode(this.config, { id: opts.nodeId, addr: address, meta: toSwimMeta(opts.meta) }, this.rng, { userState: this.hook });
    this.loop = new SwimLoop({
      swim: this.swim,
      clock: this.time,
      rtt: this.rtt,
      stats: this.stats.packets,
      transport: () => this.transport,
      stopped: () => this.stopped,
      exchange: (to, m) => this.streamsIo.exchange(to, m),
      onMemberEvent: (ev) => this.onMemberEvent(ev),
      onDeliver: (origin, payload) => this.onDeliver(origin, payload),
      log: (level, obj, msg) => this.log(level, obj, msg),
    });
    this.streamsIo = new StreamExchange({
      swim: this.swim,
      clock: this.time,
      stats: this.stats.streams,
      blocked: (addr) => this.loop.blocked(addr),
      onBlocked: () => this.stats.packets.blocked++,
      stopped: () => this.stopped,
      pump: () => this.loop.pump(),
      open: (to, intent, limits) => this.transport.openStream(to, intent, limits),
      connectTimeoutMs: opts.tcpLimits?.connectTimeoutMs ?? 5000,
      log: (level, obj, msg) => this.log(level, obj, msg),
    });
    this.dissemination = new Dissemination({
      swim: this.swim,
      clock: this.time,
      rng: this.rng,
      selfId: opts.nodeId,
      fanout: opts.fanout ?? 3,
      stats: this.stats.gossip,
      stopped: () => this.stopped,
      pump: () => this.loop.pump(),
      pushPull: (to) => this.streamsIo.exchange(to, this.pushPullRequest(false)),
      log: (level, obj, msg) => this.log(level, obj, msg),
    });
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
    const endpoint = await (opts.transport ?? bindEndpoint)({
      host: bind.host,
      port: bind.port,
      keyring: opts.keyring,
      clusterId: opts.clusterId,
      nodeId: opts.nodeId,
      limits: opts.tcpLimits,
      onPacket: (p, from) => node?.loop.onPacket(p, addrString(from)),
      onDrop: (reason, from) => node?.drops.note(reason, addrString(from)),
      onStream: (s) => void node?.streamsIo.serve(s),
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
    node.transport = endpoint;
    node.ensureSelfRow();
    node.swim.tick(node.time.monotonic());
    node.loop.pump();
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
    return this.replicated.view;
  }

  /** An immutable copy of the state. */
  snapshot(): ClusterState {
    return this.replicated.snapshot();
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
    const via = await joinSeeds(targets, timeoutMs, {
      clock: this.time,
      running: () => this.assertRunning(),
      stopped: () => this.stopped,
      exchange: (to, budget) => this.streamsIo.exchange(to, this.pushPullRequest(true), budget),
    });
    this.log("info", { via }, "joined the cluster");
    return { via };
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
    this.swim.leave(this.time.monotonic());
    this.loop.pump();
    await sleep(this.time, lingerMs);
  }

  /** Every member SWIM knows (self included), with its state and metadata. */
  members(): ClusterMember[] {
    return [...this.swim.memberViews()].map((v) => this.memberOf(v)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Addresses of the other nodes recorded in the state (for rejoining after a restart without seeds). */
  knownPeers(): string[] {
    const out: string[] = [];
    for (const [id, e] of Object.entries(this.replicated.view.nodes)) {
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
    return this.replicated.mutate(fn);
  }

  on(event: "member", cb: Listener<ClusterMemberEvent>): () => void;
  on(event: "state", cb: Listener<{ delta: ClusterDelta; source: StateSource }>): () => void;
  on(event: "member" | "state", cb: Listener<ClusterMemberEvent> | Listener<{ delta: ClusterDelta; source: StateSource }>): () => void {
    if (event === "state") return this.replicated.on(cb as Listener<{ delta: ClusterDelta; source: StateSource }>);
    const set = this.memberListeners;
    set.add(cb as Listener<ClusterMemberEvent>);
    return () => void set.delete(cb as Listener<ClusterMemberEvent>);
  }

  counters(): ClusterCounters {
    const t = this.transport.counters();
    return {
      udp: t.udp,
      tcp: t.tcp,
      streams: { ...this.stats.streams },
      gossip: { ...this.stats.gossip },
      packets: { ...this.stats.packets },
    };
  }

  /** Key rotation without restart (UDP and TCP at once). */
  setKeyring(ring: Keyring): void {
    this.transport.setKeyring(ring);
  }

  /**
   * Test hook (partitions): when set, packets and streams to or from peers
   * whose address makes it return false are dropped.
   */
  setLinkFilter(filter: ((peerAddr: string) => boolean) | undefined): void {
    this.loop.setLinkFilter(filter);
  }

  /** Stops timers, writes the state one last time, closes sockets. Without `leave()` first, peers see a crash. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.loop.stop();
    this.dissemination.stop();
    this.replicated.stop();
    this.streamsIo.closeAll();
    await this.transport.close();
    this.log("info", { nodeId: this.id }, "cluster node stopped");
  }

  // ------------------------------------------------------------ internals

  private assertRunning(): void {
    if (this.stopped) throw new FizzError({ code: "cluster.stopped", message: "the cluster node is stopped" });
  }

  private pushPullRequest(join: boolean): StreamRequest {
    const members = [...this.swim.memberViews()].map((v) => ({ node: v.id, incarnation: v.incarnation, state: v.state }));
    return { type: "pp-request", join, from: this.id, members, userDigest: this.hook.digest() };
  }

  private onDeliver(origin: string, payload: Uint8Array): void {
    const r = readDeltaPayload(payload);
    if (!r.ok) {
      this.stats.gossip.badPayloads++;
      this.log("debug", { origin, err: r.reason }, "dropping unreadable gossip delta");
      return;
    }
    this.stats.gossip.delivered++;
    this.replicated.applyRemote(r.delta, "gossip");
  }

  /** Bumped on every change to the state or the membership: a reader can tell whether anything it derived is stale. */
  get version(): number {
    return this.changes;
  }

  private ensureSelfRow(): void {
    if (this.stopped) return;
    const want = nodeInfo(this.address, this.opts.meta, this.leaving ? "left" : "alive");
    if (!selfRowStale(this.replicated.view, this.id, want)) return;
    this.mutate((s, ts) => putNode(s, ts, this.id, want));
  }

  private onMemberEvent(ev: MemberEvent): void {
    this.changes++;
    const live = [...this.swim.memberViews()].filter((v) => v.state === "alive" || v.state === "suspect").map((v) => v.id);
    const w = writeForEvent(this.replicated.view, this.id, ev, live);
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
      rttMs: v.id === this.id ? undefined : this.rtt.of(v.addr),
      self: v.id === this.id,
    };
  }

  private log(level: "debug" | "info" | "warn", obj: Record<string, unknown>, msg: string): void {
    this.opts.logger?.[level](obj, msg);
  }
}
