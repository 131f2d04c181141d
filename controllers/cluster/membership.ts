/**
 * The membership controller. `ClusterAgent` owns this node's ClusterNode: it
 * starts none until the node is part of a cluster (`init` or `join` through
 * the API), persists the cluster id, keyring, seeds and encoded state in the
 * store's meta table, and on agent start resumes a persisted cluster and
 * rejoins the peers it knew. Membership events and peers' state changes are
 * announced to the other controllers as changes; controllers that must act
 * before a step completes (report before rejoining, publish on joining, take
 * down on leaving) register awaited hooks.
 *
 * Timing profile: FIZZ_SWIM_PROFILE=test selects short SWIM timings (failure
 * detection in ~1–2 s instead of ~5–10 s) for the multi-agent e2e tests.
 */
import { hostname, cpus, totalmem } from "node:os";
import { randomBytes } from "node:crypto";
import { FizzError } from "../../core/errors.ts";
import { guessAdvertise, splitHostPort, withDefaultPort } from "./addresses.ts";
import { StoredMembership } from "./stored-membership.ts";
import { alreadyMemberError, joinError, keyringError, memberView, notMemberError, parseKeyMaterial, sharedEngineError } from "./membership-answers.ts";
import {
  initCluster,
  install,
  joinTokenErrorToFizz,
  keyIdOf,
  keyringFromToken,
  mintJoinToken,
  parseJoinToken,
  remove as removeKey,
  use as useKey,
  type Keyring,
  type SeedAddress,
} from "../../core/cluster-crypto/index.ts";
import { deltaScope, encodeState } from "../../core/state/index.ts";
import type { SwimConfig } from "../../core/swim/index.ts";
import type { AgentConfig } from "../../core/agent-config/index.ts";
import { ClusterNode, type BindTransport, type ClusterMember } from "../../platform/cluster/index.ts";
import type { Clock, Timer } from "../../core/clock.ts";
import { systemClock } from "../../platform/clock.ts";
import type { AgentStore } from "../../platform/store/index.ts";
import type { Logger } from "../../platform/log.ts";
import type { ClusterApi, ClusterJoinResult, ClusterInitResult, ClusterKeysView, ClusterNodeView } from "../../platform/api/cluster-api.ts";
import { clusterRoutes } from "../../platform/api/routes-cluster.ts";
import type { RouteModule } from "../../platform/api/router.ts";
import type { Notify } from "../changes.ts";
import type { Controller } from "../controller.ts";

export { DEFAULT_CLUSTER_PORT, withDefaultPort } from "./addresses.ts";

/** FIZZ_SWIM_PROFILE=test: the short timings the cluster tests use. */
export const TEST_SWIM: Partial<SwimConfig> = {
  probeIntervalMs: 200,
  probeTimeoutMs: 100,
  gossipIntervalMs: 50,
  pushPullIntervalMs: 2000,
  reconnectIntervalMs: 500,
  gossipToTheDeadMs: 5000,
};


