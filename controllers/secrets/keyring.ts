/**
 * This node's hold on the master key: sealed (no key), unsealed (rebuilt
 * from a quorum of node shares), or recovered (rebuilt from recovery shares,
 * which overrides the quorum rule). One `pass()` is one level-triggered step
 * of the protocol in core/secrets/quorum.ts: publish our node key, mint
 * shares for holders that lack one, answer unseal requests with our share,
 * ask for shares while sealed and combine them, seal when the quorum is gone.
 * The key never leaves memory; everything written is encrypted to someone.
 */
import { randomBytes } from "node:crypto";
import { bech32 } from "@scure/base";
import { FizzError } from "../../core/errors.ts";
import { decryptAge } from "../../core/secrets/age.ts";
import type { Aead } from "../../core/secrets/age-stream.ts";
import { clusterIdentity, identityFromScalar, keyCheckValue, MasterKey, hex, type AgeKeyPair } from "../../core/secrets/keys.ts";
import { epochOf, holderView, liveHolders, mintPlan, mustSeal, nodePoly, openRequests, publishedThreshold, revocations, staleOffers, targetThreshold, type HolderView, type SealMode } from "../../core/secrets/quorum.ts";
import { combine, commitment, share, SHARE_BYTES, shareIndex, verifyShare } from "../../core/secrets/shamir.ts";
import { fromBase64, KEYRING_KEY, nodeKeyKey, offerKey, sealKey, shareKey, toBase64, type KeyringRecord, type SealRecord } from "../../core/state/index.ts";
import { encryptAge } from "../../platform/secrets/age-encrypt.ts";
import type { SecretsRecords } from "./state.ts";

const recoveryPoly = (id: string) => `recovery\0${id}`;
const RECOVERY_PREFIX = "fizzrecovery";

export interface KeyHolderDeps {
  readonly node: string;
  readonly state: SecretsRecords;
  /** This node's own age identity (its private half stays in the store). */
  readonly identity: AgeKeyPair;
  readonly aead: Aead;
  readonly now: () => number;
  /** Members SWIM reports alive (this node included). */
  readonly alive: () => ReadonlySet<string>;
  /** Members whose node left the cluster (`fizz leave`): their shares are revoked. */
  readonly left?: () => ReadonlySet<string>;
  /** True when this node may make a new master key (a single node, not part of any cluster). */
  readonly mayCreate: () => boolean;
  readonly emit: (type: string, message: string, data?: Record<string, unknown>) => void;
}

export interface SealStatus {
  readonly node: string;
  readonly state: SealMode;
  readonly reason: string;
  readonly threshold: number | null;
  readonly holders: number;
  readonly recovery: { readonly have: number; readonly need: number } | null;
  /** On a node that was unsealed already: the share given was checked (format, and against this cluster's commitments), not used. */
  readonly checked?: { readonly share: number; readonly valid: true };
}

/**
 * Why a node sealed when share holders went away. The same words whichever
 * noticed first (a pass, or a delivery checking the quorum as it uses the
 * key), and in the form a sealed node's status keeps ("N of T shares").
 */
function quorumLost(live: number, t: number): string {
  return `only ${live} of ${t} shares' holders are alive: waiting for more share holders to be up`;
}

export function encodeRecoveryShare(s: Uint8Array): string {
  return bech32.encodeFromBytes(RECOVERY_PREFIX, s);
}

export function decodeRecoveryShare(text: string): Uint8Array | undefined {
  try {
    const r = bech32.decodeToBytes(text.trim().toLowerCase() as `${string}1${string}`);
    return r.prefix === RECOVERY_PREFIX && r.bytes.length === SHARE_BYTES ? r.bytes : undefined;
  } catch {
    return undefined;
  }
}

