import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { containerKey, deltaScope, emptyState, mergeDeltas, putDeployment, recordContainer, touchesAny, PER_DEPLOYMENT, type ClusterDelta, type Collection } from "../../../core/state/index.ts";
import { at, ok } from "./spec.ts";

describe("deltaScope", () => {
  test("names the collections touched and the deployments their keys start with", () => {
    const delta = {
      containers: { [containerKey("shop", "web", 0, "n1")]: {}, [containerKey("blog", "db", 2, "n2")]: {} },
      applied: { "shop/n1": {} },
      services: { "shop/web": {} },
      deployments: { blog: {} },
      ips: {},
    } as unknown as ClusterDelta;
    const s = deltaScope(delta);
    expect([...s.collections].sort()).toEqual(["applied", "containers", "deployments", "services"]);
    expect([...s.deployments].sort()).toEqual(["blog", "shop"]);
  });

  test("keys of other collections name no deployment", () => {
    const s = deltaScope({ nodes: { n1: {} }, registry: { "h/sha256:ab/n1": {} } } as unknown as ClusterDelta);
    expect(s.collections).toEqual(["nodes", "registry"]);
    expect(s.deployments).toEqual([]);
    expect(touchesAny(s, new Set<Collection>(["registry"]))).toBe(true);
    expect(touchesAny(s, new Set<Collection>(["containers", "ips"]))).toBe(false);
    expect(touchesAny(undefined, new Set<Collection>(["ips"]))).toBe(true);
  });

  test("a real mutation's delta: every deployment whose records it carries is named", () => {
    const id = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
    fc.assert(
      fc.property(fc.array(fc.record({ dep: id, svc: id, index: fc.nat(20), node: fc.constantFrom("n1", "n2") }), { minLength: 1, maxLength: 6 }), (rows) => {
        let state = emptyState();
        let delta: ClusterDelta = {};
        let ts = 0;
        for (const r of rows) {
          const a = ok(putDeployment(state, at(++ts), r.dep, r.dep, {}));
          const b = ok(recordContainer(a.state, at(++ts), { deploymentId: r.dep, service: r.svc, index: r.index, nodeId: r.node, status: "running", containerId: null, health: "none" }));
          state = b.state;
          delta = mergeDeltas(mergeDeltas(delta, a.delta), b.delta);
        }
        const s = deltaScope(delta);
        expect(new Set(s.deployments)).toEqual(new Set(rows.map((r) => r.dep)));
        expect(s.collections.every((c) => PER_DEPLOYMENT.has(c))).toBe(true);
      }),
      { numRuns: 50 },
    );
  });
});
