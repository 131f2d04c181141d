import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { loadProject } from "../../../core/compose/load.ts";
import type { Project, Service } from "../../../core/compose/model.ts";
import { projectDocument } from "../../../core/compose/serialize.ts";
import { applyZones, scalingViolation } from "../../../core/compose/xfizz.ts";
import { replicaCount } from "../../../core/compose/query.ts";
import { clusterPlacement, type PlacementNode } from "../../../core/placement/cluster-placement.ts";
import { stringify } from "yaml";

setDefaultTimeout(60_000);

function load(yaml: string) {
  return loadProject({ cwd: "/p", env: {}, reader: { read: (p) => (p === "/p/compose.yaml" ? yaml : undefined) } });
}
function project(yaml: string): Project {
  const r = load(yaml);
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (errors.length) throw new Error(errors.map((d) => `${d.path}: ${d.message}`).join("\n"));
  return r.project!;
}

// The two x-fizz forms in the seed documents (000_…, "Extension Fields"), exactly as written there.
const SEED = `x-fizz:
  placement:
    zone: us-east

services:
  web:
    image: nginx
    x-fizz:
      scaling:
        min: 2
        max: 10
`;

describe("the seed's x-fizz forms", () => {
  test("validate: the zone is accepted; scaling is accepted and named as not honoured yet", () => {
    const r = load(SEED);
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const warnings = r.diagnostics.filter((d) => d.severity === "warning");
    expect(warnings.map((w) => [w.path, w.line, w.code])).toEqual([["services.web.x-fizz.scaling", 10, "compose.unsupported"]]);
    expect(warnings[0]!.message).toContain("'x-fizz.scaling' is not acted on yet (there is no autoscaler)");
    expect(r.project!.services.web!.x_fizz?.scaling).toEqual({ min: 2, max: 10 });
  });

  test("the normalised project carries the zone as a constraint on each service", () => {
    const doc = projectDocument(project(SEED.replace("services:\n", "services:\n  db: {image: mariadb}\n"))) as {
      "x-fizz": unknown;
      services: Record<string, { "x-fizz"?: { placement?: { constraints: string[] } } }>;
    };
    expect(doc["x-fizz"]).toEqual({ placement: { constraints: [], prefer: [], zone: "us-east" } });
    expect(doc.services.web!["x-fizz"]?.placement?.constraints).toEqual(["zone==us-east"]);
    expect(doc.services.db!["x-fizz"]?.placement?.constraints).toEqual(["zone==us-east"]);
  });

  test("the scheduler holds every service to nodes labelled zone=us-east", () => {
    const p = project(SEED.replace("    image: nginx\n", "    image: nginx\n    deploy: {replicas: 4}\n").replace("services:\n", "services:\n  db: {image: mariadb}\n"));
    const GiB = 1024 ** 3;
    const nodes: PlacementNode[] = ["us-east", "eu-1", "us-east", "ap"].map((zone, i) => ({ id: `n${i}`, name: `h${i}`, state: "alive", labels: { zone }, resources: { cpuMillis: 4000, memoryBytes: 8 * GiB } }));
    const cp = clusterPlacement(nodes, [{ id: "shop", project: p, replicas: new Map() }], []);
    for (const s of ["web", "db"]) for (const node of cp.owners("shop", s).values()) expect(["n0", "n2"]).toContain(node);
    expect([...cp.owners("shop", "web").keys()].sort()).toEqual([0, 1, 2, 3]);
    expect([...cp.owners("shop", "db").keys()]).toEqual([0]);
  });
});

