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
import { deriveSealKey, openValue, sealValue, type SealKey } from "../../core/ingress/seal.ts";
import { deleteIngressRecord, fromBase64, getIngressRecord, listIngressRecords, putIngressRecord, toBase64, type IngressRecord, type Sealed } from "../../core/state/index.ts";
import type { AgentStore } from "../../platform/store/index.ts";
import type { ClusterAgent } from "../cluster/membership.ts";
import { ReplicatedRecords } from "../replicated-records.ts";

const LOCAL_KEY_FILE = "ingress-local-key";
const rnd = (n: number) => new Uint8Array(randomBytes(n));

export interface SealKeys {
  readonly primary: SealKey;
  readonly held: readonly SealKey[];
}

export class IngressRecords extends ReplicatedRecords<IngressRecord> {
  private localKey: SealKey | undefined;
  /** Derived keys per keyring key id (HKDF once per key, not per record). */
  private derived = new Map<string, SealKey>();

  constructor(node: string, store: AgentStore, membership: ClusterAgent, now: () => number) {
    super({ meta: "ingress_state", field: "ingress", get: getIngressRecord, list: listIngressRecords, put: putIngressRecord, delete: deleteIngressRecord }, node, store, membership, now);
  }

  get clustered(): boolean {
    return this.membership.current !== undefined;
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
    for (const [key, rec] of listIngressRecords(this.localView)) {
      if (rec.kind !== "cert" && rec.kind !== "account") continue;
      const opened = openValue(own, key, rec.key);
      if (!opened.ok) continue;
      // A cluster that already has a record under this key keeps its own.
      if (getIngressRecord(n.state, key)) continue;
      const sealed = sealValue(k.primary, key, opened.plaintext, rnd);
      n.mutate((s, ts) => putIngressRecord(s, ts, key, { ...rec, key: sealed }));
      carried.push(key);
    }
    this.dropLocal();
    return carried;
  }
}
