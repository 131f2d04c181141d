import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  allocateIp,
  applyDelta,
  decodeDelta,
  decodeState,
  deleteDeployment,
  deleteSecretsRecord,
  emptyState,
  encodeDelta,
  encodeState,
  getDeployment,
  getReplicas,
  getSecretsRecord,
  ipOwner,
  ipsOf,
  listContainers,
  listDeployments,
  mergeDeltas,
  mergeState,
  putDeployment,
  putNode,
  putSecretsRecord,
  putSecretsRecords,
  recordContainer,
  releaseIp,
  removeContainer,
  replicaHolders,
  servicesOf,
  setNodeState,
  setReplicas,
  type ClusterState,
} from "../../../core/state/index.ts";
import { at, applyOp, clusterSpec, key, ok, opArb } from "./spec.ts";
import { RUNS, simulate, steps, triple } from "../crdt/harness.ts";

describe("ClusterState is a CRDT", () => {
  test("merge is commutative, associative, idempotent", () => {
    fc.assert(
      fc.property(triple(clusterSpec), ([a, b, c]) => {
        expect(key(mergeState(a, b))).toBe(key(mergeState(b, a)));
        expect(key(mergeState(mergeState(a, b), c))).toBe(key(mergeState(a, mergeState(b, c))));
        expect(key(mergeState(a, a))).toBe(key(a));
      }),
      RUNS,
    );
  });

  test("deltas delivered in random order with duplication and loss converge", () => {
    fc.assert(
      fc.property(steps(opArb, 60), fc.array(fc.nat(), { maxLength: 40 }), (plan, order) => {
        const { replicas, all } = simulate(clusterSpec, plan, order);
        for (const r of replicas) expect(key(r)).toBe(key(all));
      }),
      RUNS,
    );
  });

  test("batched deltas (mergeDeltas) apply like the sequence", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 30 }), (ops) => {
        let s = emptyState();
        let batch = {};
        ops.forEach((op, i) => {
          const r = applyOp(s, op, 0, i);
          s = r.state;
          batch = mergeDeltas(batch, r.delta);
        });
        expect(key(applyDelta(emptyState(), batch))).toBe(key(s));
      }),
      RUNS,
    );
  });
});

