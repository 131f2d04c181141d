/**
 * The planner's side of cluster networks: a replica is created with its
 * assigned addresses, a container whose address is not the assigned one is
 * recreated (even under --no-recreate or a rolling update's hold: an address
 * the node may no longer use must go), one that has it stays; and a
 * dependency placed on other nodes gates its dependents through a waitFor
 * that looks there.
 */
import { describe, expect, test } from "bun:test";
import { plan } from "../../../core/reconcile/plan.ts";
import type { Step } from "../../../core/reconcile/types.ts";
import { EMPTY, container, dep, project, svc } from "./fixtures.ts";

const addresses = { 1: { shop_default: "10.208.4.20" }, 2: { shop_default: "10.208.4.21" } };

describe("cluster networks in the plan", () => {
  test("new replicas are created with their addresses", () => {
    const p = plan(project("shop", [svc("web", { replicas: 2, numbers: [1, 2], addresses })]), EMPTY);
    const creates = p.steps.filter((s): s is Extract<Step, { kind: "createContainer" }> => s.kind === "createContainer");
    expect(creates.map((s) => [s.number, s.addresses])).toEqual([
      [1, { shop_default: "10.208.4.20" }],
      [2, { shop_default: "10.208.4.21" }],
    ]);
  });

  test("a container with another address is recreated with the assigned one; one that has it stays", () => {
    const actual = {
      ...EMPTY,
      containers: [container("shop", "web", 1, { addresses: { shop_default: "10.208.4.20" } }), container("shop", "web", 2, { addresses: { shop_default: "10.208.9.3" } })],
    };
    for (const o of [{}, { noRecreate: true }]) {
      const p = plan(project("shop", [svc("web", { replicas: 2, numbers: [1, 2], addresses, holdConfig: [2] })]), actual, o);
      const create = p.steps.find((s) => s.kind === "createContainer");
      expect(create).toMatchObject({ number: 2, addresses: { shop_default: "10.208.4.21" }, reason: { code: "address-changed", detail: "shop_default: 10.208.9.3 → 10.208.4.21" } });
      expect(p.steps.filter((s) => s.kind === "createContainer").length).toBe(1);
    }
  });

  test("a dependency that runs only on other nodes gates its dependents with a wait that looks there", () => {
    const desired = project("shop", [
      svc("db", { replicas: 1, numbers: [], hasHealthcheck: true }),
      svc("web", { replicas: 1, numbers: [1], dependsOn: [dep("db", "service_healthy")] }),
      svc("worker", { replicas: 1, numbers: [1], dependsOn: [dep("db", "service_started")] }),
    ]);
    const p = plan(desired, EMPTY);
    const waits = p.steps.filter((s): s is Extract<Step, { kind: "waitFor" }> => s.kind === "waitFor");
    expect(waits.map((w) => [w.service, w.condition, w.placement])).toEqual(
      expect.arrayContaining([
        ["db", "service_healthy", { here: 0, elsewhere: 1 }],
        ["db", "service_started", { here: 0, elsewhere: 1 }],
      ]),
    );
    const startWeb = p.steps.find((s) => s.id === "start:shop-web-1")!;
    expect(startWeb.after).toContain("wait:db:service_healthy");
    expect(p.steps.find((s) => s.id === "start:shop-worker-1")!.after).toContain("wait:db:service_started");
    expect(p.warnings.join()).not.toContain("scaled to 0");
  });

  test("split across nodes: the wait checks the replicas here and those elsewhere; on one node nothing changes", () => {
    const split = plan(project("shop", [svc("db", { replicas: 3, numbers: [2], hasHealthcheck: true }), svc("web", { numbers: [1], dependsOn: [dep("db", "service_healthy")] })]), EMPTY);
    expect(split.steps.find((s) => s.kind === "waitFor")).toMatchObject({ placement: { here: 1, elsewhere: 2 } });
    const single = plan(project("shop", [svc("db", { hasHealthcheck: true }), svc("web", { dependsOn: [dep("db", "service_healthy")] })]), EMPTY);
    expect((single.steps.find((s) => s.kind === "waitFor") as { placement?: unknown }).placement).toBeUndefined();
    const started = plan(project("shop", [svc("db"), svc("web", { dependsOn: [dep("db")] })]), EMPTY);
    expect(started.steps.some((s) => s.kind === "waitFor")).toBe(false);
  });
});

describe("start-first and a replica's cluster address", () => {
  const steps = (p: ReturnType<typeof plan>) => p.steps.map((s) => s.id);
  const running = (addr?: Record<string, string>) => ({ ...EMPTY, containers: [container("shop", "web", 1, { configHash: "old", ...(addr ? { addresses: addr } : {}) })] });

  test("the old container keeps the address the replacement is assigned: it stops before the new one is created and started", () => {
    // The engine refuses to start a second container on the same address ("Address already in use").
    const p = plan(project("shop", [svc("web", { numbers: [1], addresses: { 1: { shop_default: "10.208.4.20" } }, updateOrder: "start-first" })]), running({ shop_default: "10.208.4.20" }));
    const ids = steps(p);
    const stop = ids.findIndex((id) => id.startsWith("stop:"));
    const start = ids.indexOf("start:shop-web-1");
    expect(stop).toBeGreaterThanOrEqual(0);
    expect(start).toBeGreaterThanOrEqual(0);
    const startStep = p.steps[start]!;
    const createStep = p.steps.find((s) => s.id === "create:shop-web-1")!;
    const renameStep = p.steps.find((s) => s.kind === "renameContainer")!;
    expect(renameStep.after).toContain(p.steps[stop]!.id);
    expect(createStep.after).toContain(renameStep.id);
    expect(startStep.after).toContain(createStep.id);
  });

  test("without a shared address (one node, engine IPAM) start-first starts the new one before the old one stops", () => {
    const p = plan(project("shop", [svc("web", { numbers: [1], updateOrder: "start-first" })]), running());
    const stop = p.steps.find((s) => s.kind === "stopContainer")!;
    expect(stop.after).toContain("start:shop-web-1");
  });
});
