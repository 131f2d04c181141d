/**
 * Concurrent `fizz secret rotate` on two nodes (controllers/secrets/catalog.ts)
 * over real LWW replicas of the secrets collection, each with its own hybrid
 * clock, exchanging deltas in any order: no node ever sees metadata whose
 * current version has no ciphertext, or a ciphertext that is not the value
 * the metadata describes (size, writer); once every delta is delivered both
 * nodes hold the same records, one rotation won everywhere, and the loser
 * dropped its value and said which node won.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { randomBytes } from "node:crypto";
import { Catalog } from "../../../controllers/secrets/catalog.ts";
import type { KeyHolder } from "../../../controllers/secrets/keyring.ts";
import type { SecretsRecords } from "../../../controllers/secrets/state.ts";
import { jsAead } from "../../../core/secrets/aead-js.ts";
import { MasterKey } from "../../../core/secrets/keys.ts";
import { HlcClock } from "../../../core/crdt/index.ts";
import {
  ClusterReplica,
  deleteSecretsRecord,
  getSecretsRecord,
  listSecretsRecords,
  putSecretsRecord,
  putSecretsRecords,
  type Change,
  type ClusterDelta,
  type ClusterState,
  type SecretMetaRecord,
  type SecretsRecord,
} from "../../../core/state/index.ts";
import type { Hlc } from "../../../core/crdt/index.ts";

/** One node's replica of the collection: local writes stamped by its clock, each write one delta in its outbox. */
class Replica implements SecretsRecords {
  readonly r = new ClusterReplica();
  readonly clock: HlcClock;
  readonly outbox: ClusterDelta[] = [];
  constructor(
    readonly node: string,
    private readonly wall: () => number,
  ) {
    this.clock = new HlcClock(node);
  }
  get(k: string) {
    return getSecretsRecord(this.r.view, k);
  }
  list(prefix = "") {
    return listSecretsRecords(this.r.view, prefix);
  }
  private write(f: (s: ClusterState, ts: Hlc) => Change) {
    const c = this.r.mutate((s) => f(s, this.clock.now(this.wall())));
    this.outbox.push(c.delta);
  }
  put(k: string, rec: SecretsRecord) {
    this.write((s, ts) => putSecretsRecord(s, ts, k, rec));
  }
  delete(k: string) {
    if (this.get(k)) this.write((s, ts) => deleteSecretsRecord(s, ts, k));
  }
  putAll(entries: readonly (readonly [string, SecretsRecord | null])[]) {
    this.write((s, ts) => putSecretsRecords(s, ts, entries));
  }
  receive(d: ClusterDelta) {
    for (const e of Object.values((d.secrets ?? {}) as Record<string, { ts: string }>)) this.clock.receiveString(e.ts as never, this.wall());
    this.r.apply(d);
  }
}

const master = new MasterKey(Uint8Array.from(randomBytes(32)));
const keys = { need: () => master, key: master } as unknown as KeyHolder;
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bytes = (s: string) => new TextEncoder().encode(s);

function node(name: string, wall: () => number) {
  const state = new Replica(name, wall);
  const events: { type: string; message: string; data?: Record<string, unknown> }[] = [];
  const catalog = new Catalog({
    node: name,
    state,
    keys,
    aead: jsAead,
    now: wall,
    maxBytes: 1 << 20,
    usedBy: () => [],
    emit: (type, message, data) => events.push({ type, message, ...(data ? { data } : {}) }),
  });
  return { name, state, catalog, events };
}
type Node = ReturnType<typeof node>;

/** Deliver everything in a's outbox to b (and clear it). */
function flush(a: Node, b: Node) {
  for (const d of a.state.outbox.splice(0)) b.state.receive(d);
}

/** What a reader on `n` sees must be whole: the current version's ciphertext is there and is the value the metadata describes. */
async function whole(n: Node, values: ReadonlyMap<string, string>): Promise<void> {
  const m = n.state.get("secret/db_pw") as SecretMetaRecord | undefined;
  if (!m) return;
  const cur = m.versions.find((x) => x.v === m.current)!;
  const v = text(await n.catalog.value("db_pw"));
  expect(values.has(v)).toBe(true);
  expect(v.length).toBe(cur.size);
  expect(v.startsWith(`${cur.by}-`)).toBe(true);
}

const records = (n: Node) => JSON.stringify(n.state.list());

