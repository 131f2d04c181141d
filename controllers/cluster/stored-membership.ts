/**
 * What a member keeps to resume after a restart: the cluster id, seeds and
 * advertise address in the store's meta table, the keyring as a key file
 * (key material never goes in a database row), and the encoded replicated
 * state. Seeds are kept current as members join, so a node that crashes
 * right after joining still knows more than the one peer it joined through.
 */
import { keyringFromJSON, keyringToJSON, type Keyring } from "../../core/cluster-crypto/index.ts";
import { fromBase64, toBase64 } from "../../core/state/index.ts";
import type { AgentStore } from "../../platform/store/index.ts";

const META = { id: "cluster_id", state: "cluster_state", seeds: "cluster_seeds", advertise: "cluster_advertise" } as const;
/** The keyring is key material: a key file of its own (platform/store/key-files.ts), never a database row. */
const KEYRING_FILE = "cluster-keyring";
/** Peer addresses kept for rejoining after a restart (the most recently joined). */
const MAX_REMEMBERED_PEERS = 64;

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

export type Resumable =
  | { readonly ok: true; readonly clusterId: Uint8Array; readonly keyring: Keyring; readonly state: Uint8Array | undefined; readonly advertise: string | undefined }
  | { readonly ok: false; readonly invalid: string };

export class StoredMembership {
  constructor(private readonly store: AgentStore) {}

  /** A membership was stored (the node was in a cluster when it stopped). */
  exists(): boolean {
    return Boolean(this.store.getMeta(META.id)) && Boolean(this.store.keys.read(KEYRING_FILE));
  }

  /** The stored membership to resume (undefined: none). */
  read(): Resumable | undefined {
    const idHex = this.store.getMeta(META.id);
    const ringJson = this.store.keys.read(KEYRING_FILE);
    if (!idHex || !ringJson) return undefined;
    const ring = keyringFromJSON(JSON.parse(ringJson) as unknown);
    if (!ring.ok) return { ok: false, invalid: ring.error.message };
    const stateB64 = this.store.getMeta(META.state);
    return {
      ok: true,
      clusterId: Uint8Array.from(Buffer.from(idHex, "hex")),
      keyring: ring.keyring,
      state: stateB64 ? fromBase64(stateB64) : undefined,
      advertise: this.store.getMeta(META.advertise) || undefined,
    };
  }

  /** `advertise`: only an address the user gave (`fizz init --advertise`); otherwise it is derived from the config on every start. */
  write(o: { clusterId: Uint8Array; keyring: Keyring; seeds: readonly string[]; advertise: string | undefined; state: Uint8Array }): void {
    const s = this.store;
    s.setMeta(META.id, hex(o.clusterId));
    this.writeKeyring(o.keyring);
    s.setMeta(META.seeds, JSON.stringify([...new Set(o.seeds)].slice(-MAX_REMEMBERED_PEERS)));
    s.setMeta(META.advertise, o.advertise ?? "");
    this.writeState(o.state);
  }

  writeKeyring(keyring: Keyring): void {
    this.store.keys.write(KEYRING_FILE, JSON.stringify(keyringToJSON(keyring)));
  }

  writeState(state: Uint8Array): void {
    this.store.setMeta(META.state, toBase64(state));
  }

  seeds(): string[] {
    try {
      const v = JSON.parse(this.store.getMeta(META.seeds) ?? "[]") as unknown;
      return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
    } catch {
      return [];
    }
  }

  /** A member seen joining (kept) or leaving (dropped). */
  rememberPeer(address: string, joined: boolean): void {
    const seeds = this.seeds();
    const has = seeds.includes(address);
    if (joined === has) return;
    const next = joined ? [...seeds, address].slice(-MAX_REMEMBERED_PEERS) : seeds.filter((s) => s !== address);
    this.store.setMeta(META.seeds, JSON.stringify(next));
  }

  forget(): void {
    for (const k of Object.values(META)) this.store.setMeta(k, "");
    this.store.keys.remove(KEYRING_FILE);
  }
}