export class KeyHolder {
  private master: MasterKey | undefined;
  private mode: SealMode = "sealed";
  private reason = "starting";
  private request: AgeKeyPair | undefined;
  private recoveryShares = new Map<number, Uint8Array>();
  /** Offers written by this process (to, request, t, mode, count): an offer is written once per request. */
  private readonly offered = new Set<string>();
  private since: number;

  constructor(private readonly d: KeyHolderDeps) {
    this.since = d.now();
  }

  get key(): MasterKey | undefined {
    return this.master;
  }

  get sealMode(): SealMode {
    return this.mode;
  }

  /** The key, or a 503 that says why there is none. */
  need(what: string): MasterKey {
    // The quorum is checked at the moment of use as well: a delivery that races
    // the pass about to seal (a holder just died) must not get the key.
    if (this.master && this.mode === "unsealed") {
      const v = holderView(this.d.state.list());
      const t = publishedThreshold(v) ?? targetThreshold(v);
      const live = liveHolders(v, this.d.alive(), t).length;
      if (mustSeal(this.mode, live, t)) this.seal(quorumLost(live, t));
    }
    if (this.master) return this.master;
    throw new FizzError({ code: "secrets.sealed", message: `secrets are sealed on node ${this.d.node} (${this.reason}), so it cannot ${what}`, hint: "wait for enough nodes to be up, or unseal with recovery shares: fizz secret unseal", status: 503 });
  }

  status(): SealStatus {
    const v = holderView(this.d.state.list());
    const kr = this.d.state.get(KEYRING_KEY);
    const rec = kr?.type === "keyring" && kr.recovery ? { have: this.recoveryShares.size, need: kr.recovery.threshold } : null;
    return { node: this.d.node, state: this.mode, reason: this.reason, threshold: publishedThreshold(v) ?? (kr ? targetThreshold(v) : null), holders: v.shares.size, recovery: rec };
  }

  private keyring(): KeyringRecord | undefined {
    const r = this.d.state.get(KEYRING_KEY);
    return r?.type === "keyring" ? r : undefined;
  }

  private setMode(mode: SealMode, reason: string): void {
    if (mode !== this.mode) {
      this.since = this.d.now();
      this.d.emit(mode === "sealed" ? "secrets.sealed" : "secrets.unsealed", `secrets ${mode === "sealed" ? "sealed" : mode === "recovered" ? "unsealed with recovery shares" : "unsealed"} on node ${this.d.node}: ${reason}`, { state: mode });
    }
    this.mode = mode;
    this.reason = reason;
  }

  private seal(reason: string): void {
    this.master = undefined;
    this.setMode("sealed", reason);
  }

  private unseal(m: MasterKey, mode: "unsealed" | "recovered", reason: string): void {
    this.master = m;
    this.request = undefined;
    this.recoveryShares.clear();
    this.setMode(mode, reason);
  }

  /** A brand-new master key for a node that has none (first start of a single node). */
  private createMaster(): void {
    const m = new MasterKey(Uint8Array.from(randomBytes(32)));
    const rec: KeyringRecord = { type: "keyring", check: keyCheckValue(m), recipient: clusterIdentity(m).recipient, created: this.d.now(), recovery: null };
    this.d.state.put(KEYRING_KEY, rec);
    this.unseal(m, "unsealed", "created the master key");
    this.d.emit("secrets.keyring_created", `node ${this.d.node} created the master key; recovery shares are made by fizz init or fizz secret recovery`);
  }

  private async encryptTo(recipient: string, bytes: Uint8Array): Promise<string> {
    return toBase64(await encryptAge(bytes, [recipient], { aead: this.d.aead }));
  }

  private async decryptWith(identity: string, b64: string): Promise<Uint8Array | undefined> {
    const r = await decryptAge(fromBase64(b64), [identity], this.d.aead);
    return r.ok ? r.plaintext : undefined;
  }

