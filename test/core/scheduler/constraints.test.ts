import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { FizzError } from "../../../core/errors.ts";
import { checkPlacement, matches, parseConstraint, parseConstraints, parseSpreadKey } from "../../../core/scheduler/constraints.ts";
import { node } from "./fixtures.ts";

function errorOf(f: () => unknown): FizzError {
  try {
    f();
  } catch (e) {
    if (e instanceof FizzError) return e;
    throw e;
  }
  throw new Error("expected a FizzError");
}

describe("constraints", () => {
  const n = node("abc123", {
    hostname: "web-1",
    role: "worker",
    labels: { zone: "eu-1", "com.example.tier": "front" },
    engineLabels: { gpu: "true" },
    platform: { os: "linux", arch: "x86_64" },
  });

  test("every compose key, both operators, spaces optional", () => {
    const ok = [
      "node.id==abc123",
      "node.hostname == web-1",
      "node.role==worker",
      "node.role != manager",
      "node.labels.zone==eu-1",
      "node.labels.com.example.tier == front",
      "node.labels.zone != eu-2",
      "node.labels.missing != anything",
      "engine.labels.gpu==true",
      "node.platform.os==linux",
      "node.platform.arch == x86_64",
      "NODE.LABELS.ZONE == EU-1", // swarm compares case-insensitively
    ];
    for (const c of ok) expect([c, matches(n, parseConstraint(c))]).toEqual([c, true]);
    const no = ["node.id==other", "node.role==manager", "node.labels.zone!=eu-1", "node.labels.missing==x", "engine.labels.gpu==false"];
    for (const c of no) expect([c, matches(n, parseConstraint(c))]).toEqual([c, false]);
  });

  test("errors name the constraint and say what to write", () => {
    const single = errorOf(() => parseConstraint("node.labels.zone=a", "services.web.deploy.placement.constraints[0]"));
    expect(single.code).toBe("scheduler.constraint_invalid");
    expect(single.message).toContain('"node.labels.zone=a"');
    expect(single.hint).toContain('"node.labels.zone == a"');
    expect(single.path).toBe("services.web.deploy.placement.constraints[0]");

    const typo = errorOf(() => parseConstraint("node.lables.zone==a"));
    expect(typo.message).toContain('unknown key "node.lables.zone"');
    expect(typo.hint).toContain('did you mean "node.labels.zone"');

    const role = errorOf(() => parseConstraint("node.rol==worker"));
    expect(role.hint).toContain('did you mean "node.role"');

    expect(errorOf(() => parseConstraint("node.labels.==a")).message).toContain("needs a label name");
    expect(errorOf(() => parseConstraint("node.role==")).message).toContain("missing value");
    expect(errorOf(() => parseConstraint("")).code).toBe("scheduler.constraint_invalid");
    expect(errorOf(() => parseConstraints(["node.role==worker", "bogus"], "c")).path).toBe("c[1]");
  });

  test("spread preferences and the validate-time check", () => {
    expect(parseSpreadKey("node.labels.zone")).toEqual({ kind: "nodeLabel", name: "zone" });
    expect(parseSpreadKey(" node.hostname ")).toEqual({ kind: "hostname" });
    const bad = errorOf(() => parseSpreadKey("node.lables.zone", "x"));
    expect(bad.code).toBe("scheduler.preference_invalid");
    expect(bad.message).toBe('placement preference "spread: node.lables.zone": unknown key "node.lables.zone"');
    const errs = checkPlacement(["node.role==worker", "node.labels.zone=a", "zone==a"], ["node.labels.zone", "zone"], "services.web.deploy.placement");
    expect(errs.map((e) => e.path)).toEqual([
      "services.web.deploy.placement.constraints[1]",
      "services.web.deploy.placement.constraints[2]",
      "services.web.deploy.placement.preferences[1].spread",
    ]);
    expect(checkPlacement(["node.role==worker"], ["node.labels.rack"])).toEqual([]);
    const x = checkPlacement([], [], undefined, {
      constraints: ["zone==a", "node.lables.x==1"],
      prefer: ["disk=ssd"],
      spread: "node",
      pathPrefix: "services.web.x-fizz",
    });
    expect(x.map((e) => e.path)).toEqual(["services.web.x-fizz.placement.constraints[1]", "services.web.x-fizz.placement.prefer[0]"]);
    expect(parseConstraint("zone==a", undefined, { bareLabels: true }).key).toEqual({ kind: "nodeLabel", name: "zone" });
    expect(parseSpreadKey("node", undefined, { bareLabels: true })).toEqual({ kind: "id" });
  });

  const token = fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,10}$/);

  test("property: == matches exactly the nodes whose label equals the value, != the rest", () => {
    fc.assert(
      fc.property(token, token, fc.option(token, { nil: undefined }), fc.boolean(), (key, value, actual, spaced) => {
        const sp = spaced ? " " : "";
        const labels: Record<string, string> = actual === undefined ? {} : { [key]: actual };
        const x = node("n", { labels });
        const eq = parseConstraint(`node.labels.${key}${sp}==${sp}${value}`);
        const ne = parseConstraint(`node.labels.${key}${sp}!=${sp}${value}`);
        expect(eq.key).toEqual({ kind: "nodeLabel", name: key });
        expect(eq.value).toBe(value);
        const same = actual !== undefined && actual.toLowerCase() === value.toLowerCase();
        expect(matches(x, eq)).toBe(same);
        expect(matches(x, ne)).toBe(!same);
      }),
    );
  });

  test("property: the parser never throws anything but a FizzError", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          parseConstraint(s);
        } catch (e) {
          expect(e).toBeInstanceOf(FizzError);
        }
      }),
      { numRuns: 500 },
    );
  });
});
