/**
 * `up --wait`: which containers are not ready, and which never will be (exited
 * non-zero with nothing to restart them), so the wait fails at once instead of
 * running out its 600 s timeout.
 */
import { describe, expect, test } from "bun:test";
import { neverReady, notReady } from "../../../core/reconcile/readiness.ts";
import { EMPTY, container, project, svc } from "./fixtures.ts";

const actual = (...containers: ReturnType<typeof container>[]) => ({ ...EMPTY, containers });

describe("neverReady", () => {
  const p = project("shop", [
    svc("crash"),
    svc("giveup", { restart: "on-failure", restartRetries: 2 }),
    svc("policy", { restart: "always" }),
    svc("job"),
    svc("web", { hasHealthcheck: true }),
  ]);

  test("an exited non-zero container nothing restarts is never ready; one a policy restarts, a finished job, or a starting one may be", () => {
    const a = actual(
      container("shop", "crash", 1, { state: "exited", exitCode: 5 }),
      container("shop", "giveup", 1, { state: "exited", exitCode: 1 }),
      container("shop", "policy", 1, { state: "exited", exitCode: 1 }),
      container("shop", "job", 1, { state: "exited", exitCode: 0 }),
      container("shop", "web", 1, { state: "running", health: "starting" }),
      container("shop", "crash", 0, { state: "exited", exitCode: 2, oneoff: true, name: "shop-crash-run-1" }),
    );
    expect(notReady(p, a)).toEqual(["shop-crash-1: exited (exit code 5)", "shop-giveup-1: exited (exit code 1)", "shop-policy-1: exited (exit code 1)", "shop-web-1: starting"]);
    expect(neverReady(p, a)).toEqual(["shop-crash-1 exited with code 5", "shop-giveup-1 exited with code 1"]);
    expect(neverReady(p, a, ["web", "policy"])).toEqual([]);
  });
});
