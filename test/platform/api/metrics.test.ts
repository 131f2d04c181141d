import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { createMetrics } from "../../../platform/metrics.ts";
import { raw, startTestServer } from "./harness.ts";

/** promtool from the Debian `prometheus` package; missing → skip locally, fail under CI=true. */
function promtool(): string | undefined {
  const r = spawnSync("promtool", ["--version"], { stdio: "ignore" });
  if (r.status === 0) return "promtool";
  if (process.env.CI === "true") throw new Error("promtool not found: apt-get install prometheus (required under CI=true)");
  console.warn("skipping promtool checks: promtool not found (apt-get install prometheus)");
  return undefined;
}

describe("agent metrics", () => {
  test("helpers record what the issue names", async () => {
    const m = createMetrics({ processMetrics: false });
    m.setContainers([
      { state: "running", health: "healthy" },
      { state: "running", health: "healthy" },
      { state: "exited", health: "none" },
    ]);
    m.countRestart("shop", "web", "unhealthy");
    m.observeReconcile(0.2);
    m.observeReconcile(0.4, true);
    m.observeEngineRequest("container.list", 0.002);
    m.observeApiRequest("/v1/containers", "GET", 200, 0.003);
    const text = await m.text();
    expect(text).toContain('fizz_containers{state="running",health="healthy"} 2');
    expect(text).toContain('fizz_containers{state="exited",health="none"} 1');
    expect(text).toContain('fizz_containers{state="dead",health="none"} 0');
    expect(text).toContain('fizz_container_restarts_total{deployment="shop",service="web",reason="unhealthy"} 1');
    expect(text).toContain("fizz_reconcile_duration_seconds_count 2");
    expect(text).toContain("fizz_reconcile_errors_total 1");
    expect(text).toContain('fizz_engine_request_duration_seconds_count{op="container.list"} 1');
    expect(text).toContain('fizz_api_request_duration_seconds_count{route="/v1/containers",method="GET",code="200"} 1');
    // Replacing the container set drops counts that no longer apply.
    m.setContainers([]);
    expect(await m.text()).toContain('fizz_containers{state="running",health="healthy"} 0');
  });

  test("process metrics work on this runtime", async () => {
    const text = await createMetrics().text();
    for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes", "process_start_time_seconds", "nodejs_eventloop_lag_seconds"]) {
      expect([name, new RegExp(`^${name} [0-9.e+-]+$`, "m").test(text)]).toEqual([name, true]);
    }
  });

  test("promtool check metrics passes on the served /metrics", async () => {
    const tool = promtool();
    if (!tool) return;
    const t = await startTestServer({ processMetrics: true });
    try {
      await raw({ socketPath: t.socket, path: "/v1/containers" });
      await raw({ socketPath: t.socket, path: "/v1/deployments/nope" });
      t.metrics.countRestart("shop", "web", "exited");
      t.metrics.setContainers([{ state: "running", health: "starting" }]);
      t.metrics.observeReconcile(0.05, true);
      t.metrics.observeEngineRequest("container.inspect", 0.002);
      const r = await raw({ socketPath: t.socket, path: "/metrics" });
      expect(r.status).toBe(200);
      expect(r.headers["content-type"]).toContain("text/plain");
      const check = spawnSync(tool, ["check", "metrics"], { input: r.body, encoding: "utf8" });
      expect({ status: check.status, out: check.stdout + check.stderr }).toEqual({ status: 0, out: "" });
    } finally {
      await t.stop();
    }
  });
});