describe("ClusterState semantics", () => {
  test("deployments: versions, created kept, delete cascades to service scales, redeploy resurrects", () => {
    let s = ok(putDeployment(emptyState(), at(1), "shop", "shop", { services: {} })).state;
    s = ok(setReplicas(s, at(2), "shop", "web", 3)).state;
    s = ok(putDeployment(s, at(3), "shop", "shop", { services: { web: {} } })).state;
    const d = getDeployment(s, "shop")!;
    expect(d.version).toBe(2);
    expect(d.created < d.updated).toBe(true);
    expect(servicesOf(s, "shop")).toEqual([["web", 3]]);
    s = deleteDeployment(s, at(4), "shop").state;
    expect(getDeployment(s, "shop")).toBeUndefined();
    expect(getReplicas(s, "shop", "web")).toBeUndefined();
    s = ok(putDeployment(s, at(5), "shop", "shop", {})).state;
    expect(listDeployments(s).map(([k]) => k)).toEqual(["shop"]);
    expect(putDeployment(s, at(6), "bad/id", "p", {}).ok).toBe(false);
    expect(setReplicas(s, at(6), "shop", "web", -1).ok).toBe(false);
  });

  test("duplicates after a partition are visible, one row per node", () => {
    const base = ok(putDeployment(emptyState(), at(1), "app", "app", {})).state;
    const rec = (nodeId: string) => ({ deploymentId: "app", service: "web", index: 0, nodeId, status: "running" as const, containerId: null, health: "none" as const });
    const left = ok(recordContainer(base, at(2, "a"), rec("a"))).state;
    const right = ok(recordContainer(base, at(2, "b"), rec("b"))).state;
    const healed = mergeState(left, right);
    expect(replicaHolders(healed, "app", "web", 0).map((c) => c.nodeId)).toEqual(["a", "b"]);
    const cleaned = removeContainer(healed, at(3, "b"), "app", "web", 0, "b").state;
    expect(listContainers(cleaned, "app").map((c) => c.nodeId)).toEqual(["a"]);
  });

  test("IP conflicts: the lowest HLC wins everywhere, the loser cannot release, re-allocation moves to a new epoch", () => {
    fc.assert(
      fc.property(fc.nat(100), fc.nat(100), (wa, wb) => {
        const ta = at(wa, "a");
        const tb = at(wb, "b");
        const a = ok(allocateIp(emptyState(), ta, "10.1.0.5", "a"));
        const b = ok(allocateIp(emptyState(), tb, "10.1.0.5", "b"));
        const ab = mergeState(a.state, b.state);
        const ba = mergeState(b.state, a.state);
        const winner = wa < wb || (wa === wb && "a" < "b") ? "a" : "b";
        expect(ipOwner(ab, "10.1.0.5")).toBe(winner);
        expect(ipOwner(ba, "10.1.0.5")).toBe(winner);
        const loser = winner === "a" ? "b" : "a";
        expect(ipsOf(ab, loser)).toEqual([]);
        expect(releaseIp(ab, "10.1.0.5", loser).ok).toBe(false);
        // A stale losing claim arriving later changes nothing.
        expect(ipOwner(mergeState(ab, (loser === "a" ? a : b).state), "10.1.0.5")).toBe(winner);
        const rel = ok(releaseIp(ab, "10.1.0.5", winner));
        expect(ipOwner(rel.state, "10.1.0.5")).toBeUndefined();
        const again = ok(allocateIp(rel.state, at(500, loser), "10.1.0.5", loser));
        expect(ipOwner(mergeState(again.state, ab), "10.1.0.5")).toBe(loser);
        expect(allocateIp(again.state, at(600, "c"), "10.1.0.5", "c").ok).toBe(false);
      }),
      RUNS,
    );
  });

  test("several secrets records in one delta: a replica gets all of them or none", () => {
    const ver = { type: "version" as const, ciphertext: "AAEC" };
    const meta = { type: "secret" as const, kind: "secret" as const, current: 2, versions: [{ v: 2, created: 1, size: 3, by: "a", id: "0123456789abcdef" }], project: null, grants: [], labels: {}, created: 1 };
    let s = putSecretsRecord(emptyState(), at(1), "version/db@1", ver).state;
    const c = putSecretsRecords(s, at(2), [["version/db@2.0123456789abcdef", ver], ["secret/db", meta], ["version/db@1", null]]);
    expect(Object.keys(c.delta.secrets ?? {}).sort()).toEqual(["secret/db", "version/db@1", "version/db@2.0123456789abcdef"]);
    s = c.state;
    expect(getSecretsRecord(s, "secret/db")).toEqual(meta);
    expect(getSecretsRecord(s, "version/db@1")).toBeUndefined();
    const d = decodeState(encodeState(s));
    expect(d.ok && getSecretsRecord(d.value, "secret/db")).toEqual(meta);
  });

  test("secrets keep their bytes; nodes change state", () => {
    const bytes = Uint8Array.from([0, 1, 2, 250, 255, 7, 8]);
    const rec = { type: "version" as const, ciphertext: Buffer.from(bytes).toString("base64") };
    let s = putSecretsRecord(emptyState(), at(1), "version/app/secret/db_password@1", rec).state;
    expect(getSecretsRecord(s, "version/app/secret/db_password@1")).toEqual(rec);
    s = deleteSecretsRecord(s, at(2), "version/app/secret/db_password@1").state;
    expect(getSecretsRecord(s, "version/app/secret/db_password@1")).toBeUndefined();
    s = putNode(s, at(3), "n1", { name: "n1", address: "10.0.0.1:7946", labels: { zone: "a" }, resources: { cpuMillis: 2000, memoryBytes: 1 << 30 }, state: "alive" }).state;
    s = setNodeState(s, at(4), "n1", "suspect")!.state;
    expect(s.nodes["n1"]!.value?.state).toBe("suspect");
    expect(setNodeState(s, at(5), "nope", "dead")).toBeUndefined();
  });
});