export interface ClusterAgentDeps {
  readonly config: AgentConfig;
  readonly store: AgentStore;
  readonly nodeId: string;
  readonly logger: Logger;
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Announces membership events and peers' state changes to the other controllers. */
  readonly notify?: Notify;
  /** Extra gossiped metadata (the mesh's key and endpoint port, the registry's peer port), each read when the cluster node starts. */
  readonly extraMeta?: readonly (() => { readonly labels: Readonly<Record<string, string>>; readonly ports: Readonly<Record<string, number>> } | undefined)[];
  /** Timers and time (default: the system's; the simulator passes virtual time). */
  readonly clock?: Clock;
  /** The cluster network (default: UDP + TCP; the simulator passes its own). */
  readonly transport?: BindTransport;
  /** SWIM's random seed (default: random; the simulator fixes it). */
  readonly seed?: number;
  /** The engine this node drives: no two live members may drive the same one. */
  readonly engine?: { readonly id: string; readonly address: string };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export class ClusterAgent implements ClusterApi, Controller {
  readonly name = "cluster";
  readonly routes: readonly RouteModule[] = [clusterRoutes(this)];
  private node: ClusterNode | undefined;
  private clusterId: Uint8Array | undefined;
  private keyring: Keyring | undefined;
  /** Persist only once this node is really a member (a failed join leaves no trace). */
  private committed = false;
  private busy: Promise<unknown> = Promise.resolve();
  private rejoinTimer: Timer | undefined;
  private stopped = false;
  private readonly swim: Partial<SwimConfig> | undefined;
  private readonly log: Logger;
  private readonly memberHooks: (() => Promise<void>)[] = [];
  private readonly leftHooks: (() => Promise<void>)[] = [];
  private readonly resumeHooks: (() => Promise<void>)[] = [];
  /** Caught up with the cluster (created it, joined it, or rejoined after a restart): placement may act. */
  private settled = false;
  /** A member from a previous run whose node is not running yet (resume() starts it). */
  private resuming = false;
  private settleTimer: Timer | undefined;

  private readonly clock: Clock;
  private readonly stored: StoredMembership;

  constructor(private readonly d: ClusterAgentDeps) {
    this.clock = d.clock ?? systemClock;
    this.log = d.logger.child({ component: "cluster" });
    // A persisted membership is resumed shortly after start: until then placement must not act as a single node.
    this.stored = new StoredMembership(d.store);
    this.resuming = this.stored.exists();
    const profile = (d.env ?? process.env).FIZZ_SWIM_PROFILE;
    const c = d.config.cluster;
    this.swim =
      profile === "test"
        ? TEST_SWIM
        : { probeIntervalMs: c.probe_interval, probeTimeoutMs: c.probe_timeout, gossipIntervalMs: c.gossip_interval, pushPullIntervalMs: c.push_pull_interval, reconnectIntervalMs: c.reconnect_interval };
  }

  /** Runs after a successful init or join (e.g. to publish local deployments). */
  onMember(hook: () => Promise<void>): void {
    this.memberHooks.push(hook);
  }

  private async becameMember(): Promise<void> {
    this.d.notify?.({ kind: "membership", event: "joined", member: this.d.nodeId });
    for (const h of this.memberHooks) {
      try {
        await h();
      } catch (e) {
        this.log.warn({ err: e instanceof Error ? e.message : String(e) }, "publishing local state to the cluster failed");
      }
    }
  }

  /** The running node, when this agent is part of a cluster. */
  get current(): ClusterNode | undefined {
    return this.node;
  }

  /** The cluster keyring while a member (the registry derives its peer TLS credentials from it). */
  get currentKeyring(): Keyring | undefined {
    return this.node ? this.keyring : undefined;
  }

  /**
   * The node once it has caught up with the cluster. A restarted node waits
   * for its rejoin (or, with no peer answering, 10 s) before placement acts on
   * its old view: otherwise it would start everything the cluster has since
   * moved elsewhere.
   */
  get settledNode(): ClusterNode | undefined {
    return this.settled ? this.node : undefined;
  }

  /** A member that has not caught up yet (including before resume() has started its node). */
  get catchingUp(): boolean {
    return !this.settled && (this.node !== undefined || this.resuming);
  }

  /** Runs when a persisted membership's node has started, before it rejoins. */
  onResumed(hook: () => Promise<void>): void {
    this.resumeHooks.push(hook);
  }

  /** Runs after `fizz leave` (the node's share of the cluster's deployments goes away). */
  onLeft(hook: () => Promise<void>): void {
    this.leftHooks.push(hook);
  }

  private attach(node: ClusterNode): void {
    node.on("member", (e) => {
      // As memberlist does: a member's arrival, suspicion, death and departure at info; refutes and updates at debug.
      if (!e.member.self) {
        const fields = { member: e.member.id, address: e.member.address, incarnation: e.member.incarnation };
        if (e.type === "alive" || e.type === "update") this.log.debug(fields, `member ${e.type}`);
        else this.log.info(fields, e.type === "join" ? "member joined" : `member ${e.type}`);
      }
      this.d.notify?.({ kind: "membership", event: e.type, member: e.member.id });
      const twin = e.type !== "dead" && e.type !== "left" ? this.engineTwin([e.member]) : undefined;
      if (twin) this.log.error({ member: twin.id, engine: this.d.engine?.id }, this.sharedEngine(twin).message);
      if (this.committed && !e.member.self && e.type !== "dead" && e.type !== "suspect") {
        try {
          this.stored.rememberPeer(e.member.address, e.type !== "left");
        } catch (err) {
          this.log.warn({ err: err instanceof Error ? err.message : String(err) }, "remembering a peer's address failed");
        }
      }
    });
    node.on("state", (e) => {
      if (e.source !== "local") this.d.notify?.({ kind: "cluster-state", source: e.source, scope: deltaScope(e.delta) });
    });
  }

  private settle(): void {
    this.settleTimer?.cancel();
    this.settleTimer = undefined;
    if (this.settled || !this.node) return;
    this.settled = true;
    this.d.notify?.({ kind: "membership", event: "settled", member: this.d.nodeId });
  }

  /** Agent start: resume a persisted membership (Controller). */
  start(): Promise<void> {
    return this.resume().catch((e: unknown) => this.log.error({ err: e }, "resuming the persisted cluster membership failed"));
  }

  get nodeId(): string {
    return this.d.nodeId;
  }

  /** On agent start: resume a persisted cluster and rejoin in the background. */
  async resume(): Promise<void> {
    const r = this.stored.read();
    if (!r || !r.ok) {
      this.resuming = false;
      if (r) this.log.warn({ err: r.invalid }, "stored cluster keyring is invalid; not rejoining");
      return;
    }
    this.clusterId = r.clusterId;
    this.keyring = r.keyring;
    this.committed = true;
    // On failure `resuming` stays set: this node keeps its hands off rather than run the cluster's replicas alone.
    this.node = await this.startNode(r.advertise, r.state);
    this.resuming = false;
    this.attach(this.node);
    // Tell the others what really runs here before they see this node alive again (its records from before may be stale).
    for (const h of this.resumeHooks) {
      await h().catch((e: unknown) => this.log.warn({ err: e instanceof Error ? e.message : String(e) }, "reporting this node's containers before rejoining failed"));
    }
    this.settleTimer = this.clock.setTimeout(() => this.settle(), this.d.config.cluster.settle_timeout);
    const seeds = [...new Set([...this.node.knownPeers(), ...this.stored.seeds(), ...this.d.config.cluster.join.map((s) => withDefaultPort(s))])];
    this.log.info({ peers: seeds.length }, "resuming cluster membership");
    this.rejoin(seeds, 0);
  }

  /** Keeps trying the known peers until one answers (they may be restarting too). */
  private rejoin(seeds: string[], attempt: number): void {
    const node = this.node;
    if (!node || this.stopped || seeds.length === 0) return;
    node.join(seeds).then(
      (r) => {
        this.log.info({ via: r.via }, "rejoined the cluster");
        this.settle();
      },
      (e: unknown) => {
        if (this.stopped || this.node !== node) return;
        this.log.warn({ err: e instanceof Error ? e.message : String(e), attempt }, "rejoining failed; retrying");
        this.rejoinTimer = this.clock.setTimeout(() => this.rejoin(seeds, attempt + 1), Math.min(this.d.config.cluster.rejoin_backoff_max, 1000 * 2 ** Math.min(attempt, 20)));
      },
    );
  }


  private async startNode(advertise: string | undefined, initialState: Uint8Array | undefined): Promise<ClusterNode> {
    const bind = withDefaultPort(this.d.config.cluster.bind);
    const adv = advertise ?? (this.d.config.cluster.advertise ? withDefaultPort(this.d.config.cluster.advertise) : await guessAdvertise(bind));
    try {
      return await ClusterNode.start({
        nodeId: this.d.nodeId,
        bind,
        ...(adv ? { advertise: adv } : {}),
        keyring: this.keyring!,
        clusterId: this.clusterId!,
        meta: (() => {
          const extra = (this.d.extraMeta ?? []).map((f) => f()).filter((x) => x !== undefined);
          return {
            name: this.d.config.cluster.name || hostname(),
            ...(this.d.engine ? { engine: this.d.engine.id } : {}),
            labels: Object.assign({ ...this.d.config.cluster.labels }, ...extra.map((x) => x.labels)),
            resources: { cpuMillis: cpus().length * 1000, memoryBytes: totalmem() },
            ...(extra.length ? { ports: Object.assign({}, ...extra.map((x) => x.ports)) } : {}),
          };
        })(),
        ...(initialState ? { initialState } : {}),
        persistDebounceMs: this.d.config.cluster.state_persist_interval,
        persist: (bytes) => {
          if (this.committed && !this.stopped) this.stored.writeState(bytes);
        },
        logger: this.log,
        joinTimeoutMs: this.d.config.cluster.join_timeout,
        clock: this.clock,
        ...(this.d.transport ? { transport: this.d.transport } : {}),
        ...(this.d.seed !== undefined ? { seed: this.d.seed } : {}),
        ...(this.swim ? { swim: this.swim } : {}),
      });
    } catch (e) {
      if (e instanceof FizzError) throw new FizzError({ code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}), status: 409 });
      throw e;
    }
  }

  /** A live member other than this node that drives this node's engine. */
  private engineTwin(members: readonly ClusterMember[]): ClusterMember | undefined {
    const mine = this.d.engine?.id;
    if (!mine || this.d.config.cluster.allow_shared_engine) return undefined;
    return members.find((m) => !m.self && m.id !== this.d.nodeId && (m.state === "alive" || m.state === "suspect") && m.meta.engine === mine);
  }

  private sharedEngine(twin: ClusterMember): FizzError {
    return sharedEngineError({ name: this.d.config.cluster.name || hostname(), id: this.d.nodeId, engine: this.d.engine }, twin);
  }

  private serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.busy.then(f, f);
    this.busy = run.catch(() => undefined);
    return run;
  }

  private notMember(): FizzError {
    return notMemberError();
  }

  private alreadyMember(): FizzError {
    return alreadyMemberError(this.clusterId!);
  }

  private persistMembership(seeds: readonly string[], advertise: string | undefined): void {
    // The members already seen (a join learns them before it commits); later ones as they join (attach).
    const seen = this.node!.members().filter((m) => !m.self && m.state !== "left" && m.state !== "dead").map((m) => m.address);
    this.stored.write({ clusterId: this.clusterId!, keyring: this.keyring!, seeds: [...seeds, ...seen], advertise, state: encodeStateOf(this.node!) });
  }

  init(o: { advertise?: string | undefined }): Promise<ClusterInitResult> {
    return this.serial(async () => {
      if (this.node) throw this.alreadyMember();
      const advertise = o.advertise ? withDefaultPort(o.advertise) : undefined;
      if (advertise) splitHostPort(advertise);
      const placeholder: SeedAddress = { host: "127.0.0.1", port: 1 };
      const c = initCluster((n) => new Uint8Array(randomBytes(n)), [placeholder]);
      this.clusterId = c.clusterId;
      this.keyring = c.keyring;
      try {
        this.node = await this.startNode(advertise, undefined);
      } catch (e) {
        this.clusterId = this.keyring = undefined;
        throw e;
      }
      this.committed = true;
      this.attach(this.node);
      this.settle();
      this.persistMembership([], advertise);
      this.log.info({ address: this.node.address }, "created a new cluster");
      await this.becameMember();
      return {
        cluster: hex(this.clusterId),
        node: this.d.nodeId,
        address: this.node.address,
        token: mintJoinToken(this.clusterId, this.keyring, [splitHostPort(this.node.address)]),
      };
    });
  }

  join(o: { address: string; token: string }): Promise<ClusterJoinResult> {
    return this.serial(async () => {
      if (this.node) throw this.alreadyMember();
      const parsed = parseJoinToken(o.token);
      if (!parsed.ok) {
        const e = joinTokenErrorToFizz(parsed.error);
        throw new FizzError({ code: e.code, message: e.message, status: 400 });
      }
      const address = withDefaultPort(o.address);
      splitHostPort(address);
      const seeds = [address, ...parsed.token.seeds.map((s) => (s.host.includes(":") ? `[${s.host}]:${s.port}` : `${s.host}:${s.port}`))];
      this.clusterId = parsed.token.clusterId;
      this.keyring = keyringFromToken(parsed.token);
      this.committed = false;
      let node: ClusterNode;
      try {
        node = await this.startNode(undefined, undefined);
      } catch (e) {
        this.clusterId = this.keyring = undefined;
        throw e;
      }
      let via: string;
      try {
        via = (await node.join([...new Set(seeds)])).via;
      } catch (e) {
        await node.stop();
        this.clusterId = this.keyring = undefined;
        throw joinError(e);
      }
      // One engine, one node: two nodes on one engine would fight over container names.
      const twin = this.engineTwin(node.members());
      if (twin) {
        await node.leave().catch(() => undefined);
        await node.stop();
        this.clusterId = this.keyring = undefined;
        throw this.sharedEngine(twin);
      }
      this.node = node;
      this.committed = true;
      this.attach(node);
      this.settle();
      this.persistMembership([address], undefined);
      this.log.info({ via }, "joined a cluster");
      await this.becameMember();
      return { cluster: hex(this.clusterId), node: this.d.nodeId, address: node.address, via, members: node.members().length };
    });
  }

  leave(): Promise<{ left: boolean; node: string }> {
    return this.serial(async () => {
      const node = this.node;
      if (!node) throw this.notMember();
      this.rejoinTimer?.cancel();
      this.committed = false;
      await node.leave();
      await node.stop();
      this.node = undefined;
      this.settled = false;
      this.clusterId = this.keyring = undefined;
      this.stored.forget();
      this.log.info("left the cluster");
      this.d.notify?.({ kind: "membership", event: "left-cluster", member: this.d.nodeId });
      for (const h of this.leftHooks) {
        await h().catch((e: unknown) => this.log.warn({ err: e instanceof Error ? e.message : String(e) }, "taking down this node's share after leaving failed"));
      }
      return { left: true, node: this.d.nodeId };
    });
  }

  nodes(): ClusterNodeView[] {
    const node = this.node;
    if (!node) throw this.notMember();
    return node.members().map(memberView);
  }

  keys(): ClusterKeysView {
    const ring = this.keyring;
    if (!ring || !this.node) throw this.notMember();
    return { primary: ring.primary, keys: ring.keys.map((k) => ({ id: k.id, primary: k.id === ring.primary })) };
  }

  private applyKeyring(f: (ring: Keyring) => ReturnType<typeof install>): ClusterKeysView {
    if (!this.keyring || !this.node) throw this.notMember();
    const r = f(this.keyring);
    if (!r.ok) throw keyringError(r.error);
    this.node.setKeyring(r.keyring);
    this.keyring = r.keyring;
    this.stored.writeKeyring(r.keyring);
    return this.keys();
  }

  installKey(key: string): ClusterKeysView & { installed: string } {
    const bytes = parseKeyMaterial(key);
    return { ...this.applyKeyring((ring) => install(ring, bytes)), installed: keyIdOf(bytes) };
  }

  useKey(id: string): ClusterKeysView {
    return this.applyKeyring((ring) => useKey(ring, id));
  }

  removeKey(id: string): ClusterKeysView {
    return this.applyKeyring((ring) => removeKey(ring, id));
  }

  /** A join token for the cluster as it is now (its primary key, this node as seed): `fizz cluster token`. */
  token(): ClusterInitResult {
    if (!this.node || !this.clusterId || !this.keyring) throw this.notMember();
    return { cluster: hex(this.clusterId), node: this.d.nodeId, address: this.node.address, token: mintJoinToken(this.clusterId, this.keyring, [splitHostPort(this.node.address)]) };
  }

  /** Agent shutdown: stop without leaving (peers see the node go away; it rejoins on restart). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.rejoinTimer?.cancel();
    this.settleTimer?.cancel();
    this.settled = false;
    await this.busy.catch(() => undefined);
    const node = this.node;
    this.node = undefined;
    if (node) {
      if (this.committed) this.stored.writeState(encodeStateOf(node));
      await node.stop();
    }
  }
}

function encodeStateOf(node: ClusterNode): Uint8Array {
  return encodeState(node.state);
}
