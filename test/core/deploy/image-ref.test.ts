import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { imageRefProblem } from "../../../core/deploy/image-ref.ts";
import { loadProject } from "../../../core/compose/load.ts";

describe("image references", () => {
  test("accepts what engines accept", () => {
    for (const ok of [
      "busybox",
      "busybox:1",
      "fizz-test/busybox:1",
      "library/nginx:1.27-alpine",
      "ghcr.io/org/app:v1.2.3",
      "localhost:5000/app",
      "registry.example.com:443/a/b/c:latest",
      "UPPER.example.com/app:1",
      "[::1]:5000/app:1",
      "app@sha256:" + "a".repeat(64),
      "app:1@sha256:" + "0".repeat(64),
      "a__b/c--d/e.f_g",
    ]) expect([ok, imageRefProblem(ok)]).toEqual([ok, undefined]);
  });

  test("refuses what engines refuse, saying why", () => {
    expect(imageRefProblem("UPPER/Case:1")).toContain("lower-case");
    expect(imageRefProblem("Busybox")).toContain("lower-case");
    expect(imageRefProblem("")).toBe("it is empty");
    expect(imageRefProblem("a b")).toContain("white space");
    expect(imageRefProblem("app:")).toContain("tag");
    expect(imageRefProblem("app:-x")).toContain("tag");
    expect(imageRefProblem("app@sha256:xyz")).toContain("digest");
    expect(imageRefProblem("a//b")).toContain("empty path");
    expect(imageRefProblem("a/")).toContain("empty path");
    expect(imageRefProblem("-a")).toContain("repository name");
    expect(imageRefProblem("x".repeat(300))).toContain("over 255");
  });

  test("property: never throws; a problem is a sentence", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (s) => {
        const p = imageRefProblem(s);
        return p === undefined || (typeof p === "string" && p.length > 0);
      }),
      { numRuns: 2000, seed: 16 },
    );
  });

  test("fizz validate refuses a replica count over the limit, with file:line (18.2)", () => {
    const text = "services:\n  b:\n    image: busybox\n    deploy:\n      replicas: 100000\n  c:\n    image: busybox\n    scale: 1001\n";
    const r = loadProject({ files: ["/p/compose.yaml"], cwd: "/p", env: {}, reader: { read: (p) => (p === "/p/compose.yaml" ? text : undefined) } });
    const errors = r.diagnostics.filter((d) => d.code === "compose.too_many_replicas");
    expect(errors.map((d) => [d.message, d.line])).toEqual([
      ["deploy.replicas is 100000 replicas, over the replicas limit (1000 replicas)", 5],
      ["scale is 1001 replicas, over the replicas limit (1000 replicas)", 8],
    ]);
  });
});
