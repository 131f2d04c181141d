import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import type { Project } from "../../../core/compose/model.ts";
import { enableTargets, mergeTargets, withDependencies } from "../../../core/deploy/targets.ts";

function load(text: string): Project {
  const r = loadProject({ cwd: "/p", projectName: "shop", env: {}, reader: { read: (p) => (p === "/p/compose.yaml" ? text : undefined) } });
  if (!r.project) throw new Error(JSON.stringify(r.diagnostics));
  return r.project;
}

const FILE = `
services:
  db: { image: "db:1" }
  cache: { image: "cache:1" }
  api: { image: "api:2", depends_on: [db], links: [cache] }
  web: { image: "web:2", depends_on: { api: { condition: service_started } }, networks: [front] }
  debug: { image: "dbg:1", profiles: [debug], depends_on: [helper] }
  helper: { image: "helper:1", profiles: [debug] }
networks:
  front: {}
`;

describe("up with named services", () => {
  test("dependencies are followed through depends_on and links, transitively; --no-deps takes the targets alone", () => {
    const p = load(FILE);
    expect(withDependencies(p, ["web"], false)).toEqual(["api", "cache", "db", "web"]);
    expect(withDependencies(p, ["web"], true)).toEqual(["web"]);
    expect(withDependencies(p, ["db", "db"], false)).toEqual(["db"]);
  });

  test("a target disabled by its profiles is enabled with the disabled services it depends on", () => {
    const p = enableTargets(load(FILE), ["debug"]);
    expect(Object.keys(p.services).sort()).toEqual(["api", "cache", "db", "debug", "helper", "web"]);
    expect(p.disabled_services).toEqual({});
    expect(Object.keys(enableTargets(load(FILE), ["web"]).disabled_services).sort()).toEqual(["debug", "helper"]);
  });

  test("the stored services stay unless chosen; top-level definitions are the union with the file's winning", () => {
    const stored = load("services:\n  web: { image: \"web:1\" }\n  old: { image: \"old:1\", networks: [back] }\nnetworks:\n  back: {}\n");
    const m = mergeTargets(stored, load(FILE), ["web"]);
    expect(Object.fromEntries(Object.entries(m.services).map(([k, s]) => [k, s.image]))).toEqual({ web: "web:2", old: "old:1" });
    expect(Object.keys(m.networks).sort()).toEqual(["back", "default", "front"]);
    // --remove-orphans: a service the file no longer defines goes.
    expect(Object.keys(mergeTargets(stored, load(FILE), ["web"], { removeOrphans: true }).services)).toEqual(["web"]);
    // A new deployment: the chosen services only.
    expect(Object.keys(mergeTargets(undefined, load(FILE), ["db", "api", "cache"]).services).sort()).toEqual(["api", "cache", "db"]);
  });
});
