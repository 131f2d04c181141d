/**
 * examples/grafana-dashboard.json queries only metrics the agent exports,
 * and every query is valid PromQL (checked by `promtool check rules` on a
 * rules file made of the panel expressions, when promtool is installed).
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { createMetrics } from "../../../platform/metrics.ts";

interface Panel {
  title: string;
  type: string;
  targets?: { expr: string }[];
  gridPos: { x: number; y: number; w: number; h: number };
}
const dash = JSON.parse(readFileSync(new URL("../../../examples/grafana-dashboard.json", import.meta.url), "utf8")) as { panels: Panel[]; uid: string };
const exprs = dash.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

test("the dashboard covers the issue's metrics and uses only exported ones", async () => {
  const m = createMetrics();
  m.observeReconcile(0.1);
  m.observeEngineRequest("container.list", 0.01);
  m.observeApiRequest("/v1/containers", "GET", 200, 0.001);
  m.countRestart("d", "s", "exited");
  const exported = new Set((await m.text()).split("\n").filter((l) => l && !l.startsWith("#")).map((l) => l.split(/[{ ]/)[0]!));
  exported.add("up");
  const used = new Set(exprs.flatMap((e) => [...e.expr.matchAll(/\b(fizz_[a-z_]+|process_[a-z_]+|nodejs_[a-z0-9_]+|up)\b(?=\s*[{[(]|\s*$|\))/g)].map((x) => x[1]!)));
  for (const name of used) expect([name, exported.has(name)]).toEqual([name, true]);
  for (const need of ["fizz_containers", "fizz_container_restarts_total", "fizz_reconcile_duration_seconds_bucket", "fizz_reconcile_errors_total", "fizz_engine_request_duration_seconds_bucket", "fizz_api_request_duration_seconds_bucket", "process_resident_memory_bytes", "process_cpu_seconds_total"]) {
    expect([need, used.has(need)]).toEqual([need, true]);
  }
  expect(dash.uid).toBe("fizz-agent");
  // Panels do not overlap on the 24-column grid.
  const cells = new Set<string>();
  for (const p of dash.panels) {
    expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
    for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++)
      for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
        expect([p.title, cells.has(`${x},${y}`)]).toEqual([p.title, false]);
        cells.add(`${x},${y}`);
      }
  }
});

test("every panel query is valid PromQL (promtool check rules)", () => {
  if (spawnSync("promtool", ["--version"], { stdio: "ignore" }).status !== 0) {
    if (process.env.CI === "true") throw new Error("promtool not found: apt-get install prometheus (required under CI=true)");
    console.warn("skipping: promtool not found (apt-get install prometheus)");
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "fizz-grafana-"));
  try {
    const rules = exprs.map((e, i) => ({
      record: `fizz:dashboard_${i}`,
      expr: e.expr.replace(/\$__rate_interval/g, "1m").replace(/\$(job|instance)/g, ".*"),
    }));
    writeFileSync(join(dir, "rules.yml"), stringify({ groups: [{ name: "dashboard", rules }] }));
    const r = spawnSync("promtool", ["check", "rules", join(dir, "rules.yml")], { encoding: "utf8" });
    expect({ status: r.status, err: r.stderr }).toEqual({ status: 0, err: "" });
    expect(r.stdout).toContain(`SUCCESS: ${rules.length} rules found`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