  /** Our own node share, decrypted from its record (works sealed: it needs only the node key). */
  private async ownShare(v: HolderView): Promise<Uint8Array | undefined> {
    const rec = v.shares.get(this.d.node);
    if (!rec) return undefined;
    const s = await this.decryptWith(this.d.identity.identity, rec.ciphertext);
    if (!s || !verifyShare(nodePoly(epochOf(rec)), rec.t, s, rec.commitment)) {
      this.d.emit("secrets.bad_share", `node ${this.d.node}'s own share does not match its commitment (minted by ${rec.by})`);
      return undefined;
    }
    return s;
  }

  /** One step of the protocol; never throws (errors become the seal reason). */
  async pass(): Promise<void> {
    const st = this.d.state;
    const self = this.d.node;
    if (st.get(nodeKeyKey(self))?.type !== "nodekey" || (st.get(nodeKeyKey(self)) as { recipient: string }).recipient !== this.d.identity.recipient) {
      st.put(nodeKeyKey(self), { type: "nodekey", recipient: this.d.identity.recipient });
    }
    if (!this.keyring() && this.d.mayCreate()) this.createMaster();
    let kr = this.keyring();
    if (!kr) {
      if (this.master) this.seal("the cluster has no master key yet");
      else this.reason = "the cluster has no master key yet (its first settled node makes it)";
      this.publishSeal();
      return;
    }
    if (this.master && keyCheckValue(this.master) !== kr.check) this.seal("the cluster's master key changed (this node joined another cluster)");
    let v = holderView(st.list());
    const alive = this.d.alive();
    if (this.master) {
      // A holder that left takes nothing with it: its records go and the key is re-split from a new polynomial.
      // The nodes that stay do it, never the leaver itself: a leaving node keeps running through its leave
      // linger and sees its own row "left", and re-splitting there would race the survivors' own re-split.
      const left = new Set(this.d.left?.() ?? []);
      left.delete(self);
      const gone = revocations(v, left, epochOf(kr));
      if (gone.length) {
        const epoch = epochOf(kr) + 1;
        const keys = gone.flatMap((n) => [nodeKeyKey(n), shareKey(n), sealKey(n), ...[...(v.offers.get(n)?.keys() ?? [])].map((from) => offerKey(n, from)), ...[...v.offers.keys()].filter((to) => v.offers.get(to)!.has(n)).map((to) => offerKey(to, n))]);
        st.putAll([...keys.filter((k) => st.get(k)).map((k) => [k, null] as const), [KEYRING_KEY, { ...kr, epoch }]]);
        this.d.emit("secrets.shares_resplit", `share holder${gone.length > 1 ? "s" : ""} ${gone.join(", ")} left the cluster: ${gone.length > 1 ? "their shares are" : "its share is"} revoked and the master key is split again (share generation ${epoch})`, { revoked: gone, epoch });
        kr = this.keyring()!;
        v = holderView(st.list());
      }
      // Shares first: a holder without one (a new node, or all of them right after the key was made or re-split) gets it now.
      const t = targetThreshold(v);
      const epoch = epochOf(kr);
      for (const m of mintPlan(v, t, epoch)) {
        const s = share(this.master, nodePoly(epoch), t, m.x);
        st.put(shareKey(m.node), { type: "share", x: m.x, t, ciphertext: await this.encryptTo(m.recipient, s), commitment: commitment(nodePoly(epoch), t, s), by: self, ...(epoch ? { epoch } : {}) });
      }
      v = holderView(st.list());
      const tPub = publishedThreshold(v) ?? t;
      const live = liveHolders(v, alive, tPub).length;
      if (mustSeal(this.mode, live, tPub)) this.seal(quorumLost(live, tPub));
      else if (this.mode === "recovered" && live >= tPub) this.setMode("unsealed", `${live} share holders alive again`);
    }
    await this.answer(v, alive);
    for (const to of staleOffers(v, self, alive)) st.delete(offerKey(to, self));
    if (!this.master) await this.collect(v);
    this.publishSeal();
  }