describe("concurrent rotations of one secret on two nodes", () => {
  test("both rotate from version 1 before seeing each other: one winner everywhere, the loser drops its value and names the winner", async () => {
    let t = 1_000;
    const wall = () => t;
    const a = node("node-a", wall);
    const b = node("node-b", wall);
    await a.catalog.create("db_pw", bytes("node-a-first"));
    flush(a, b);
    t += 10;
    const [ra, rb] = await Promise.all([a.catalog.rotate("db_pw", bytes("node-a-rotated")), b.catalog.rotate("db_pw", bytes("node-b-rotated-longer"))]);
    // Each answers with its own version 2; neither has seen the other yet.
    expect([ra.version, rb.version]).toEqual([2, 2]);
    expect(text(await a.catalog.value("db_pw"))).toBe("node-a-rotated");
    expect(text(await b.catalog.value("db_pw"))).toBe("node-b-rotated-longer");
    flush(a, b);
    flush(b, a);
    // Same records on both, one winner: the later write (node-b's clock reading is the same wall, node id breaks the tie).
    expect(records(a)).toBe(records(b));
    const va = text(await a.catalog.value("db_pw"));
    expect(va).toBe(text(await b.catalog.value("db_pw")));
    const meta = a.state.get("secret/db_pw") as SecretMetaRecord;
    const winner = meta.versions[0]!.by;
    expect(va).toBe(winner === "node-a" ? "node-a-rotated" : "node-b-rotated-longer");
    expect(meta.versions[0]!.size).toBe(va.length);
    expect(meta.versions.map((x) => x.v)).toEqual([2, 1]);
    // The loser's ciphertext is still there until it settles.
    expect(a.state.list("version/db_pw@").length).toBe(3);
    a.catalog.settle();
    b.catalog.settle();
    flush(a, b);
    flush(b, a);
    expect(records(a)).toBe(records(b));
    expect(a.state.list("version/db_pw@").length).toBe(2);
    const loser = winner === "node-a" ? b : a;
    const lost = [...a.events, ...b.events].filter((e) => e.type === "secret.rotation_lost");
    expect(lost.length).toBe(1);
    expect(loser.events).toContainEqual(expect.objectContaining({ type: "secret.rotation_lost", data: { secret: "db_pw", version: 2, winner } }));
    expect(lost[0]!.message).toContain(`on node ${winner}`);
    // The next rotation anywhere follows the winner.
    const r3 = await loser.catalog.rotate("db_pw", bytes(`${loser.name}-third`));
    expect(r3.version).toBe(3);
  });

  test("any interleaving of rotations, deliveries and settling: never a half-applied state, and all converge to one value", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.constant("rotA" as const), fc.constant("rotB" as const), fc.constant("a>b" as const), fc.constant("b>a" as const), fc.constant("settle" as const), fc.constant("tick" as const)), { minLength: 1, maxLength: 25 }),
        async (ops) => {
          let t = 5_000;
          const wall = () => t;
          const a = node("node-a", wall);
          const b = node("node-b", wall);
          const values = new Map<string, string>();
          await a.catalog.create("db_pw", bytes("node-a-0"));
          values.set("node-a-0", "node-a-0");
          flush(a, b);
          let i = 0;
          for (const op of ops) {
            i++;
            if (op === "rotA" || op === "rotB") {
              const n = op === "rotA" ? a : b;
              const v = `${n.name}-${i}`;
              values.set(v, v);
              await n.catalog.rotate("db_pw", bytes(v));
            } else if (op === "a>b") {
              // one delta at a time: a reader may look between any two
              const d = a.state.outbox.shift();
              if (d) b.state.receive(d);
            } else if (op === "b>a") {
              const d = b.state.outbox.shift();
              if (d) a.state.receive(d);
            } else if (op === "settle") {
              a.catalog.settle();
              b.catalog.settle();
            } else t += 7;
            await whole(a, values);
            await whole(b, values);
          }
          for (let k = 0; k < 3; k++) {
            flush(a, b);
            flush(b, a);
            a.catalog.settle();
            b.catalog.settle();
          }
          expect(records(a)).toBe(records(b));
          expect(text(await a.catalog.value("db_pw"))).toBe(text(await b.catalog.value("db_pw")));
          // Every version record left is one the metadata names (no lost rotation's value stays).
          const m = a.state.get("secret/db_pw") as SecretMetaRecord;
          const named = new Set(m.versions.map((x) => `version/db_pw@${x.v}.${x.id}`));
          expect(a.state.list("version/db_pw@").map(([k]) => k).filter((k) => !named.has(k))).toEqual([]);
          for (const x of m.versions) expect(a.state.get(`version/db_pw@${x.v}.${x.id}`)).toBeDefined();
        },
      ),
      { numRuns: 60, seed: 1403 },
    );
  });
});