describe("zone inheritance: the service's own placement wins", () => {
  const cases: [string, string, string[] | undefined][] = [
    ["inherits the project's zone", "{image: x}", ["zone==us-east"]],
    ["its own zone replaces the project's", "{image: x, x-fizz: {placement: {zone: eu-1}}}", ["zone==eu-1"]],
    ['"*": any zone', '{image: x, x-fizz: {placement: {zone: "*"}}}', undefined],
    ["its own x-fizz constraint on zone", '{image: x, x-fizz: {placement: {constraints: ["zone!=us-east"]}}}', ["zone!=us-east"]],
    ["its deploy constraint on node.labels.zone", '{image: x, deploy: {placement: {constraints: ["node.labels.zone == ap"]}}}', undefined],
    ["other constraints add to the zone", '{image: x, x-fizz: {placement: {constraints: ["disk==ssd"]}}}', ["disk==ssd", "zone==us-east"]],
  ];
  for (const [what, svc, want] of cases) {
    test(what, () => {
      const p = project(`x-fizz: {placement: {zone: us-east}}\nservices:\n  s: ${svc}\n`);
      expect(p.services.s!.x_fizz?.placement?.constraints?.length ? p.services.s!.x_fizz.placement.constraints : undefined).toEqual(want);
    });
  }

  test("a service's zone applies without a project zone; bad zones are errors with file:line", () => {
    expect(project("services:\n  s: {image: x, x-fizz: {placement: {zone: eu-1}}}\n").services.s!.x_fizz?.placement?.constraints).toEqual(["zone==eu-1"]);
    const bad = load('x-fizz:\n  placement:\n    zone: "us east"\nservices:\n  s:\n    image: x\n    x-fizz: {placement: {zone: ""}}\n').diagnostics.filter((d) => d.severity === "error");
    expect(bad.map((d) => [d.path, d.line, d.message])).toEqual([
      ["services.s.x-fizz.placement.zone", 7, 'invalid zone ""'],
      ["x-fizz.placement.zone", 3, 'invalid zone "us east"'],
    ]);
    // "*" is a service's way out; a project-wide "*" means nothing.
    expect(load('x-fizz: {placement: {zone: "*"}}\nservices: {s: {image: x}}\n').diagnostics.some((d) => d.severity === "error" && d.path === "x-fizz.placement.zone")).toBe(true);
  });

  test("fizz config's output loads back to the same constraints", () => {
    const p = project(`x-fizz: {placement: {zone: us-east}}\nservices:\n  a: {image: x}\n  b: {image: x, x-fizz: {placement: {zone: eu-1}}}\n  c: {image: x, x-fizz: {placement: {zone: "*"}}}\n`);
    const again = project(stringify(projectDocument(p)));
    for (const s of ["a", "b", "c"]) expect(again.services[s]!.x_fizz?.placement?.constraints ?? []).toEqual(p.services[s]!.x_fizz?.placement?.constraints ?? []);
  });

  // The rules, over random services: what the service says about zones wins, else the project's zone; nothing else changes.
  const ZONE_CONSTRAINTS = ["zone==eu-2", "zone!=x", "node.labels.zone==a", "Zone == b"];
  const OTHER = ["disk==ssd", "gpu!=no", "node.role==manager", "engine.labels.zone==c"];
  const arbService = fc.record({
    zone: fc.constantFrom(undefined, "*", "eu-1", "us-east"),
    xfizz: fc.subarray([...ZONE_CONSTRAINTS, ...OTHER]),
    deploy: fc.subarray(["node.labels.zone == ap", "node.hostname != h1"]),
  });
  test("property: inheritance rules, only ever one zone constraint added, idempotent", () => {
    fc.assert(
      fc.property(fc.constantFrom(undefined, "us-east", "eu-1"), fc.array(arbService, { maxLength: 6 }), (projectZone, specs) => {
        const services = specs.map(
          (sp, i) =>
            ({
              name: `s${i}`,
              x_fizz: { placement: { constraints: [...sp.xfizz], prefer: [], ...(sp.zone !== undefined ? { zone: sp.zone } : {}) } },
              ...(sp.deploy.length ? { deploy: { placement: { constraints: [...sp.deploy] } } } : {}),
            }) as unknown as Service,
        );
        applyZones(projectZone, services);
        services.forEach((s, i) => {
          const sp = specs[i]!;
          const before = sp.xfizz;
          const after = s.x_fizz!.placement!.constraints;
          const added = after.filter((c) => !before.includes(c));
          expect(after.slice(0, before.length)).toEqual(before); // nothing removed or reordered
          expect(added.length).toBeLessThanOrEqual(1);
          const ownSaysZone = [...sp.xfizz, ...sp.deploy].some((c) => /^(node\.labels\.)?zone\s*[=!]=/i.test(c));
          const want = sp.zone === "*" ? undefined : sp.zone !== undefined ? sp.zone : ownSaysZone ? undefined : projectZone;
          if (want === undefined) expect(added).toEqual([]);
          else expect(after).toContain(`zone==${want}`);
          // Service-level placement wins: the project's zone never joins a service that chose.
          if ((sp.zone !== undefined || ownSaysZone) && projectZone !== sp.zone) expect(added).not.toContain(`zone==${projectZone}`);
        });
        const once = services.map((s) => [...s.x_fizz!.placement!.constraints]);
        applyZones(projectZone, services);
        expect(services.map((s) => s.x_fizz!.placement!.constraints)).toEqual(once);
      }),
      { numRuns: 300 },
    );
  });
});

