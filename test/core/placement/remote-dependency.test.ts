import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { CONTAINER_STATUSES, type ContainerRecord } from "../../../core/state/schema.ts";
import { dependencyVerdict } from "../../../core/placement/remote-dependency.ts";

const rec = (status: ContainerRecord["status"], node = "n2", index = 0): ContainerRecord => ({ deploymentId: "shop", service: "db", index, nodeId: node, status, containerId: "c", health: status === "healthy" ? "healthy" : "none" });

describe("depends_on across nodes", () => {
  test("a healthy dependency on another node satisfies service_healthy; one not yet healthy names its node", () => {
    expect(dependencyVerdict("db", "service_healthy", [rec("healthy", "n2")])).toEqual({ kind: "met" });
    const w = dependencyVerdict("db", "service_healthy", [rec("healthy", "n2"), rec("running", "n3", 1)]);
    expect(w).toEqual({ kind: "waiting", reason: "1 of 2 replicas of db are not healthy yet (on n3)" });
    expect(dependencyVerdict("db", "service_healthy", []).kind).toBe("waiting");
    expect(dependencyVerdict("db", "service_healthy", [rec("running", "n2")])).toEqual({ kind: "failed", reason: "service db has no healthcheck, so it can never become healthy (on n2)" });
    expect(dependencyVerdict("db", "service_healthy", [{ ...rec("running", "n2"), health: "starting" }]).kind).toBe("waiting");
  });
  test("service_completed_successfully: all exited 0; a non-zero exit fails the dependent", () => {
    expect(dependencyVerdict("migrate", "service_completed_successfully", [rec("stopped")])).toEqual({ kind: "met" });
    expect(dependencyVerdict("migrate", "service_completed_successfully", [rec("failed", "n3")])).toEqual({ kind: "failed", reason: "migrate exited with a non-zero code (on n3)" });
    expect(dependencyVerdict("migrate", "service_completed_successfully", [rec("running")]).kind).toBe("waiting");
  });
  test("properties: met for healthy only when every record is healthy; started whenever any record has started", () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...CONTAINER_STATUSES), { minLength: 1, maxLength: 6 }), (ss) => {
        const rs = ss.map((s, i) => rec(s, `n${i % 3}`, i));
        expect(dependencyVerdict("db", "service_healthy", rs).kind === "met").toBe(ss.every((s) => s === "healthy"));
        expect(dependencyVerdict("db", "service_started", rs).kind === "met").toBe(ss.some((s) => s !== "pending" && s !== "failed"));
      }),
    );
  });
});