  /** Offers our share (a recovered node: enough shares) to every sealed live holder that asks. */
  private async answer(v: HolderView, alive: ReadonlySet<string>): Promise<void> {
    const requests = openRequests(v, this.d.node, alive);
    if (requests.size === 0) return;
    const t = publishedThreshold(v) ?? targetThreshold(v);
    let shares: Uint8Array[] = [];
    // Offered shares are of the polynomial the published records name, so the asker can check them against their commitments.
    let epoch = epochOf(this.keyring() ?? {});
    if (this.master && this.mode === "recovered") {
      const xs = [...v.shares.values()].filter((s) => s.t === t && epochOf(s) === epoch).map((s) => s.x).sort((a, b) => a - b).slice(0, t);
      shares = xs.map((x) => share(this.master!, nodePoly(epoch), t, x));
    } else {
      const r = v.shares.get(this.d.node);
      if (r) epoch = epochOf(r);
      const own = this.master ? (r && r.t === t ? share(this.master, nodePoly(epoch), t, r.x) : undefined) : await this.ownShare(v);
      if (own) shares = [own];
    }
    if (shares.length === 0) return;
    const payload = new Uint8Array(shares.length * SHARE_BYTES);
    shares.forEach((s, i) => payload.set(s, i * SHARE_BYTES));
    for (const [to, request] of requests) {
      const cur = v.offers.get(to)?.get(this.d.node);
      const tag = `${to}\0${request}\0${t}\0${epoch}\0${this.mode}\0${shares.length}`;
      if (cur && cur.request === request && cur.t === t && epochOf(cur) === epoch && this.offered.has(tag)) continue;
      this.d.state.put(offerKey(to, this.d.node), { type: "offer", request, x: shareIndex(shares[0]!), t, ciphertext: await this.encryptTo(request, payload), ...(epoch ? { epoch } : {}) });
      this.offered.add(tag);
    }
  }

  /** Sealed: ask for shares, and try what came. */
  private async collect(v: HolderView): Promise<void> {
    const kr = this.keyring()!;
    this.request ??= identityFromScalar(Uint8Array.from(randomBytes(32)));
    // Shares combine only within one polynomial: a generation and a threshold.
    const byPoly = new Map<string, { t: number; shares: Map<number, Uint8Array> }>();
    let fromRecovered = false;
    const add = (epoch: number, t: number, s: Uint8Array) => {
      const k = `${epoch}/${t}`;
      let m = byPoly.get(k);
      if (!m) byPoly.set(k, (m = { t, shares: new Map() }));
      m.shares.set(shareIndex(s), s);
    };
    const commitmentOf = (epoch: number, t: number, x: number) => [...v.shares.values()].find((r) => r.t === t && r.x === x && epochOf(r) === epoch)?.commitment;
    const own = await this.ownShare(v);
    const ownRec = v.shares.get(this.d.node);
    if (own && ownRec) add(epochOf(ownRec), ownRec.t, own);
    for (const [from, offer] of v.offers.get(this.d.node) ?? []) {
      if (offer.request !== this.request.recipient) continue;
      const payload = await this.decryptWith(this.request.identity, offer.ciphertext);
      if (!payload || payload.length % SHARE_BYTES !== 0) {
        this.d.emit("secrets.bad_share", `the offer from node ${from} cannot be read`, { from });
        continue;
      }
      for (let i = 0; i < payload.length; i += SHARE_BYTES) {
        const s = payload.subarray(i, i + SHARE_BYTES);
        const c = commitmentOf(epochOf(offer), offer.t, shareIndex(s));
        if (!c || !verifyShare(nodePoly(epochOf(offer)), offer.t, s, c)) {
          this.d.emit("secrets.bad_share", `node ${from} offered share ${shareIndex(s)}, which does not match its commitment: ignored`, { from, x: shareIndex(s) });
          continue;
        }
        add(epochOf(offer), offer.t, Uint8Array.from(s));
      }
      if (v.seals.get(from)?.state === "recovered") fromRecovered = true;
    }
    let best = "";
    for (const { t, shares: m } of byPoly.values()) {
      if (m.size >= t) {
        const r = await combine([...m.values()], t, kr.check);
        if (r.ok) {
          this.unseal(r.master, fromRecovered ? "recovered" : "unsealed", `${t} verified shares (${m.size} offered, ${t} needed)`);
          return;
        }
        best = r.message;
      } else if (!best) best = `${m.size} of ${t} shares: waiting for more share holders to be up`;
    }
    this.reason = best || "no shares yet: waiting for share holders to answer";
  }