describe("x-fizz warnings", () => {
  test("update strategies other than rolling are named as not honoured", () => {
    const r = load("services:\n  s:\n    image: x\n    x-fizz:\n      update: {strategy: blue-green}\n");
    expect(r.diagnostics.map((d) => [d.severity, d.path])).toEqual([["warning", "services.s.x-fizz.update.strategy"]]);
    expect(load("services:\n  s:\n    image: x\n    x-fizz:\n      update: {strategy: rolling}\n").diagnostics).toEqual([]);
  });
  test("scaling still validates: both bounds, min ≤ max", () => {
    const errs = (y: string) => load(y).diagnostics.filter((d) => d.severity === "error").map((d) => d.message);
    expect(errs("services:\n  s: {image: x, x-fizz: {scaling: {min: 2}}}\n")).toEqual(["missing required field 'max'"]);
    expect(errs("services:\n  s: {image: x, x-fizz: {scaling: {min: 5, max: 2}}}\n")).toEqual(["scaling.min (5) is above scaling.max (2)"]);
  });
  test("scaling bounds the replica count: a count outside them is an error naming both; without one the service starts at min", () => {
    const errs = (y: string) => load(y).diagnostics.filter((d) => d.severity === "error").map((d) => [d.path, d.line, d.message]);
    expect(errs("services:\n  s:\n    image: x\n    deploy: {replicas: 12}\n    x-fizz: {scaling: {min: 2, max: 10}}\n")).toEqual([
      ["services.s.x-fizz.scaling", 5, "deploy.replicas for service 's' is 12, above its x-fizz.scaling bounds (min 2, max 10)"],
    ]);
    expect(errs("services:\n  s:\n    image: x\n    scale: 1\n    x-fizz: {scaling: {min: 2, max: 10}}\n")).toEqual([
      ["services.s.x-fizz.scaling", 5, "scale for service 's' is 1, below its x-fizz.scaling bounds (min 2, max 10)"],
    ]);
    expect(errs("services:\n  s:\n    image: x\n    deploy: {replicas: 10}\n    x-fizz: {scaling: {min: 2, max: 10}}\n")).toEqual([]);
    const p = project("services:\n  a: {image: x, x-fizz: {scaling: {min: 3, max: 10}}}\n  b: {image: x, x-fizz: {scaling: {min: 0, max: 4}}}\n  c: {image: x}\n");
    expect([replicaCount(p.services.a!), replicaCount(p.services.b!), replicaCount(p.services.c!)]).toEqual([3, 1, 1]);
  });
  test("scalingViolation (fizz scale, up --scale) names both bounds, and accepts the bounds themselves", () => {
    fc.assert(
      fc.property(fc.nat(50), fc.nat(50), fc.nat(120), (a, b, n) => {
        const [min, max] = a <= b ? [a, b] : [b, a];
        const bad = scalingViolation({ name: "web", x_fizz: { scaling: { min, max } } }, n, "fizz scale");
        if (n >= min && n <= max) return bad === undefined;
        return bad !== undefined && bad.message.includes(`min ${min}, max ${max}`) && bad.message.startsWith(`fizz scale for service 'web' is ${n}, ${n < min ? "below" : "above"}`);
      }),
    );
    expect(scalingViolation({ name: "web", x_fizz: undefined }, 1000)).toBeUndefined();
  });
});
