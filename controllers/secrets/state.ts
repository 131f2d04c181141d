/**
 * Where the secrets collection lives for this node: the cluster's replicated
 * state once the node is a member, else a local replica of the same records
 * kept in the store (a single node has secrets too). When the node creates a
 * cluster (`fizz init`) its local records go into the cluster state; when it
 * joins one that already has a keyring, its local secrets cannot be read by
 * the others (another master key) and are dropped, named in an event.
 */
import { KEYRING_KEY, deleteSecretsRecord, getSecretsRecord, listSecretsRecords, putSecretsRecord, putSecretsRecords, type SecretsRecord } from "../../core/state/index.ts";
import type { AgentStore } from "../../platform/store/index.ts";
import type { ClusterAgent } from "../cluster/membership.ts";
import { ReplicatedRecords } from "../replicated-records.ts";

/** What the secrets logic needs of the collection (a fake in tests). */
export interface SecretsRecords {
  get(key: string): SecretsRecord | undefined;
  list(prefix?: string): [string, SecretsRecord][];
  put(key: string, rec: SecretsRecord): void;
  delete(key: string): void;
  /** Puts (a record) and deletes (null) at once: every node sees all of them or none. */
  putAll(entries: readonly (readonly [string, SecretsRecord | null])[]): void;
}

export class SecretsState extends ReplicatedRecords<SecretsRecord> implements SecretsRecords {
  constructor(node: string, store: AgentStore, membership: ClusterAgent, now: () => number) {
    super({ meta: "secrets_state", field: "secrets", get: getSecretsRecord, list: listSecretsRecords, put: putSecretsRecord, delete: deleteSecretsRecord }, node, store, membership, now);
  }

  /** A member of a cluster (or about to resume one): the cluster's state is the truth. */
  get clustered(): boolean {
    return this.membership.current !== undefined || this.membership.catchingUp;
  }

  putAll(entries: readonly (readonly [string, SecretsRecord | null])[]): void {
    if (entries.length === 0) return;
    this.write((s, ts) => putSecretsRecords(s, ts, entries));
  }

  /**
   * After init or join: carry the local records into the cluster, unless the
   * cluster already has a different keyring. Returns the local secrets that
   * were dropped (names), if any.
   */
  adoptIntoCluster(): string[] {
    const n = this.membership.current;
    if (!n) return [];
    const mine = getSecretsRecord(this.localView, KEYRING_KEY);
    const theirs = getSecretsRecord(n.state, KEYRING_KEY);
    const local = listSecretsRecords(this.localView);
    let dropped: string[] = [];
    if (mine && theirs && mine.type === "keyring" && theirs.type === "keyring" && mine.check !== theirs.check) {
      dropped = local.filter(([k]) => k.startsWith("secret/")).map(([k]) => k.slice("secret/".length));
    } else {
      for (const [k, r] of local) n.mutate((s, ts) => putSecretsRecord(s, ts, k, r));
    }
    this.dropLocal();
    return dropped;
  }
}
