import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { canonicalJson, serviceConfigHash } from "../../../core/compose/hash.ts";
import { loadProject } from "../../../core/compose/load.ts";

// Property runs and corpus loads are CPU-bound; the shared test machine can be slow.
setDefaultTimeout(60_000);

function project(text: string) {
  const r = loadProject({ cwd: "/p", env: {}, reader: { read: (p) => (p === "/p/compose.yaml" ? text : undefined) } });
  expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
  return r.project!;
}

describe("serviceConfigHash", () => {
  test("same meaning, same hash: short and long syntax, key order, env list or map", () => {
    const a = project("services:\n  web:\n    image: nginx\n    ports: ['8080:80']\n    environment: [A=1, B=2]\n");
    const b = project("services:\n  web:\n    environment: {B: '2', A: '1'}\n    ports:\n      - {target: 80, published: 8080}\n    image: nginx\n");
    expect(serviceConfigHash(a, "web")).toBe(serviceConfigHash(b, "web"));
    expect(serviceConfigHash(a, "web")).toMatch(/^[0-9a-f]{64}$/);
  });
  test("replica count is excluded; everything else counts", () => {
    const base = "services:\n  web:\n    image: nginx\n";
    const h = serviceConfigHash(project(base), "web");
    expect(serviceConfigHash(project(base + "    deploy: {replicas: 4}\n"), "web")).toBe(h);
    expect(serviceConfigHash(project(base + "    scale: 3\n"), "web")).toBe(h);
    expect(serviceConfigHash(project(base + "    environment: {A: '1'}\n"), "web")).not.toBe(h);
    expect(serviceConfigHash(project("services:\n  web:\n    image: nginx:2\n"), "web")).not.toBe(h);
  });
  test("unknown service is a programming error", () => {
    expect(() => serviceConfigHash(project("services:\n  web:\n    image: nginx\n"), "nope")).toThrow();
  });
  test("canonicalJson ignores key order and undefined", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (o) => {
        const reversed = Object.fromEntries(Object.entries(o).reverse());
        expect(canonicalJson({ ...reversed, extra: undefined })).toBe(canonicalJson(o));
      }),
    );
  });
});
