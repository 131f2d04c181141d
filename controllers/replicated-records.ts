/**
 * One collection of records (core/state: ingress, secrets) where this node
 * keeps it: in the cluster's replicated state once the node is a member; on
 * a single node, in a local replica of the same collection, stamped by the
 * node's own HLC and persisted in the store's meta table (debounced 100 ms,
 * and on `flush`). While a restarted member is catching up, writes are
 * refused silently: neither copy is the truth then. What happens to the local
 * records when the node creates or joins a cluster is the capability's own
 * rule (`localView`, then `dropLocal`).
 */
import { HlcClock, type Hlc } from "../core/crdt/index.ts";
import { ClusterReplica, decodeState, emptyState, encodeState, fromBase64, toBase64, type Change, type ClusterState } from "../core/state/index.ts";
import type { AgentStore } from "../platform/store/index.ts";
import type { ClusterAgent } from "./cluster/membership.ts";

/** A collection's pure accessors (core/state) and where its local replica is kept. */
export interface RecordCollection<R> {
  /** The store meta key of the local replica. */
  readonly meta: string;
  /** The collection's field in ClusterState: all the local replica persists. */
  readonly field: "ingress" | "secrets";
  get(state: ClusterState, key: string): R | undefined;
  list(state: ClusterState, prefix?: string): [string, R][];
  put(state: ClusterState, ts: Hlc, key: string, rec: R): Change;
  delete(state: ClusterState, ts: Hlc, key: string): Change;
}

export class ReplicatedRecords<R> {
  private local: ClusterReplica;
  private readonly clock: HlcClock;
  private persistTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly collection: RecordCollection<R>,
    node: string,
    protected readonly store: AgentStore,
    protected readonly membership: ClusterAgent,
    private readonly now: () => number,
  ) {
    this.clock = new HlcClock(node);
    const saved = store.getMeta(collection.meta);
    const decoded = saved ? decodeState(fromBase64(saved)) : undefined;
    this.local = new ClusterReplica(decoded?.ok ? decoded.value : emptyState());
  }

  get view(): ClusterState {
    return this.membership.current?.state ?? this.local.view;
  }

  get(key: string): R | undefined {
    return this.collection.get(this.view, key);
  }

  list(prefix = ""): [string, R][] {
    return this.collection.list(this.view, prefix);
  }

  put(key: string, rec: R): void {
    const cur = this.get(key);
    if (cur && JSON.stringify(cur) === JSON.stringify(rec)) return;
    this.write((s, ts) => this.collection.put(s, ts, key, rec));
  }

  delete(key: string): void {
    if (!this.get(key)) return;
    this.write((s, ts) => this.collection.delete(s, ts, key));
  }

  /** Applies a core/state mutator to wherever the collection lives now (nothing while catching up). */
  protected write(mutator: (s: ClusterState, ts: Hlc) => Change): void {
    const n = this.membership.current;
    if (n) n.mutate(mutator);
    else if (!this.membership.catchingUp) {
      this.local.mutate((s) => mutator(s, this.clock.now(this.now())));
      this.schedulePersist();
    }
  }

  /** The local replica (off a cluster, or before its records were handed over). */
  protected get localView(): ClusterState {
    return this.local.view;
  }

  /** Empties the local replica, in memory and in the store (its records went into the cluster, or were dropped). */
  protected dropLocal(): void {
    this.local = new ClusterReplica(emptyState());
    this.store.setMeta(this.collection.meta, "");
  }

  private schedulePersist(): void {
    if (this.persistTimer) return;
    this.persistTimer = setTimeout(() => this.flush(), 100);
    this.persistTimer.unref?.();
  }

  flush(): void {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    const c = this.collection;
    const records = c.list(this.local.view);
    this.store.setMeta(c.meta, records.length ? toBase64(encodeState({ ...emptyState(), [c.field]: this.local.view[c.field] })) : "");
  }
}
