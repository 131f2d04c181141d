// Which deployments the ingress controller cares about, and which peers'
// changes can move its plan (core/ingress/routed.ts).
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { loadProject, type Project } from "../../../core/compose/index.ts";
import { buildRouteTable } from "../../../core/ingress/routes.ts";
import { deltaConcernsIngress, routedDeployments } from "../../../core/ingress/routed.ts";
import { COLLECTIONS, type Collection } from "../../../core/state/cluster-state.ts";
import type { DeltaScope } from "../../../core/state/delta-scope.ts";

function project(name: string, yaml: string): Project {
  const r = loadProject({ cwd: `/w/${name}`, projectName: name, env: {}, reader: { read: (f) => (f === `/w/${name}/compose.yaml` ? yaml : undefined) } });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.project!;
}

const deployments = [
  { id: "shop", created: "1", project: project("shop", `services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n  worker:\n    image: busybox\n`) },
  { id: "blog", created: "2", project: project("blog", `services:\n  web:\n    image: nginx\n    x-fizz:\n      ingress: [{host: blog.example.com, target: 80}]\n`) },
  { id: "batch", created: "3", project: project("batch", `services:\n  job:\n    image: busybox\n    network_mode: bridge\n`) },
  { id: "late", created: "4", project: project("late", `services:\n  web:\n    image: nginx\n    ports: ["8080:80"]\n`) },
  { id: "local", created: "5", project: project("local", `services:\n  web:\n    image: nginx\n    ports: [{target: 22, published: "2222", mode: host}]\n`) },
];

describe("routed deployments", () => {
  test("a published port or an HTTP route makes a deployment routed, a refused one too; no route, or a host-mode port only, does not", () => {
    const t = buildRouteTable(deployments, true);
    expect(t.conflicts.map((c) => c.refused.service.deployment)).toEqual(["late"]);
    expect([...routedDeployments(t)].sort()).toEqual(["blog", "late", "shop"]);
  });
});

describe("a peer's change and the ingress plan", () => {
  const routed = new Set(["shop"]);
  const scope = (collections: Collection[], ds: string[] = []): DeltaScope => ({ collections, deployments: ds, ips: [] });

  test("container records of a deployment without routes do not concern it; a routed one's do", () => {
    expect(deltaConcernsIngress(scope(["containers"], ["batch"]), routed)).toBe(false);
    expect(deltaConcernsIngress(scope(["containers", "applied"], ["batch"]), routed)).toBe(false);
    expect(deltaConcernsIngress(scope(["containers"], ["batch", "shop"]), routed)).toBe(true);
  });

  test("specs, drain marks, certificates and nodes always concern it; so does an unknown scope", () => {
    for (const c of ["deployments", "ingress", "nodes"] as const) expect(deltaConcernsIngress(scope([c], ["batch"]), routed)).toBe(true);
    expect(deltaConcernsIngress(undefined, new Set())).toBe(true);
  });

  test("property: a change naming a routed deployment's containers, or touching specs/ingress/nodes, is never skipped", () => {
    const names = ["shop", "blog", "batch", "x"];
    fc.assert(
      fc.property(fc.subarray([...COLLECTIONS]), fc.subarray(names), fc.subarray(names), (collections, ds, r) => {
        const routedSet = new Set(r);
        const must = collections.some((c) => c === "deployments" || c === "ingress" || c === "nodes") || (collections.includes("containers") && ds.some((d) => routedSet.has(d)));
        const got = deltaConcernsIngress({ collections, deployments: ds, ips: [] }, routedSet);
        if (must) expect(got).toBe(true);
        if (!collections.includes("containers")) expect(got).toBe(must);
      }),
    );
  });
});
