/**
 * Mesh plans follow membership within one dissemination round. In the
 * simulator (the real core/swim state machine, simulated network), every
 * node computes core/net's meshPlan from its own membership view after each
 * step; we measure when the last node's plan holds the new peer (a join) or
 * the new key (a returning node whose key changed). The bound is one
 * dissemination round: SWIM retransmits a broadcast retransmitLimit(N) times,
 * one gossip interval apart, so that is how long news is still spreading.
 */
import { describe, expect, test } from "bun:test";
import { retransmitLimit, type NodeMeta, type SwimNode } from "../../core/swim/index.ts";
import { meshMetaFields, readMeshMeta, type MeshMeta } from "../../core/net/mesh-meta.ts";
import { meshPlan, type MeshMember } from "../../core/net/mesh-plan.ts";
import { resolveClaims } from "../../core/net/claims.ts";
import { defaultIpamConfig } from "../../core/net/ipam-config.ts";
import { Simulation, simSeed } from "./sim.ts";

const seed = simSeed(20_261_203);
const R = "FIZZ_SIM_SEED={seed} bun test test/sim/mesh-plan.test.ts";
const claims = resolveClaims(Object.create(null), defaultIpamConfig());

function keyFor(i: number, gen: number): string {
  // A valid-looking base64 WireGuard key per node and generation (43 chars + "=", last char from the allowed set).
  const body = `k${gen}n${i}`.padEnd(42, "A").slice(0, 42);
  return `${body}A=`;
}

function metaFor(i: number, gen: number): NodeMeta {
  const m: MeshMeta = { driver: "wireguard", impl: "wireguard-go", publicKey: keyFor(i, gen), port: 51820, underlayMtu: 1500 };
  const f = meshMetaFields(m);
  return { labels: { zone: "sim", ...f.labels }, resources: { cpuMilli: 0, memoryMb: 0 }, ports: f.ports };
}

function planOf(swim: SwimNode, selfId: string) {
  const members: MeshMember[] = [...swim.memberViews()].map((v) => {
    const r = readMeshMeta(v.meta.labels, v.meta.ports);
    return { id: v.id, state: v.state, address: v.addr.replace(/^sim:/, "10.0.0.") + ":7946", meta: r.ok ? r.value : undefined };
  });
  return meshPlan(selfId, "wireguard", 1500, members, claims);
}

/**
 * Virtual ms until every live node's view of member `id` satisfies `seen`
 * (checked every 10 ms), or Infinity after `limitMs`; then every node's full
 * plan is computed once and must satisfy `complete`.
 */
function timeUntil(sim: Simulation, id: string, seen: (meta: NodeMeta | undefined, nodeIndex: number) => boolean, complete: (plan: ReturnType<typeof planOf>, nodeIndex: number) => boolean, limitMs: number): number {
  const start = sim.now;
  const pending = new Set(sim.nodes.filter((n) => !n.crashed).map((n) => n.index));
  let took = Infinity;
  while (sim.now - start <= limitMs) {
    for (const i of [...pending]) {
      const v = sim.nodes[i]!.swim.member(id);
      if (seen(v && (v.state === "alive" || v.state === "suspect") ? v.meta : undefined, i)) pending.delete(i);
    }
    if (pending.size === 0) {
      took = sim.now - start;
      break;
    }
    sim.run(sim.now + 10);
  }
  if (took === Infinity) return took;
  for (const n of sim.nodes) if (!n.crashed) expect(complete(planOf(n.swim, n.id), n.index)).toBe(true);
  return took;
}

function round(sim: Simulation, n: number): number {
  return retransmitLimit(sim.config, n) * sim.config.gossipIntervalMs;
}

describe("mesh plan follows membership", () => {
  // N = 50 grows the cluster one join at a time; N = 500 starts 499 nodes that know each other
  // (growing it join by join would cost minutes of CPU) and one outside that joins through n0.
  for (const N of [50, 500]) {
    test(`N = ${N}: a joining node is a complete peer (key, endpoint) on every node within one dissemination round`, () => {
      const joiner = N - 1;
      let sim: Simulation;
      if (N <= 50) {
        sim = new Simulation({ seed, nodes: N, bootstrap: "none", replay: R, meta: (i) => metaFor(i, 0) });
        for (let i = 1; i < N - 1; i++) {
          sim.join(i, [i % 3 === 0 ? 0 : i - 1]);
          sim.run(sim.now + 200);
        }
        sim.run(sim.now + 20_000);
      } else {
        sim = new Simulation({ seed, nodes: N, outside: [joiner], replay: R, meta: (i) => metaFor(i, 0) });
        sim.run(3_000);
      }
      // Nobody has the joiner yet: what follows is its join, not a bootstrap.
      for (const n of sim.nodes) if (n.index !== joiner) expect(planOf(n.swim, n.id).peers.some((p) => p.id === `n${joiner}`)).toBe(false);
      sim.join(joiner, [0]);
      const bound = round(sim, N);
      const took = timeUntil(
        sim,
        `n${joiner}`,
        (m, i) => (i === joiner ? [...sim.nodes[joiner]!.swim.memberViews()].filter((v) => v.state === "alive").length >= N : m?.labels["io.fizz.mesh.key"] === keyFor(joiner, 0)),
        (p, i) => (i === joiner ? p.peers.length === N - 1 : p.peers.some((x) => x.id === `n${joiner}` && x.publicKey === keyFor(joiner, 0) && x.endpoint === `10.0.0.${joiner}:51820`)),
        bound,
      );
      console.log(`N=${N} join: every plan complete after ${took} ms (bound ${bound} ms)`);
      expect(took).toBeLessThanOrEqual(bound);
    }, 120_000);
  }

  for (const N of [50, 500]) {
    test(`N = ${N}: a returning node's new key replaces the old one in every plan within one dissemination round`, () => {
      const sim = new Simulation({ seed, nodes: N, replay: R, meta: (i) => metaFor(i, 0) });
      sim.run(3_000);
      const x = 7;
      sim.nodes[x]!.swim.updateMeta(metaFor(x, 1), sim.now);
      const bound = round(sim, N);
      const took = timeUntil(
        sim,
        `n${x}`,
        (m, i) => i === x || m?.labels["io.fizz.mesh.key"] === keyFor(x, 1),
        (p, i) => i === x || p.peers.some((q) => q.id === `n${x}` && q.publicKey === keyFor(x, 1)),
        bound,
      );
      console.log(`N=${N} key change: every plan updated after ${took} ms (bound ${bound} ms)`);
      expect(took).toBeLessThanOrEqual(bound);
    }, 120_000);
  }

  test("a dead member's peer is removed from every plan", () => {
    const N = 30;
    const sim = new Simulation({ seed, nodes: N, replay: R, meta: (i) => metaFor(i, 0) });
    sim.run(3_000);
    sim.crash(4);
    const took = timeUntil(sim, "n4", (m) => m === undefined, (p) => !p.peers.some((q) => q.id === "n4"), 60_000);
    expect(took).toBeLessThan(Infinity);
  }, 60_000);
});
