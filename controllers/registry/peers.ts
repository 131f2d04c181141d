/**
 * The cluster as the registry sees it (PeerNetwork): alive members from
 * SWIM, who holds which digest and where each node's peer listener is from
 * the replicated `registry` collection, and the peer TLS credentials
 * derived from the cluster keyring. It also keeps this node's own rows of
 * that collection true: its peer address, and a holder row for every blob
 * and manifest it stores (batched, one gossip delta per flush), dropped
 * when GC or a DELETE removes one.
 */
import type { Keyring } from "../../core/cluster-crypto/index.ts";
import { memberRegistryAddress, peerCredentials, type Digest, type PeerAsk, type RepoName } from "../../core/registry/index.ts";
import { lwwDeleteDelta, lwwPutDelta, type Hlc, type LwwMap } from "../../core/crdt/index.ts";
import { applyDelta, heldBy, holderKey, registryHolders, registryPeerAddress, type ClusterState, type Change as StateChange, type RegistryRecord } from "../../core/state/index.ts";
import type { PeerNetwork } from "../../platform/registry/remote.ts";
import { PeerClient } from "../../platform/registry/peer-client.ts";
import type { Logger } from "../../platform/log.ts";
import type { ClusterMember } from "../../platform/cluster/index.ts";
import type { ClusterAgent } from "../cluster/membership.ts";

function delta(prev: ClusterState, registry: LwwMap<RegistryRecord>): StateChange {
  let next: ClusterState | undefined;
  return {
    delta: { registry },
    get state() {
      return (next ??= applyDelta(prev, { registry }));
    },
  };
}

function registryAddress(state: ClusterState, m: ClusterMember): string | undefined {
  return memberRegistryAddress(registryPeerAddress(state, m.id), m.address, m.meta.ports);
}

export class ClusterPeers implements PeerNetwork {
  readonly client: PeerClient;
  private holderIndex: Map<string, string[]> | undefined;
  private pending = new Map<string, number | null>();
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  /** The peer TLS material derived from `ring` (the keyring object is replaced when keys change). */
  private tls: { ring: Keyring; cert: string; key: string; ca: string[] } | undefined;

  constructor(
    private readonly membership: ClusterAgent,
    private readonly log: Logger,
  ) {
    this.client = new PeerClient((node) => this.addressOf(node));
  }

  get self(): string {
    return this.membership.nodeId;
  }

  /** Call on every cluster state or membership change. */
  invalidate(): void {
    this.holderIndex = undefined;
    const tls = this.serverTls();
    this.client.setTls(tls && { cert: tls.cert, key: tls.key, trust: tls.ca });
  }

  /** What a peer listener presents and trusts now (undefined outside a cluster). */
  serverTls(): { cert: string; key: string; ca: string[] } | undefined {
    const ring = this.membership.currentKeyring;
    if (!ring) return undefined;
    // Derived once per keyring: each derivation signs a certificate (Ed25519 in JavaScript,
    // a few ms), and every registry sync asks twice — it was ~4% of an agent's CPU in a deploy.
    if (this.tls?.ring !== ring) {
      const primary = ring.keys.find((k) => k.id === ring.primary) ?? ring.keys[0]!;
      const own = peerCredentials(primary.key);
      this.tls = { ring, cert: own.cert, key: own.key, ca: ring.keys.map((k) => (k === primary ? own : peerCredentials(k.key)).cert) };
    }
    const { cert, key, ca } = this.tls;
    return { cert, key, ca };
  }

  /** Where a member's peer listener is: its record, else its gossip host and the port in its metadata. */
  private addressOf(id: string): string | undefined {
    const node = this.membership.current;
    const m = node?.members().find((x) => x.id === id);
    return node && m ? registryAddress(node.state, m) : undefined;
  }

  /**
   * Alive members whose registry can be reached (self included). Every node
   * learns a member's gossiped port with the alive message itself, so all
   * compute the same fetcher for a digest; a member that runs no registry
   * is never chosen as one.
   */
  alive(): readonly string[] {
    const node = this.membership.current;
    if (!node) return [this.self];
    const state = node.state;
    return node
      .members()
      .filter((m) => m.self || (m.state === "alive" && registryAddress(state, m) !== undefined))
      .map((m) => m.id);
  }

  holders(digest: Digest): readonly string[] {
    const s = this.membership.current?.state;
    if (!s) return [];
    this.holderIndex ??= registryHolders(s);
    return this.holderIndex.get(digest) ?? [];
  }

  blob(node: string, repo: RepoName, digest: Digest, ask: PeerAsk) {
    return this.client.blob(node, repo, digest, ask);
  }

  manifest(node: string, repo: RepoName, digest: Digest, ask: PeerAsk) {
    return this.client.manifest(node, repo, digest, ask);
  }

  // ---- this node's rows ----

  /** Records that this node holds (size) or no longer holds (null) a digest; flushed in one delta. */
  note(digest: string, size: number | null): void {
    this.pending.set(digest, size);
    this.flushTimer ??= setTimeout(() => this.flush(), 100);
  }

  flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const node = this.membership.current;
    if (!node || this.pending.size === 0) return;
    const entries = [...this.pending];
    this.pending.clear();
    try {
      node.mutate((s, ts: Hlc) => {
        let reg: LwwMap<RegistryRecord> = {};
        for (const [d, size] of entries) {
          const k = holderKey(d, this.self);
          reg = { ...reg, ...(size === null ? lwwDeleteDelta<RegistryRecord>(k, ts) : lwwPutDelta<RegistryRecord>(k, { kind: "holder", size }, ts)) };
        }
        return delta(s, reg);
      });
    } catch (e) {
      this.log.warn({ err: e instanceof Error ? e.message : String(e) }, "publishing registry holder records failed");
    }
  }

  /**
   * Makes this node's rows match what it has: its peer address, a holder row
   * per stored digest and none for digests it no longer has. Run when it
   * joins or rejoins, and after GC.
   */
  reconcile(stored: ReadonlyMap<string, number>, peerAddress: string | undefined): void {
    const node = this.membership.current;
    if (!node) return;
    const s = node.state;
    if (peerAddress && registryPeerAddress(s, this.self) !== peerAddress) {
      node.mutate((st, ts) => delta(st, lwwPutDelta<RegistryRecord>(`p/${this.self}`, { kind: "peer", address: peerAddress }, ts)));
    }
    const recorded = heldBy(s, this.self);
    for (const [d, size] of stored) if (!recorded.has(d)) this.pending.set(d, size);
    for (const d of recorded) if (!stored.has(d)) this.pending.set(d, null);
    this.flush();
  }

  async close(): Promise<void> {
    this.flush();
    await this.client.close();
  }
}
