/**
 * The cluster state one node holds (core/state's ClusterReplica): local
 * mutations stamped by the node's hybrid logical clock, remote deltas (gossip
 * or push-pull) through the HLC gate first, a notification for every
 * non-empty effective change, and the encoded state handed to `persist` at
 * most every `persistDebounceMs` and on stop. How a change reaches the
 * others is dissemination.ts's; this only says when there is one.
 */
import type { Clock, Timer } from "../../core/clock.ts";
import { HlcClock, type Hlc } from "../../core/crdt/index.ts";
import { admitDelta, ClusterReplica, deltaIsEmpty, encodeState, type Change, type ChangeResult, type ClusterDelta, type ClusterState } from "../../core/state/index.ts";
import type { StateSource } from "./types.ts";

type Listener<T> = (v: T) => void;

const DEFAULT_PERSIST_DEBOUNCE_MS = 200;

export interface ReplicatedStateHost {
  readonly nodeId: string;
  readonly clock: Clock;
  /** Where refusals by the HLC gate are counted (the node's gossip counters). */
  readonly stats: { refusedDrift: number };
  /** Throws when the node is stopped (mutations need a running node). */
  assertRunning(): void;
  stopped(): boolean;
  /** Tells the others about a delta (dissemination.ts). */
  spread(delta: ClusterDelta): void;
  /** Sends what SWIM produced (swim-loop.ts). */
  pump(): void;
  /** Something changed: readers' derived views are stale. */
  bump(): void;
  /** A peer wrote our own row: rewrite it if it is not what we are. */
  ensureSelfRow(): void;
  readonly onStateChange?: (effectiveDelta: ClusterDelta) => void;
  readonly persist?: (encodedState: Uint8Array) => void;
  readonly persistDebounceMs?: number;
  log(level: "debug" | "info" | "warn", obj: Record<string, unknown>, msg: string): void;
}

export class ReplicatedState {
  private readonly hlc: HlcClock;
  private readonly replica: ClusterReplica;
  private persistTimer: Timer | undefined;
  private readonly listeners = new Set<Listener<{ delta: ClusterDelta; source: StateSource }>>();

  constructor(
    private readonly h: ReplicatedStateHost,
    initial: ClusterState | undefined,
  ) {
    this.hlc = new HlcClock(h.nodeId);
    this.replica = new ClusterReplica(initial);
    if (initial) {
      // Our next writes must order after everything we wrote (or saw) before the restart.
      const r = admitDelta(this.hlc, initial, h.clock.now());
      if (!r.ok) h.log("warn", { err: r.error.message }, "persisted cluster state is stamped in the future; local writes may lose to it until the clock catches up");
    }
  }

  /** The live replicated state. Read-only; it changes under you on the next mutation. */
  get view(): ClusterState {
    return this.replica.view;
  }

  /** The replica itself, for the push-pull hook (user-state.ts). */
  get crdt(): ClusterReplica {
    return this.replica;
  }

  snapshot(): ClusterState {
    return this.replica.snapshot();
  }

  /** Applies a core/state mutator locally and spreads its delta; a failed ChangeResult or undefined changes nothing. */
  mutate<R extends Change | ChangeResult | undefined>(fn: (state: ClusterState, ts: Hlc) => R): R {
    this.h.assertRunning();
    const ts = this.hlc.now(this.h.clock.now());
    const r = fn(this.replica.view, ts);
    if (r === undefined || ("ok" in r && !r.ok)) return r;
    const eff = this.replica.apply(r.delta);
    if (!deltaIsEmpty(eff)) {
      this.changed(eff, "local");
      this.h.spread(r.delta);
    }
    return r;
  }

  /** HLC gate, then join into the replica. Side effects run after the current SWIM call returns. */
  applyRemote(delta: ClusterDelta, source: StateSource): boolean {
    const h = this.h;
    const adm = admitDelta(this.hlc, delta, h.clock.now());
    if (!adm.ok) {
      h.stats.refusedDrift++;
      h.log("warn", { err: adm.error.message, source }, "refusing a cluster state change stamped too far in the future");
      return false;
    }
    const eff = this.replica.apply(delta);
    if (!deltaIsEmpty(eff)) {
      queueMicrotask(() => {
        if (h.stopped()) return;
        this.changed(eff, source);
        // What push-pull taught us is news to others too; gossip deliveries are forwarded by SWIM itself.
        if (source === "sync") h.spread(eff);
        h.pump();
      });
    }
    return true;
  }

  on(cb: Listener<{ delta: ClusterDelta; source: StateSource }>): () => void {
    this.listeners.add(cb);
    return () => void this.listeners.delete(cb);
  }

  /** Writes the state one last time if a write is pending. */
  stop(): void {
    if (this.persistTimer) {
      this.persistTimer.cancel();
      this.persistTimer = undefined;
      this.flushPersist();
    }
  }

  private changed(eff: ClusterDelta, source: StateSource): void {
    const h = this.h;
    h.bump();
    this.schedulePersist();
    if (source !== "local" && eff.nodes?.[h.nodeId] !== undefined) h.ensureSelfRow();
    try {
      h.onStateChange?.(eff);
    } catch (e) {
      h.log("warn", { err: String(e) }, "onStateChange threw");
    }
    for (const cb of this.listeners) {
      try {
        cb({ delta: eff, source });
      } catch (e) {
        h.log("warn", { err: String(e) }, "state listener threw");
      }
    }
  }

  private schedulePersist(): void {
    if (!this.h.persist || this.persistTimer || this.h.stopped()) return;
    this.persistTimer = this.h.clock.setTimeout(() => {
      this.persistTimer = undefined;
      this.flushPersist();
    }, this.h.persistDebounceMs ?? DEFAULT_PERSIST_DEBOUNCE_MS);
  }

  private flushPersist(): void {
    try {
      this.h.persist?.(encodeState(this.replica.view));
    } catch (e) {
      this.h.log("warn", { err: String(e) }, "persisting the cluster state failed");
    }
  }
}
