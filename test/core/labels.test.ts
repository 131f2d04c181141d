import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  LABEL,
  containerName,
  formatDependsOn,
  labelsFor,
  networkName,
  parseDependsOn,
  parseLabels,
  replacedContainerName,
  volumeName,
  type DependsOnLabel,
} from "../../core/labels.ts";

describe("labelsFor / parseLabels", () => {
  test("container labels are Compose-compatible and round-trip", () => {
    const labels = labelsFor({
      kind: "container",
      project: "shop",
      service: "web",
      number: 2,
      configHash: "abc",
      configFields: { image: "11111111", environment: "22222222" },
      workingDir: "/src/shop",
      configFiles: ["/src/shop/compose.yaml", "/src/shop/compose.override.yaml"],
      dependsOn: [{ service: "db", condition: "service_healthy", restart: true }],
      node: "node-a",
      deployment: "shop",
      userLabels: { "com.example.team": "a", [LABEL.project]: "evil" },
    });
    expect(labels[LABEL.project]).toBe("shop");
    expect(labels[LABEL.service]).toBe("web");
    expect(labels[LABEL.containerNumber]).toBe("2");
    expect(labels[LABEL.oneoff]).toBe("False");
    expect(labels[LABEL.version]?.startsWith("2.")).toBe(true);
    expect(labels[LABEL.dependsOn]).toBe("db:service_healthy:true");
    expect(labels[LABEL.managed]).toBe("true");
    expect(labels["com.example.team"]).toBe("a");
    const owner = parseLabels(labels);
    expect(owner).toEqual({
      kind: "container",
      project: "shop",
      service: "web",
      number: 2,
      oneoff: false,
      configHash: "abc",
      configFields: { image: "11111111", environment: "22222222" },
      dependsOn: [{ service: "db", condition: "service_healthy", restart: true }],
      workingDir: "/src/shop",
      configFiles: ["/src/shop/compose.yaml", "/src/shop/compose.override.yaml"],
      managed: true,
      node: "node-a",
      deployment: "shop",
    });
  });

  test("network and volume labels", () => {
    const n = parseLabels(labelsFor({ kind: "network", project: "p", network: "default" }));
    expect(n).toEqual({ kind: "network", project: "p", network: "default", managed: true });
    const v = parseLabels(labelsFor({ kind: "volume", project: "p", volume: "data", node: "x" }));
    expect(v).toEqual({ kind: "volume", project: "p", volume: "data", managed: true, node: "x" });
  });

  test("labels written by docker compose itself are adopted (managed=false)", () => {
    const owner = parseLabels({
      [LABEL.project]: "p",
      [LABEL.service]: "web",
      [LABEL.containerNumber]: "1",
      [LABEL.oneoff]: "False",
      [LABEL.configHash]: "h",
    });
    expect(owner?.kind).toBe("container");
    expect(owner?.managed).toBe(false);
  });

  test("foreign or damaged labels are not owned", () => {
    expect(parseLabels(undefined)).toBeUndefined();
    expect(parseLabels({})).toBeUndefined();
    expect(parseLabels({ "com.example": "x" })).toBeUndefined();
    expect(parseLabels({ [LABEL.project]: "p" })).toBeUndefined();
    for (const bad of ["0", "-1", "abc", "", "1.5", "01"]) {
      expect(parseLabels({ [LABEL.project]: "p", [LABEL.service]: "s", [LABEL.containerNumber]: bad })).toBeUndefined();
    }
  });

  test("oneoff parses Compose's True/False", () => {
    const base = { [LABEL.project]: "p", [LABEL.service]: "s", [LABEL.containerNumber]: "1" };
    expect((parseLabels({ ...base, [LABEL.oneoff]: "True" }) as { oneoff: boolean }).oneoff).toBe(true);
    expect((parseLabels({ ...base, [LABEL.oneoff]: "False" }) as { oneoff: boolean }).oneoff).toBe(false);
  });

  test("rejects a non-positive container number", () => {
    expect(() => labelsFor({ kind: "container", project: "p", service: "s", number: 0, configHash: "h" })).toThrow();
  });

  test("property: container labels round-trip", () => {
    const name = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,15}$/);
    const cond = fc.constantFrom("service_started", "service_healthy", "service_completed_successfully") as fc.Arbitrary<
      DependsOnLabel["condition"]
    >;
    fc.assert(
      fc.property(
        name,
        name,
        fc.integer({ min: 1, max: 10_000 }),
        fc.boolean(),
        fc.array(fc.record({ service: name, condition: cond, restart: fc.boolean() }), { maxLength: 4 }),
        (project, service, number, oneoff, dependsOn) => {
          const owner = parseLabels(
            labelsFor({ kind: "container", project, service, number, oneoff, configHash: "h", dependsOn }),
          );
          expect(owner).toMatchObject({ kind: "container", project, service, number, oneoff, dependsOn });
          expect(parseDependsOn(formatDependsOn(dependsOn))).toEqual(dependsOn);
        },
      ),
    );
  });
});

describe("naming", () => {
  test("Compose defaults and overrides", () => {
    expect(containerName("shop", "web", 3)).toBe("shop-web-3");
    expect(containerName("shop", "web", 1, "my-web")).toBe("my-web");
    expect(networkName("shop", "default")).toBe("shop_default");
    expect(networkName("shop", "front", { name: "frontnet" })).toBe("frontnet");
    expect(networkName("shop", "ext", { external: true })).toBe("ext");
    expect(networkName("shop", "ext", { external: true, name: "real" })).toBe("real");
    expect(volumeName("shop", "data")).toBe("shop_data");
    expect(volumeName("shop", "data", { name: "pgdata" })).toBe("pgdata");
    expect(volumeName("shop", "data", { external: true })).toBe("data");
    expect(replacedContainerName("0123456789abcdef", "shop-web-1")).toBe("0123456789ab_shop-web-1");
  });
});