describe("state codec", () => {
  test("encode/decode round-trips states and deltas", () => {
    fc.assert(
      fc.property(triple(clusterSpec), ([a]) => {
        const d = decodeState(encodeState(a));
        expect(d.ok && key(d.value)).toBe(key(a));
        const dd = decodeDelta(encodeDelta({ containers: a.containers, ips: a.ips }));
        expect(dd.ok && Object.keys(dd.value).sort()).toEqual(["containers", "ips"]);
      }),
      RUNS,
    );
  });

  test("random and corrupted input gives a typed error, never a throw", () => {
    const valid = new TextDecoder().decode(encodeState(applyOp(applyOp(emptyState(), { k: "container", id: "d1", svc: "web", idx: 1, status: "running" }, 0, 1).state, { k: "ip", addr: "10.0.0.1" }, 0, 2).state));
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue().map((j) => JSON.stringify(j) ?? "null"), fc.tuple(fc.nat(), fc.string({ maxLength: 4 })).map(([p, x]) => valid.slice(0, p % valid.length) + x + valid.slice((p % valid.length) + 1))), (input) => {
        for (const r of [decodeState(input), decodeDelta(input)]) if (!r.ok) expect(r.error.code).toBe("crdt.decode");
      }),
      { numRuns: 1000 },
    );
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => { const r = decodeState(b); if (!r.ok) expect(r.error.code).toBe("crdt.decode"); }), RUNS);
  });

  test("forged rows are rejected: container body not matching its key, bad keys, wrong version", () => {
    const row = { ts: "000000000001-0000-a", value: { deploymentId: "d", service: "web", index: 0, nodeId: "evil", status: "running", containerId: null, health: "none" } };
    expect(decodeState(JSON.stringify({ v: 1, containers: { "d/web/0/a": row } })).ok).toBe(false);
    expect(decodeState(JSON.stringify({ v: 1, containers: { "d/web/0/evil": row } })).ok).toBe(true);
    expect(decodeState(`{"v":1,"containers":{"__proto__":${JSON.stringify(row)}}}`).ok).toBe(false);
    expect(decodeState(JSON.stringify({ v: 2 })).ok).toBe(false);
    expect(decodeState(JSON.stringify({ v: 1, ips: { "not an ip": { epoch: 0, owner: "x", ts: "000000000001-0000-a", released: false } } })).ok).toBe(false);
    // secrets keys name their record type; an unknown key or a mismatched type is refused
    expect(decodeState('{"v":1,"secrets":{"__proto__":{"ts":"000000000001-0000-a","value":{"type":"version","ciphertext":"AAEC"}}}}').ok).toBe(false);
    expect(decodeState('{"v":1,"secrets":{"version/a@1":{"ts":"000000000001-0000-a","value":{"type":"version","ciphertext":"AAEC"}}}}').ok).toBe(true);
    expect(decodeState('{"v":1,"secrets":{"secret/a":{"ts":"000000000001-0000-a","value":{"type":"version","ciphertext":"AAEC"}}}}').ok).toBe(false);
    // a version written with an id (concurrent rotations keep their own records): 16 hex digits, nothing else
    expect(decodeState('{"v":1,"secrets":{"version/a@2.0123456789abcdef":{"ts":"000000000001-0000-a","value":{"type":"version","ciphertext":"AAEC"}}}}').ok).toBe(true);
    expect(decodeState('{"v":1,"secrets":{"version/a@2.0123":{"ts":"000000000001-0000-a","value":{"type":"version","ciphertext":"AAEC"}}}}').ok).toBe(false);
    expect(({} as Record<string, unknown>).ciphertext).toBeUndefined();
  });
});
