/**
 * Published-port errors name the entry as the user wrote it: a short-syntax
 * range is expanded to one mapping per port, but its index and line are the
 * file's. Host/container range sizes follow Docker (nat.ParsePortSpec).
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { loadProject, type LoadResult } from "../../../core/compose/load.ts";
import { parsePortShort } from "../../../core/compose/syntax.ts";

function load(yaml: string): LoadResult {
  return loadProject({ cwd: "/p", env: { HOME: "/home/u" }, files: ["p.yaml"], reader: { read: (p) => (p === "/p/p.yaml" ? yaml : undefined) } });
}
const errors = (r: LoadResult) => r.diagnostics.filter((d) => d.severity === "error");

describe("published port conflicts after a range", () => {
  test("the conflicting entry and the one it collides with are named by their index in the file, at their own line", () => {
    const r = load('services:\n  a:\n    image: x\n    ports:\n      - "8000-8002:80-82"\n      - "127.0.0.1:8001:90"\n      - "5000:5000"\n  b:\n    image: x\n    ports: ["1:1", "2:2", "8002:9"]\n');
    expect(errors(r).map((d) => [d.path, d.line, d.message])).toEqual([
      ["services.a.ports[1]", 6, "published port 8001/tcp is already published by services.a.ports[0] (line 5)"],
      ["services.b.ports[2]", 10, "published port 8002/tcp is already published by services.a.ports[0] (line 5)"],
    ]);
  });

  test("a range that collides on several ports is reported once; an invalid host_ip after a range is at its own entry", () => {
    const r = load('services:\n  a:\n    image: x\n    ports:\n      - "8000-8002:80-82"\n      - "8000-8002:90-92"\n      - target: 1\n        published: "9"\n        host_ip: nope\n');
    expect(errors(r).map((d) => [d.path, d.line])).toEqual([
      ["services.a.ports[2].host_ip", 9],
      ["services.a.ports[1]", 6],
    ]);
  });
});

describe("host and container ranges (Docker's rule)", () => {
  test("a single host port with a container range is invalid, not a duplicate", () => {
    const r = load('services:\n  a:\n    image: x\n    ports: ["9000:9000-9001"]\n');
    expect(errors(r).map((d) => [d.path, d.message])).toEqual([
      ["services.a.ports[0]", 'invalid ranges specified for container and host ports in "9000:9000-9001": 1 published, 2 container ports'],
    ]);
  });

  test("property: equal-size ranges map port to port; a host range with one container port stays a range; any other size mix is refused", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 60000 }), fc.integer({ min: 0, max: 4 }), fc.integer({ min: 1, max: 60000 }), fc.integer({ min: 0, max: 4 }), (h, hn, c, cn) => {
        const r = parsePortShort(`${h}${hn ? `-${h + hn}` : ""}:${c}${cn ? `-${c + cn}` : ""}`);
        if (hn === cn) {
          expect(r.ok && r.value.map((m) => [m.published, m.target])).toEqual(Array.from({ length: cn + 1 }, (_, i) => [String(h + i), c + i]));
        } else if (cn === 0) {
          expect(r.ok && r.value.map((m) => [m.published, m.target])).toEqual([[`${h}-${h + hn}`, c]]);
        } else expect(r.ok).toBe(false);
      }),
    );
  });
});
