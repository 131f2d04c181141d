/**
 * Five ClusterNodes in one process on 127.0.0.1 … 127.0.0.5 with short SWIM
 * timings: join, state convergence (small deltas by gossip, big ones by
 * push-pull fan-out), crash detection, restart from persisted state, wrong
 * key / wrong cluster / unreachable seed, a partition that heals, and leave.
 * Times are printed for the report, never asserted beyond generous bounds.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { getDeployment, getNode, putDeployment, type ClusterDelta } from "../../../core/state/index.ts";
import { createServer } from "node:net";
import { isFizzError } from "../../../core/errors.ts";
import type { ClusterNode } from "../../../platform/cluster/index.ts";
import { FAST_SWIM, ring, startNode, stateOf, until } from "./support.ts";

const IDS = ["n1", "n2", "n3", "n4", "n5"] as const;
const nodes = new Map<string, ClusterNode>();
const persisted = new Map<string, Uint8Array>();
const changes = new Map<string, ClusterDelta[]>();
const extra: ClusterNode[] = [];

function live(): ClusterNode[] {
  return [...nodes.values()];
}

async function boot(id: string, i: number, initialState?: Uint8Array, bind?: string): Promise<ClusterNode> {
  const n = await startNode(id, {
    host: `127.0.0.${i + 1}`,
    ...(bind ? { bind } : {}),
    ...(initialState ? { initialState } : {}),
    persist: (b) => persisted.set(id, b),
    persistDebounceMs: 50,
    onStateChange: (d) => (changes.get(id) ?? changes.set(id, []).get(id)!).push(d),
  });
  nodes.set(id, n);
  return n;
}

function allAlive(ns: ClusterNode[], count: number): boolean {
  return ns.every((n) => n.members().filter((m) => m.state === "alive").length === count);
}

beforeAll(async () => {
  for (const [i, id] of IDS.entries()) await boot(id, i);
  const seed = nodes.get("n1")!.address;
  await Promise.all(live().slice(1).map((n) => n.join([seed])));
  const ms = await until(() => allAlive(live(), 5), 5000, "5 alive members everywhere");
  console.log(`[cluster] 5 nodes see each other alive ${ms.toFixed(0)} ms after the joins returned`);
});

afterAll(async () => {
  await Promise.all([...live(), ...extra].map((n) => n.stop()));
});

describe("ClusterNode: five nodes on loopback", () => {
  test("every node writes its own row; members carry address, meta and RTT", async () => {
    await until(() => live().every((n) => IDS.every((id) => getNode(n.state, id)?.state === "alive")), 3000, "5 node rows");
    const n1 = nodes.get("n1")!;
    const m2 = n1.members().find((m) => m.id === "n2")!;
    expect(m2.address).toBe(nodes.get("n2")!.address);
    expect(m2.address.startsWith("127.0.0.2:")).toBe(true);
    expect(m2.meta).toEqual({ name: "n2", labels: { zone: "test" }, resources: { cpuMillis: 2000, memoryBytes: 4 * 2 ** 30 }, ports: {} });
    expect(getNode(n1.state, "n3")).toMatchObject({ name: "n3", address: nodes.get("n3")!.address, labels: { zone: "test" }, state: "alive" });
    await until(() => n1.members().some((m) => !m.self && m.rttMs !== undefined), 3000, "an RTT sample");
    const rtt = n1.members().find((m) => !m.self && m.rttMs !== undefined)!.rttMs!;
    expect(rtt).toBeGreaterThanOrEqual(0);
    expect(n1.members().find((m) => m.self)?.rttMs).toBeUndefined();
  });

  test("a deployment put on one node is on all others within 2 s (small: gossip; big: push-pull fan-out)", async () => {
    const n1 = nodes.get("n1")!;
    const t0 = performance.now();
    const r = n1.mutate((s, ts) => putDeployment(s, ts, "web", "web", { services: { web: { image: "nginx" } } }));
    expect(r.ok).toBe(true);
    const small = await until(() => live().every((n) => getDeployment(n.state, "web") !== undefined), 2000, "small deployment everywhere");
    console.log(`[cluster] small deployment on 5 nodes in ${small.toFixed(0)} ms (${(performance.now() - t0).toFixed(0)} ms incl. mutate)`);
    expect(nodes.get("n4")!.counters().gossip.delivered).toBeGreaterThan(0);

    // 4.5 KB of compose-like JSON deflates to ~0.5 KB: still one gossip packet.
    const bigSpec = { services: Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`svc${i}`, { image: `registry.example/team/service-${i}:1.2.3`, env: { I: String(i) } }])) };
    const n3 = nodes.get("n3")!;
    const before = n3.counters().gossip;
    n3.mutate((s, ts) => putDeployment(s, ts, "big", "big", bigSpec));
    const big = await until(() => live().every((n) => getDeployment(n.state, "big") !== undefined), 2000, "big deployment everywhere");
    console.log(`[cluster] ${JSON.stringify(bigSpec).length}-byte deployment (deflated gossip) on 5 nodes in ${big.toFixed(0)} ms`);
    expect(n3.counters().gossip.broadcasts).toBe(before.broadcasts + 1);
    expect(n3.counters().gossip.tooBigForPacket).toBe(before.tooBigForPacket);
    expect(getDeployment(nodes.get("n5")!.state, "big")?.spec).toEqual(bigSpec);

    // 6 KB that does not compress: pushed to a few peers by push-pull, who push on.
    let x = 0x9e3779b9;
    const noise = Array.from({ length: 6000 }, () => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return String.fromCharCode(48 + ((x >>> 0) % 74));
    }).join("").replaceAll("\\", "x");
    const n2 = nodes.get("n2")!;
    const fan = n2.counters().gossip.tooBigForPacket;
    n2.mutate((s, ts) => putDeployment(s, ts, "noisy", "noisy", { blob: noise }));
    const noisy = await until(() => live().every((n) => getDeployment(n.state, "noisy") !== undefined), 2000, "incompressible deployment everywhere");
    console.log(`[cluster] 6 KB incompressible deployment (push-pull fan-out) on 5 nodes in ${noisy.toFixed(0)} ms`);
    expect(n2.counters().gossip.tooBigForPacket).toBe(fan + 1);
    expect(live().reduce((a, n) => a + n.counters().gossip.fanoutPushPulls, 0)).toBeGreaterThan(0);
    // onStateChange saw it, and the debounced persist wrote it.
    expect(changes.get("n5")!.some((d) => d.deployments?.["big"] !== undefined)).toBe(true);
    await until(() => persisted.get("n5") !== undefined && new TextDecoder().decode(persisted.get("n5")!).includes('"big"'), 2000, "persisted state");
  });

  test("idle traffic: UDP packets per second per node", async () => {
    const before = live().map((n) => n.counters().udp.sent);
    await new Promise((r) => setTimeout(r, 2000));
    const rates = live().map((n, i) => (n.counters().udp.sent - before[i]!) / 2);
    console.log(`[cluster] idle UDP packets sent/s per node with probe ${FAST_SWIM.probeIntervalMs} ms, gossip ${FAST_SWIM.gossipIntervalMs} ms: ${rates.map((r) => r.toFixed(1)).join(", ")}`);
    expect(rates.every((r) => r > 0)).toBe(true);
  });

  test("a crashed node is marked dead (members and state), restarts from its persisted state and is alive again", async () => {
    const n5 = nodes.get("n5")!;
    const addr5 = n5.address;
    const saved = persisted.get("n5")!;
    await n5.stop(); // no leave: peers see a crash
    nodes.delete("n5");
    const t0 = performance.now();
    const others = live();
    const detect = await until(() => others.every((n) => stateOf(n, "n5") === "dead"), 10_000, "n5 dead everywhere");
    console.log(`[cluster] crash of n5 detected by all 4 in ${detect.toFixed(0)} ms`);
    await until(() => others.every((n) => getNode(n.state, "n5")?.state === "dead"), 3000, "n5 row dead everywhere");
    expect(performance.now() - t0).toBeLessThan(13_000);

    // Same id, same address, the state it persisted: it has the data before it even joins.
    const again = await boot("n5", 4, saved, addr5);
    expect(getDeployment(again.state, "big")).toBeDefined();
    // A seed that never answers does not hold up the join through a good one.
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const tj = performance.now();
    expect(await again.join([`127.0.0.1:${(silent.address() as { port: number }).port}`, nodes.get("n2")!.address], 8000)).toEqual({ via: nodes.get("n2")!.address });
    expect(performance.now() - tj).toBeLessThan(4000);
    silent.close();
    const back = await until(() => live().every((n) => stateOf(n, "n5") === "alive") && allAlive(live(), 5), 5000, "n5 alive again everywhere");
    console.log(`[cluster] restarted n5 alive everywhere ${back.toFixed(0)} ms after join`);
    await until(() => live().every((n) => getNode(n.state, "n5")?.state === "alive"), 3000, "n5 row alive again everywhere");
    expect(again.incarnation).toBeGreaterThan(0); // it refuted its own death
  });

  test("wrong key, wrong cluster and an unreachable seed give precise errors", async () => {
    const seed = nodes.get("n1")!.address;
    const intruder = await startNode("intruder", { host: "127.0.0.1", keyring: ring(9) });
    extra.push(intruder);
    const t0 = performance.now();
    let err: unknown;
    await intruder.join([seed], 5000).catch((e) => (err = e));
    expect(isFizzError(err) && err.code).toBe("cluster.wrong_key");
    expect((err as Error).message).toContain("wrong cluster key");
    expect((err as Error).message).toContain(seed);
    expect(performance.now() - t0).toBeLessThan(4000); // refused at once, not after the timeout
    expect(nodes.get("n1")!.members().some((m) => m.id === "intruder")).toBe(false);

    const stranger = await startNode("stranger", { host: "127.0.0.1", clusterId: new Uint8Array(16).fill(8) });
    extra.push(stranger);
    err = undefined;
    await stranger.join([seed], 5000).catch((e) => (err = e));
    expect(isFizzError(err) && err.code).toBe("cluster.wrong_cluster");

    const lonely = await startNode("lonely", { host: "127.0.0.1" });
    extra.push(lonely);
    err = undefined;
    const t1 = performance.now();
    await lonely.join(["127.0.0.1:9"], 1200).catch((e) => (err = e));
    expect(isFizzError(err) && err.code).toBe("cluster.join_failed");
    expect((err as Error).message).toContain("127.0.0.1:9");
    expect(performance.now() - t1).toBeLessThan(5000);

    // A seed that accepts TCP and never answers: bounded by the join timeout, not the 5 s handshake limit.
    const silent = createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    const port = (silent.address() as { port: number }).port;
    err = undefined;
    const t2 = performance.now();
    await lonely.join([`127.0.0.1:${port}`], 1000).catch((e) => (err = e));
    const took = performance.now() - t2;
    silent.close();
    expect(isFizzError(err) && err.code).toBe("cluster.join_failed");
    expect((err as Error).message).toContain("did not complete the join exchange");
    expect(took).toBeLessThan(4000);

    let bad: unknown;
    await startNode("no spaces allowed", { host: "127.0.0.1" }).catch((e) => (bad = e));
    expect(isFizzError(bad) && bad.code).toBe("cluster.invalid_node_id");
  });

  test("a partition: each side marks the other dead and writes on; after healing, members and state converge", async () => {
    const sideA = ["n1", "n2"].map((id) => nodes.get(id)!);
    const sideB = ["n3", "n4", "n5"].map((id) => nodes.get(id)!);
    const addrsA = new Set(sideA.map((n) => n.address));
    const addrsB = new Set(sideB.map((n) => n.address));
    for (const n of sideA) n.setLinkFilter((peer) => !addrsB.has(peer));
    for (const n of sideB) n.setLinkFilter((peer) => !addrsA.has(peer));
    await until(() => sideA.every((n) => stateOf(n, "n3") === "dead") && sideB.every((n) => stateOf(n, "n1") === "dead"), 10_000, "sides see each other dead");
    sideA[0]!.mutate((s, ts) => putDeployment(s, ts, "left-side", "p", { v: 1 }));
    sideB[0]!.mutate((s, ts) => putDeployment(s, ts, "right-side", "p", { v: 2 }));
    await until(() => sideB.every((n) => getDeployment(n.state, "right-side") !== undefined), 2000, "right side write on its side");
    expect(sideB.some((n) => getDeployment(n.state, "left-side") !== undefined)).toBe(false);

    for (const n of live()) n.setLinkFilter(undefined);
    const healed = await until(
      () => allAlive(live(), 5) && live().every((n) => getDeployment(n.state, "left-side") !== undefined && getDeployment(n.state, "right-side") !== undefined),
      10_000,
      "healed: all alive and both writes everywhere",
    );
    console.log(`[cluster] partition healed: members and state converged in ${healed.toFixed(0)} ms`);
    await until(() => live().every((n) => IDS.every((id) => getNode(n.state, id)?.state === "alive")), 5000, "all node rows alive after heal");
  });

  test("a node that leaves is 'left' in members and in the state", async () => {
    const n4 = nodes.get("n4")!;
    await n4.leave();
    await n4.stop();
    nodes.delete("n4");
    await until(() => live().every((n) => stateOf(n, "n4") === "left"), 5000, "n4 left everywhere");
    await until(() => live().every((n) => getNode(n.state, "n4")?.state === "left"), 3000, "n4 row left everywhere");

    // Coming back after a leave, with the same id and its persisted state: alive again, row rewritten.
    const back = await boot("n4", 3, persisted.get("n4"));
    await back.join([nodes.get("n1")!.address]);
    await until(() => live().every((n) => stateOf(n, "n4") === "alive") && live().every((n) => getNode(n.state, "n4")?.state === "alive"), 5000, "n4 back and alive");
  });

  test("a stopped node refuses further use with a clear error", async () => {
    const n = await startNode("stopper", { host: "127.0.0.1" });
    await n.stop();
    let err: unknown;
    try {
      n.mutate((s, ts) => putDeployment(s, ts, "x", "x", {}));
    } catch (e) {
      err = e;
    }
    expect(isFizzError(err) && err.code).toBe("cluster.stopped");
    await n.stop(); // idempotent
  });
});
