/**
 * The reconciler's address hook (controllers/mesh/addresses.ts) against a
 * replica of the cluster state: claims are written in one change and the
 * deployment comes back shaped with them; a second pass writes nothing and
 * keeps every address; a replica that cannot have its address (a taken
 * ipv4_address) fails the whole pass with nothing written, naming the
 * replica and the fix.
 */
import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import { desiredProject } from "../../../core/deploy/desired.ts";
import type { Hlc } from "../../../core/crdt/index.ts";
import { FizzError } from "../../../core/errors.ts";
import { defaultIpamConfig } from "../../../core/net/ipam-config.ts";
import { applyDelta, emptyState, type ClusterDelta, type ClusterState } from "../../../core/state/index.ts";
import { shapeForMesh } from "../../../controllers/mesh/addresses.ts";
import type { ClusterAgent } from "../../../controllers/cluster/membership.ts";

const cfg = defaultIpamConfig();

/** The part of a cluster node the hook uses: its state, members (itself alone) and mutate (applied locally, counted). */
function replica() {
  let state: ClusterState = emptyState();
  let wall = 1_000;
  const node = {
    writes: 0,
    get state() {
      return state;
    },
    members: () => [{ id: "a", state: "alive", self: true }],
    mutate(fn: (s: ClusterState, ts: Hlc) => { delta: ClusterDelta } | undefined) {
      const r = fn(state, { wall: wall++, logical: 0, node: "a" });
      if (r) {
        state = applyDelta(state, r.delta);
        node.writes++;
      }
      return r;
    },
  };
  return { node, membership: { current: node } as unknown as ClusterAgent };
}

function desired(text: string, share: Record<string, number[]>) {
  const r = loadProject({ cwd: "/p", projectName: "shop", env: {}, reader: { read: (p) => (p === "/p/compose.yaml" ? text : undefined) } });
  if (!r.project) throw new Error(JSON.stringify(r.diagnostics));
  return desiredProject(r.project, { share: Object.fromEntries(Object.entries(share).map(([k, v]) => [k, { numbers: v }])) }).desired;
}

const NONE = { containers: [], networks: [] };

describe("shapeForMesh", () => {
  test("claims in one change, replicas shaped with them; the next pass writes nothing and keeps them", () => {
    const { node, membership } = replica();
    const d = desired("services:\n  web:\n    image: busybox\n    deploy: { replicas: 2 }\n  db:\n    image: busybox\n", { web: [1, 2], db: [1] });
    const first = shapeForMesh(membership, cfg, "a", 1340, "shop", d, NONE);
    expect(first.claimed).toBe(true);
    expect(node.writes).toBe(1);
    const addrs = (s: typeof first) => s.desired.services.flatMap((svc) => Object.values(svc.addresses ?? {}).flatMap((m) => Object.values(m)));
    const got = addrs(first);
    expect(got.length).toBe(3);
    expect(new Set(got).size).toBe(3);
    for (const a of got) expect(a).toMatch(/^10\./);

    const again = shapeForMesh(membership, cfg, "a", 1340, "shop", d, NONE);
    expect(again.claimed).toBe(false);
    expect(node.writes).toBe(1);
    expect(addrs(again)).toEqual(got);
  });

  test("an ipv4_address outside the network's subnet fails the pass, names the replica and writes nothing", () => {
    const { node, membership } = replica();
    const d = desired(
      "services:\n  web:\n    image: busybox\n  db:\n    image: busybox\n    networks: { back: { ipv4_address: 10.41.0.9 } }\nnetworks:\n  back:\n    ipam: { config: [{ subnet: 10.40.0.0/24 }] }\n",
      { web: [1], db: [1] },
    );
    let err: unknown;
    try {
      shapeForMesh(membership, cfg, "a", 1340, "shop", d, NONE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FizzError);
    expect((err as FizzError).message).toContain("db (replica 1) on network back");
    expect((err as FizzError).message).toContain("nothing was changed");
    expect(node.writes).toBe(0);
    expect(Object.keys(node.state.ips).length).toBe(0);
  });
});
