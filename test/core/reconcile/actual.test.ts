import { describe, expect, test } from "bun:test";
import { LABEL, labelsFor } from "../../../core/labels.ts";
import { parseHealth, parseState, toActualContainer, toActualState } from "../../../core/reconcile/actual.ts";
import { plan } from "../../../core/reconcile/plan.ts";
import { project, svc } from "./fixtures.ts";

const webLabels = labelsFor({ kind: "container", project: "p", service: "w", number: 1, configHash: "h-w" });

describe("toActualContainer", () => {
  test("re-adopts a labelled container from a list answer", () => {
    const c = toActualContainer({
      id: "abc",
      name: "/p-w-1",
      labels: webLabels,
      state: "running",
      status: "Up 3 minutes (unhealthy)",
      imageId: "sha256:1",
    });
    expect(c).toMatchObject({
      id: "abc",
      name: "p-w-1",
      project: "p",
      service: "w",
      number: 1,
      configHash: "h-w",
      state: "running",
      health: "unhealthy",
      imageId: "sha256:1",
      oneoff: false,
    });
  });

  test("exit code from the status string; unlabelled containers are not ours", () => {
    expect(toActualContainer({ id: "a", name: "x", labels: webLabels, state: "exited", status: "Exited (137) 2 seconds ago" })?.exitCode).toBe(137);
    expect(toActualContainer({ id: "a", name: "x", labels: { foo: "bar" }, state: "running" })).toBeUndefined();
    expect(toActualContainer({ id: "a", name: "x", labels: null, state: "running" })).toBeUndefined();
  });

  test("states and health", () => {
    expect(parseState("Running")).toBe("running");
    expect(parseState("stopped")).toBe("exited");
    expect(parseState("configured")).toBe("created");
    expect(parseHealth(undefined, "Up 1 second (health: starting)")).toBe("starting");
    expect(parseHealth("healthy", undefined)).toBe("healthy");
    expect(parseHealth(undefined, "Up 2 hours")).toBe("none");
  });
});

test("an agent restart re-adopts running containers without touching them", () => {
  const d = project("p", [svc("w", { replicas: 2 })]);
  const engine = {
    containers: [1, 2].map((n) => ({
      id: `id${n}`,
      name: `/p-w-${n}`,
      labels: labelsFor({ kind: "container", project: "p", service: "w", number: n, configHash: "h-w" }),
      state: "running",
      status: "Up 1 hour",
    })),
    networks: [{ name: "p_default", labels: labelsFor({ kind: "network", project: "p", network: "default" }) }, { name: "bridge" }],
    volumes: [],
    images: [{ ref: "img/w:1", id: "sha256:w" }],
  };
  const actual = toActualState(engine, "p");
  expect(actual.networks[0]).toMatchObject({ name: "p_default", project: "p", key: "default" });
  expect(plan(d, actual).steps).toEqual([]);
  // a container of another project is filtered out
  const other = { ...engine.containers[0]!, id: "o", labels: { ...engine.containers[0]!.labels, [LABEL.project]: "q" } };
  expect(toActualState({ ...engine, containers: [...engine.containers, other] }, "p").containers).toHaveLength(2);
});
