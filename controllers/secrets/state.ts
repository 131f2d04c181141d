/**
 * Where the secrets collection lives for this node: the cluster's replicated
 * state once the node is a member, else a local replica of the same records
 * kept in the store (a single node has secrets too). When the node creates a
 * cluster (`fizz init`) its local records go into the cluster state; when it
 * joins one that already has a keyring, its local secrets cannot be read by
 * the others (another master key) and are dropped, named in an event.
 */
import { HlcClock } from "../../core/crdt/index.ts";
import {
  ClusterReplica,
  KEYRING_KEY,
  decodeState,
  deleteSecretsRecord,
  emptyState,
  encodeState,
  fromBase64,
  getSecretsRecord,
  listSecretsRecords,
  putSecretsRecord,
  putSecretsRecords,
  toBase64,
  type ClusterState,
  type SecretsRecord,
} from "../../core/state/index.ts";
import type { AgentStore } from "../../platform/store/index.ts";
import type { ClusterAgent } from "../cluster/membership.ts";

const META = "secrets_state";

/** What the secrets logic needs of the collection (a fake in tests). */
export interface SecretsRecords {
  get(key: string): SecretsRecord | undefined;
  list(prefix?: string): [string, SecretsRecord][];
  put(key: string, rec: SecretsRecord): void;
  delete(key: string): void;
  /** Puts (a record) and deletes (null) at once: every node sees all of them or none. */
  putAll(entries: readonly (readonly [string, SecretsRecord | null])[]): void;
}

export class SecretsState implements SecretsRecords {
  private local: ClusterReplica;
  private readonly clock: HlcClock;
  private persistTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly node: string,
    private readonly store: AgentStore,
    private readonly membership: ClusterAgent,
    private readonly now: () => number,
  ) {
    this.clock = new HlcClock(node);
    const saved = store.getMeta(META);
    const decoded = saved ? decodeState(fromBase64(saved)) : undefined;
    this.local = new ClusterReplica(decoded?.ok ? decoded.value : emptyState());
  }

  /** A member of a cluster (or about to resume one): the cluster's state is the truth. */
  get clustered(): boolean {
    return this.membership.current !== undefined || this.membership.catchingUp;
  }

  get view(): ClusterState {
    return this.membership.current?.state ?? this.local.view;
  }

  get(key: string): SecretsRecord | undefined {
    return getSecretsRecord(this.view, key);
  }

  list(prefix = ""): [string, SecretsRecord][] {
    return listSecretsRecords(this.view, prefix);
  }

  put(key: string, rec: SecretsRecord): void {
    const cur = this.get(key);
    if (cur && JSON.stringify(cur) === JSON.stringify(rec)) return;
    const n = this.membership.current;
    if (n) n.mutate((s, ts) => putSecretsRecord(s, ts, key, rec));
    else if (!this.membership.catchingUp) {
      this.local.mutate((s) => putSecretsRecord(s, this.clock.now(this.now()), key, rec));
      this.schedulePersist();
    }
  }

  delete(key: string): void {
    if (!this.get(key)) return;
    const n = this.membership.current;
    if (n) n.mutate((s, ts) => deleteSecretsRecord(s, ts, key));
    else if (!this.membership.catchingUp) {
      this.local.mutate((s) => deleteSecretsRecord(s, this.clock.now(this.now()), key));
      this.schedulePersist();
    }
  }

  putAll(entries: readonly (readonly [string, SecretsRecord | null])[]): void {
    if (entries.length === 0) return;
    const n = this.membership.current;
    if (n) n.mutate((s, ts) => putSecretsRecords(s, ts, entries));
    else if (!this.membership.catchingUp) {
      this.local.mutate((s) => putSecretsRecords(s, this.clock.now(this.now()), entries));
      this.schedulePersist();
    }
  }

  /**
   * After init or join: carry the local records into the cluster, unless the
   * cluster already has a different keyring. Returns the local secrets that
   * were dropped (names), if any.
   */
  adoptIntoCluster(): string[] {
    const n = this.membership.current;
    if (!n) return [];
    const mine = getSecretsRecord(this.local.view, KEYRING_KEY);
    const theirs = getSecretsRecord(n.state, KEYRING_KEY);
    const local = listSecretsRecords(this.local.view);
    let dropped: string[] = [];
    if (mine && theirs && mine.type === "keyring" && theirs.type === "keyring" && mine.check !== theirs.check) {
      dropped = local.filter(([k]) => k.startsWith("secret/")).map(([k]) => k.slice("secret/".length));
    } else {
      for (const [k, r] of local) n.mutate((s, ts) => putSecretsRecord(s, ts, k, r));
    }
    this.local = new ClusterReplica(emptyState());
    this.store.setMeta(META, "");
    return dropped;
  }

  private schedulePersist(): void {
    if (this.persistTimer) return;
    this.persistTimer = setTimeout(() => this.flush(), 100);
    this.persistTimer.unref?.();
  }

  flush(): void {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    const records = listSecretsRecords(this.local.view);
    this.store.setMeta(META, records.length ? toBase64(encodeState({ ...emptyState(), secrets: this.local.view.secrets })) : "");
  }
}
