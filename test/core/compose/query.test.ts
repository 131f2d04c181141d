import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { loadProject } from "../../../core/compose/load.ts";
import { profilesEnabling, replicasOf, startOrder } from "../../../core/compose/query.ts";

// Property runs and corpus loads are CPU-bound; the shared test machine can be slow.
setDefaultTimeout(60_000);

function project(text: string) {
  return loadProject({ cwd: "/p", env: {}, reader: { read: (p) => (p === "/p/compose.yaml" ? text : undefined) } }).project!;
}

describe("replicasOf", () => {
  test("deploy.replicas, scale, default 1, global", () => {
    const p = project("services:\n  a: {image: x, deploy: {replicas: 3}}\n  b: {image: x, scale: 2}\n  c: {image: x}\n  d: {image: x, deploy: {mode: global}}\n");
    expect([replicasOf(p.services.a!), replicasOf(p.services.b!), replicasOf(p.services.c!), replicasOf(p.services.d!)]).toEqual([3, 2, 1, "global"]);
  });
});

describe("startOrder", () => {
  test("dependencies start first, independent services share a level", () => {
    const p = project(
      "services:\n  web: {image: x, depends_on: [api, cache]}\n  api: {image: x, depends_on: {db: {condition: service_healthy}}}\n  db: {image: x}\n  cache: {image: x}\n  side: {image: x, volumes_from: [web]}\n",
    );
    expect(startOrder(p)).toEqual([["cache", "db"], ["api"], ["web"], ["side"]]);
  });
  test("random DAGs: every service appears once, after all of its dependencies", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.array(fc.tuple(fc.nat(11), fc.nat(11)), { maxLength: 30 }), (n, edges) => {
        const deps: string[][] = Array.from({ length: n }, () => []);
        for (const [a, b] of edges) if (a < n && b < n && a > b) deps[a]!.push(`s${b}`); // only to lower index: acyclic
        const text = "services:\n" + deps.map((d, i) => `  s${i}:\n    image: x\n    depends_on: [${[...new Set(d)].join(", ")}]\n`).join("");
        const levels = startOrder(project(text));
        const pos = new Map<string, number>();
        levels.forEach((l, i) => l.forEach((s) => pos.set(s, i)));
        expect(pos.size).toBe(n);
        expect(levels.flat().length).toBe(n);
        deps.forEach((d, i) => d.forEach((dep) => expect(pos.get(dep)!).toBeLessThan(pos.get(`s${i}`)!)));
      }),
    );
  });
});

describe("profilesEnabling (config web / up web with web in an inactive profile)", () => {
  test("the active profiles plus those of the named disabled services; undefined when nothing is disabled", () => {
    const text = "services:\n  a: {image: x}\n  web: {image: x, profiles: [front, ui]}\n  job: {image: x, profiles: [batch]}\n";
    const p = project(text);
    expect(profilesEnabling(p, ["web"])).toEqual(["front", "ui"]);
    expect(profilesEnabling(p, ["a", "nope"])).toBeUndefined();
    const withBatch = loadProject({ cwd: "/p", env: {}, profiles: ["batch"], reader: { read: (f) => (f === "/p/compose.yaml" ? text : undefined) } }).project!;
    expect(profilesEnabling(withBatch, ["web", "job"])).toEqual(["batch", "front", "ui"]);
  });
});
