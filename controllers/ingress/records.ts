/**
 * Where the ingress collection (core/state/ingress.ts) lives for this node,
 * and the keys its private values are sealed with. In a cluster: the
 * replicated state, sealed under keys derived from the cluster keyring (every
 * member opens them). On a single node: a local replica of the same records
 * kept in the store, sealed under a key of the node's own (a key file). When
 * the node creates or joins a cluster, its local certificates and account go
 * into the cluster sealed under the keyring (adoptIntoCluster); the local
 * replica is emptied.
 */
import { randomBytes } from "node:crypto";
import { HlcClock } from "../../core/crdt/index.ts";
import { deriveSealKey, openValue, sealValue, type SealKey } from "../../core/ingress/seal.ts";
import {
  ClusterReplica,
  decodeState,
  deleteIngressRecord,
  emptyState,
  encodeState,
  fromBase64,
  getIngressRecord,
  listIngressRecords,
  putIngressRecord,
  toBase64,
  type ClusterState,
  type IngressRecord,
  type Sealed,
} from "../../core/state/index.ts";
import type { AgentStore } from "../../platform/store/index.ts";
import type { ClusterAgent } from "../cluster/membership.ts";

const META = "ingress_state";
const LOCAL_KEY_FILE = "ingress-local-key";
const rnd = (n: number) => new Uint8Array(randomBytes(n));

export interface SealKeys {
  readonly primary: SealKey;
  readonly held: readonly SealKey[];
}

export class IngressRecords {
  private local: ClusterReplica;
  private readonly clock: HlcClock;
  private persistTimer: ReturnType<typeof setTimeout> | undefined;
  private localKey: SealKey | undefined;
  /** Derived keys per keyring key id (HKDF once per key, not per record). */
  private derived = new Map<string, SealKey>();

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

  get clustered(): boolean {
    return this.membership.current !== undefined;
  }

  get view(): ClusterState {
    return this.membership.current?.state ?? this.local.view;
  }

  get(key: string): IngressRecord | undefined {
    return getIngressRecord(this.view, key);
  }

  list(prefix = ""): [string, IngressRecord][] {
    return listIngressRecords(this.view, prefix);
  }

  put(key: string, rec: IngressRecord): void {
    const cur = this.get(key);
    if (cur && JSON.stringify(cur) === JSON.stringify(rec)) return;
    const n = this.membership.current;
    if (n) n.mutate((s, ts) => putIngressRecord(s, ts, key, rec));
    else if (!this.membership.catchingUp) {
      this.local.mutate((s) => putIngressRecord(s, this.clock.now(this.now()), key, rec));
      this.schedulePersist();
    }
  }

  delete(key: string): void {
    if (!this.get(key)) return;
    const n = this.membership.current;
    if (n) n.mutate((s, ts) => deleteIngressRecord(s, ts, key));
    else if (!this.membership.catchingUp) {
      this.local.mutate((s) => deleteIngressRecord(s, this.clock.now(this.now()), key));
      this.schedulePersist();
    }
  }

  /** The keys to seal with (primary) and to open with (all held), or undefined while catching up. */
  keys(): SealKeys | undefined {
    const ring = this.membership.currentKeyring;
    if (ring) {
      const held = ring.keys.map((k) => {
        let d = this.derived.get(k.id);
        if (!d) this.derived.set(k.id, (d = deriveSealKey(k.id, k.key)));
        return d;
      });
      return { primary: held.find((k) => k.id === ring.primary) ?? held[0]!, held };
    }
    if (this.membership.catchingUp) return undefined;
    return { primary: this.ownKey(), held: [this.ownKey()] };
  }

  seal(recordKey: string, plaintext: string): Sealed | undefined {
    const k = this.keys();
    return k ? sealValue(k.primary, recordKey, plaintext, rnd) : undefined;
  }

  open(recordKey: string, s: Sealed): { ok: true; plaintext: string } | { ok: false; why: string } {
    const k = this.keys();
    if (!k) return { ok: false, why: "this node is rejoining its cluster" };
    return openValue(k.held, recordKey, s);
  }

  /** The node's own sealing key (not in a cluster): made once, kept in a key file. */
  private ownKey(): SealKey {
    if (this.localKey) return this.localKey;
    let text = this.store.keys.read(LOCAL_KEY_FILE);
    if (!text) {
      text = toBase64(rnd(32));
      this.store.keys.write(LOCAL_KEY_FILE, text);
    }
    return (this.localKey = deriveSealKey("local", fromBase64(text.trim())));
  }

  /**
   * After init or join: the local certificates and ACME accounts go into the
   * cluster, re-sealed under the keyring (drain marks and tokens are not
   * carried: they belong to the single node's life). Returns the names carried.
   */
  adoptIntoCluster(): string[] {
    const n = this.membership.current;
    const k = this.keys();
    if (!n || !k) return [];
    const carried: string[] = [];
    const own = [this.ownKey()];
    for (const [key, rec] of listIngressRecords(this.local.view)) {
      if (rec.kind !== "cert" && rec.kind !== "account") continue;
      const opened = openValue(own, key, rec.key);
      if (!opened.ok) continue;
      // A cluster that already has a record under this key keeps its own.
      if (getIngressRecord(n.state, key)) continue;
      const sealed = sealValue(k.primary, key, opened.plaintext, rnd);
      n.mutate((s, ts) => putIngressRecord(s, ts, key, { ...rec, key: sealed }));
      carried.push(key);
    }
    this.local = new ClusterReplica(emptyState());
    this.store.setMeta(META, "");
    return carried;
  }

  private schedulePersist(): void {
    if (this.persistTimer) return;
    this.persistTimer = setTimeout(() => this.flush(), 100);
    this.persistTimer.unref?.();
  }

  flush(): void {
    if (this.persistTimer) clearTimeout(this.persistTimer);
    this.persistTimer = undefined;
    const records = listIngressRecords(this.local.view);
    this.store.setMeta(META, records.length ? toBase64(encodeState({ ...emptyState(), ingress: this.local.view.ingress })) : "");
  }
}
