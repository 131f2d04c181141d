import { expect, test } from "bun:test";
import { evaluateCondition } from "../../../core/reconcile/wait.ts";
import { container } from "./fixtures.ts";

test("service_healthy", () => {
  const ok = container("p", "db", 1, { health: "healthy" });
  expect(evaluateCondition("service_healthy", [ok])).toEqual({ status: "met" });
  expect(evaluateCondition("service_healthy", [ok, container("p", "db", 2, { health: "starting" })]).status).toBe("pending");
  expect(evaluateCondition("service_healthy", [container("p", "db", 1, { health: "unhealthy" })]).status).toBe("failed");
  const exited = evaluateCondition("service_healthy", [container("p", "db", 1, { state: "exited", exitCode: 3 })]);
  expect(exited).toEqual({ status: "failed", reason: "container p-db-1 exited (3)" });
  expect(evaluateCondition("service_healthy", [container("p", "db", 1)])).toMatchObject({
    status: "failed",
    reason: expect.stringContaining("no healthcheck"),
  });
  expect(evaluateCondition("service_healthy", []).status).toBe("pending");
});

test("service_completed_successfully and service_started", () => {
  expect(evaluateCondition("service_completed_successfully", [container("p", "m", 1)]).status).toBe("pending");
  expect(evaluateCondition("service_completed_successfully", [container("p", "m", 1, { state: "exited", exitCode: 0 })])).toEqual({
    status: "met",
  });
  expect(evaluateCondition("service_completed_successfully", [container("p", "m", 1, { state: "exited", exitCode: 2 })]).status).toBe(
    "failed",
  );
  expect(evaluateCondition("service_started", [container("p", "a", 1, { state: "created" })]).status).toBe("pending");
  expect(evaluateCondition("service_started", [container("p", "a", 1)])).toEqual({ status: "met" });
});
