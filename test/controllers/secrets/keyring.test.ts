/**
 * The unseal protocol (controllers/secrets/keyring.ts over core/secrets/quorum.ts)
 * with five nodes sharing one record map, as a cluster with instant gossip:
 * the first node makes the key, the others get shares and unseal by offers;
 * with 2 of 5 down the rest stay unsealed; with 3 down the last two seal, and
 * recovery shares unseal them; a whole-cluster restart unseals by itself; a
 * wrong recovery share is named.
 */
import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { jsAead } from "../../../core/secrets/aead-js.ts";
import { decryptAge } from "../../../core/secrets/age.ts";
import { combine, verifyShare } from "../../../core/secrets/shamir.ts";
import { nodePoly } from "../../../core/secrets/quorum.ts";
import { identityFromScalar } from "../../../core/secrets/keys.ts";
import type { SecretsRecord } from "../../../core/state/index.ts";
import { KeyHolder } from "../../../controllers/secrets/keyring.ts";
import type { SecretsRecords } from "../../../controllers/secrets/state.ts";

class Shared implements SecretsRecords {
  readonly m = new Map<string, SecretsRecord>();
  get(k: string) {
    return this.m.get(k);
  }
  list(prefix = "") {
    return [...this.m.entries()].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1));
  }
  put(k: string, r: SecretsRecord) {
    this.m.set(k, structuredClone(r));
  }
  delete(k: string) {
    this.m.delete(k);
  }
  putAll(entries: readonly (readonly [string, SecretsRecord | null])[]) {
    for (const [k, r] of entries) if (r) this.put(k, r);
    else this.delete(k);
  }
}

const NODES = ["n1", "n2", "n3", "n4", "n5"];

function cluster() {
  const state = new Shared();
  const alive = new Set(NODES);
  const left = new Set<string>();
  const ids = new Map(NODES.map((n) => [n, identityFromScalar(Uint8Array.from(randomBytes(32)))]));
  const events: string[] = [];
  const make = (n: string) =>
    new KeyHolder({ node: n, state, identity: ids.get(n)!, aead: jsAead, now: () => 0, alive: () => alive, left: () => left, mayCreate: () => n === "n1" && !state.get("keyring"), emit: (t, m) => events.push(`${n} ${t}: ${m}`) });
  const holders = new Map(NODES.map((n) => [n, make(n)]));
  const rounds = async (k = 4) => {
    for (let i = 0; i < k; i++) for (const n of NODES) if (alive.has(n)) await holders.get(n)!.pass();
  };
  const modes = () => NODES.filter((n) => alive.has(n)).map((n) => `${n}:${holders.get(n)!.sealMode}`).join(" ");
  return { state, alive, left, ids, holders, rounds, modes, events, restart: (n: string) => holders.set(n, make(n)) };
}