  private publishSeal(): void {
    const key = sealKey(this.d.node);
    const want: SealRecord = { type: "seal", state: this.mode, since: this.since, reason: this.reason.slice(0, 500), request: this.master ? null : this.request?.recipient ?? null };
    this.d.state.put(key, want);
  }

  /**
   * New recovery shares (`count`, any `threshold` of them rebuild the key): a
   * new polynomial, so earlier recovery shares stop working.
   */
  makeRecovery(threshold: number, count: number): string[] {
    const m = this.need("make recovery shares");
    if (!Number.isInteger(count) || count < 1 || count > 255) throw new FizzError({ code: "secrets.bad_recovery", message: `recovery shares: count must be 1..255, got ${count}`, status: 400 });
    if (!Number.isInteger(threshold) || threshold < 1 || threshold > count) throw new FizzError({ code: "secrets.bad_recovery", message: `recovery shares: threshold must be 1..${count}, got ${threshold}`, status: 400 });
    const kr = this.keyring()!;
    const id = hex(Uint8Array.from(randomBytes(8)));
    const shares = Array.from({ length: count }, (_, i) => share(m, recoveryPoly(id), threshold, i + 1));
    this.d.state.put(KEYRING_KEY, { ...kr, recovery: { id, threshold, commitments: shares.map((s) => commitment(recoveryPoly(id), threshold, s)) } });
    this.d.emit("secrets.recovery_rekeyed", `new recovery shares (${threshold} of ${count}); earlier ones no longer unseal`);
    return shares.map(encodeRecoveryShare);
  }

  /** One recovery share from an operator (`fizz secret unseal`). */
  async submitRecovery(text: string): Promise<SealStatus> {
    const kr = this.keyring();
    if (!kr?.recovery) throw new FizzError({ code: "secrets.no_recovery", message: "this cluster has no recovery shares (fizz init makes them; fizz secret recovery makes new ones)", status: 409 });
    // Checked the same way whether sealed or not: someone testing their recovery shares on a healthy node is told the truth.
    const already = this.master ? " (this node is unsealed already; the share was only checked)" : "";
    const s = decodeRecoveryShare(text);
    if (!s) throw new FizzError({ code: "secrets.bad_recovery_share", message: `that is not a recovery share (fizzrecovery1…, as fizz init printed it; check for typos)${already}`, status: 400 });
    const x = shareIndex(s);
    const c = kr.recovery.commitments[x - 1];
    if (!c || !verifyShare(recoveryPoly(kr.recovery.id), kr.recovery.threshold, s, c)) {
      throw new FizzError({ code: "secrets.wrong_recovery_share", message: `recovery share ${x} does not match this cluster's record of share ${x}: it is from an older set or another cluster${already}`, status: 400 });
    }
    if (this.master) return { ...this.status(), checked: { share: x, valid: true } };
    this.recoveryShares.set(x, s);
    if (this.recoveryShares.size >= kr.recovery.threshold) {
      const r = await combine([...this.recoveryShares.values()], kr.recovery.threshold, kr.check);
      if (!r.ok) throw new FizzError({ code: "secrets.recovery_failed", message: r.message, status: 400 });
      this.unseal(r.master, "recovered", `${kr.recovery.threshold} recovery shares`);
      this.publishSeal();
    }
    return this.status();
  }
}