describe("unseal protocol over shared records", () => {
  test("5 nodes: key made once, shares minted (3 of 5), everyone unseals; 2 down keeps it; 3 down seals; recovery unseals", async () => {
    const c = cluster();
    await c.holders.get("n1")!.pass();
    const recovery = c.holders.get("n1")!.makeRecovery(3, 5);
    await c.rounds();
    expect(c.modes()).toBe("n1:unsealed n2:unsealed n3:unsealed n4:unsealed n5:unsealed");
    const shares = c.state.list("share/").map(([, r]) => r as Extract<SecretsRecord, { type: "share" }>);
    expect(shares.map((s) => s.t)).toEqual([3, 3, 3, 3, 3]);
    expect(new Set(shares.map((s) => s.x)).size).toBe(5);
    // Nothing on the wire or in the records is a share in the clear.
    expect(JSON.stringify([...c.state.m.values()])).not.toMatch(/"share":\s*\[/);

    // Unseal on a node that is unsealed already checks the share (it was taken as working whatever it was).
    const n1 = c.holders.get("n1")!;
    const ok = await n1.submitRecovery(recovery[2]!);
    expect(ok.state).toBe("unsealed");
    expect(ok.checked).toEqual({ share: 3, valid: true });
    expect(ok.recovery).toEqual({ have: 0, need: 3 });
    await expect(n1.submitRecovery("garbage")).rejects.toThrow("that is not a recovery share");
    await expect(n1.submitRecovery(recovery[2]!.slice(0, -3) + (recovery[2]!.endsWith("q") ? "ppp" : "qqq"))).rejects.toMatchObject({ status: 400 });

    c.alive.delete("n1");
    c.alive.delete("n2");
    await c.rounds();
    expect(c.modes()).toBe("n3:unsealed n4:unsealed n5:unsealed");

    c.alive.delete("n3");
    await c.rounds();
    expect(c.modes()).toBe("n4:sealed n5:sealed");
    expect(c.holders.get("n4")!.status().reason).toContain("2 of 3 shares");

    // A wrong recovery share is named; the right ones unseal n4, and n5 follows through n4's offer.
    const other = cluster();
    await other.holders.get("n1")!.pass();
    const foreign = other.holders.get("n1")!.makeRecovery(3, 5);
    await expect(c.holders.get("n4")!.submitRecovery(foreign[1]!)).rejects.toThrow("recovery share 2 does not match");
    await c.holders.get("n4")!.submitRecovery(recovery[0]!);
    const mid = await c.holders.get("n4")!.submitRecovery(recovery[3]!);
    expect(mid.recovery).toEqual({ have: 2, need: 3 });
    await c.holders.get("n4")!.submitRecovery(recovery[4]!);
    expect(c.holders.get("n4")!.sealMode).toBe("recovered");
    await c.rounds();
    expect(c.modes()).toBe("n4:recovered n5:recovered");

    // Quorum back: normal unsealed again.
    for (const n of ["n1", "n2", "n3"]) {
      c.alive.add(n);
      c.restart(n);
    }
    await c.rounds(6);
    expect(c.modes()).toBe("n1:unsealed n2:unsealed n3:unsealed n4:unsealed n5:unsealed");
  });

  test("the whole cluster restarts: every node unseals from the others' shares", async () => {
    const c = cluster();
    await c.rounds();
    expect(c.modes()).toBe("n1:unsealed n2:unsealed n3:unsealed n4:unsealed n5:unsealed");
    for (const n of NODES) c.restart(n);
    expect(c.modes()).toBe("n1:sealed n2:sealed n3:sealed n4:sealed n5:sealed");
    await c.rounds(4);
    expect(c.modes()).toBe("n1:unsealed n2:unsealed n3:unsealed n4:unsealed n5:unsealed");
  });

  test("a holder leaves: its records go, the key is split again, its old share no longer combines with anyone's", async () => {
    const c = cluster();
    await c.rounds();
    expect(c.modes()).toBe("n1:unsealed n2:unsealed n3:unsealed n4:unsealed n5:unsealed");
    type Share = Extract<SecretsRecord, { type: "share" }>;
    const open = async (n: string) => {
      const r = c.state.get(`share/${n}`) as Share;
      const d = await decryptAge(Uint8Array.from(Buffer.from(r.ciphertext, "base64")), [c.ids.get(n)!.identity], jsAead);
      if (!d.ok) throw new Error(d.message);
      return { share: d.plaintext, rec: r };
    };
    const check = (c.state.get("keyring") as Extract<SecretsRecord, { type: "keyring" }>).check;
    const before = await Promise.all(["n5", "n1", "n2"].map(open));
    // Before the leave, n5's share and two others rebuild the key (so the test below can fail).
    expect((await combine(before.map((b) => b.share), 3, check)).ok).toBe(true);

    c.alive.delete("n5");
    c.left.add("n5");
    await c.rounds();
    expect(c.modes()).toBe("n1:unsealed n2:unsealed n3:unsealed n4:unsealed");
    // n5's records are gone; the keyring is at generation 1; four shares of it, 3 of 4.
    expect(c.state.list().filter(([k]) => k.endsWith("/n5") || k.includes("/n5/"))).toEqual([]);
    expect((c.state.get("keyring") as { epoch?: number }).epoch).toBe(1);
    const after = await Promise.all(["n1", "n2", "n3", "n4"].map(open));
    expect(after.map((a) => [a.rec.t, a.rec.epoch])).toEqual([[3, 1], [3, 1], [3, 1], [3, 1]]);
    for (const a of after) expect(verifyShare(nodePoly(1), 3, a.share, a.rec.commitment)).toBe(true);
    expect((await combine(after.slice(0, 3).map((a) => a.share), 3, check)).ok).toBe(true);
    // The leaver's share: with two current ones it rebuilds no key, and it matches no current commitment.
    const old = before[0]!.share;
    expect((await combine([old, after[1]!.share, after[2]!.share], 3, check)).ok).toBe(false);
    for (const a of after) expect(verifyShare(nodePoly(1), 3, old, a.rec.commitment)).toBe(false);
    expect(c.events.filter((e) => e.includes("secrets.shares_resplit"))).toEqual([expect.stringContaining("share holder n5 left the cluster")]);

    // The four still seal below 3 and unseal from the new shares after a whole restart.
    c.alive.delete("n4");
    c.alive.delete("n3");
    await c.rounds();
    expect(c.modes()).toBe("n1:sealed n2:sealed");
    for (const n of ["n1", "n2", "n3", "n4"]) {
      c.alive.add(n);
      c.restart(n);
    }
    await c.rounds(4);
    expect(c.modes()).toBe("n1:unsealed n2:unsealed n3:unsealed n4:unsealed");
    expect((c.state.get("keyring") as { epoch?: number }).epoch).toBe(1);
  });

  test("the leaver's own passes during its leave linger revoke nothing: the nodes that stay re-split and say so", async () => {
    const c = cluster();
    await c.rounds();
    // fizz leave: the leaver marks its own row "left" and keeps running (gossiping the news) for a while.
    c.left.add("n5");
    await c.holders.get("n5")!.pass();
    await c.holders.get("n5")!.pass();
    expect(c.events.filter((e) => e.includes("secrets.shares_resplit"))).toEqual([]);
    expect((c.state.get("keyring") as { epoch?: number }).epoch).toBeUndefined();
    c.alive.delete("n5");
    await c.rounds();
    const resplit = c.events.filter((e) => e.includes("secrets.shares_resplit"));
    expect(resplit.length).toBeGreaterThan(0);
    expect(resplit.every((e) => !e.startsWith("n5 ") && e.includes("share holder n5 left the cluster"))).toBe(true);
    expect((c.state.get("keyring") as { epoch?: number }).epoch).toBe(1);
    expect(c.modes()).toBe("n1:unsealed n2:unsealed n3:unsealed n4:unsealed");
  });

  test("a tampered share offer is named and ignored", async () => {
    const c = cluster();
    await c.rounds();
    for (const n of NODES) c.restart(n);
    // n2's share record now claims another commitment: its offers fail verification.
    const rec = c.state.get("share/n2") as Extract<SecretsRecord, { type: "share" }>;
    c.state.put("share/n2", { ...rec, commitment: "00".repeat(32) });
    await c.rounds(4);
    expect(c.events.some((e) => e.includes("does not match its commitment"))).toBe(true);
    // the other four still make a quorum
    expect(c.modes().split(" ").filter((m) => m.endsWith(":unsealed")).length).toBeGreaterThanOrEqual(4);
  });
});
