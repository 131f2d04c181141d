import { describe, expect, test, afterAll } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { DatabaseSync } from "node:sqlite";
import { AgentStore, MIGRATIONS, readRestartHistory } from "../../../platform/store/index.ts";

const dir = mkdtempSync(join(tmpdir(), "fizz-store-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("AgentStore", () => {
  test("node id is generated once and kept across reopen", () => {
    const path = join(dir, "id.db");
    const a = AgentStore.open(path);
    const id = a.nodeId();
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    a.close();
    const b = AgentStore.open(path);
    expect(b.nodeId()).toBe(id);
    b.close();
  });

  test("deployments: put bumps generation, delete cascades replicas", () => {
    const s = AgentStore.open(join(dir, "dep.db"));
    const r1 = s.putDeployment("shop", { services: { web: {} } }, { files: ["compose.yaml"] }, 1000);
    expect(r1.generation).toBe(1);
    const r2 = s.putDeployment("shop", { services: { web: {}, db: {} } }, { files: ["compose.yaml"] }, 2000);
    expect(r2.generation).toBe(2);
    expect(r2.createdAt).toBe(1000);
    expect(r2.updatedAt).toBe(2000);
    s.setReplicas("shop", "web", 3);
    expect(s.replicas("shop").get("web")).toBe(3);
    expect(s.deleteDeployment("shop")).toBe(true);
    expect(s.replicas("shop").size).toBe(0);
    expect(s.deleteDeployment("shop")).toBe(false);
    s.close();
  });

  test("scale of an unknown deployment or a negative count is refused", () => {
    const s = AgentStore.open(join(dir, "scale.db"));
    expect(() => s.setReplicas("nope", "web", 1)).toThrow(/no deployment named 'nope'/);
    s.putDeployment("d", {}, {}, 1);
    expect(() => s.setReplicas("d", "web", -1)).toThrow(/non-negative/);
    s.close();
  });

  test("events resume after an id and prune by time", () => {
    const s = AgentStore.open(join(dir, "ev.db"));
    const a = s.appendEvent({ at: 10, type: "container.start", deployment: "d", service: "web", container: "d-web-1", message: "started" });
    s.appendEvent({ at: 20, type: "container.die", message: "died", data: { exitCode: 1 } });
    expect(s.events(a.id).map((e) => e.type)).toEqual(["container.die"]);
    expect(s.events(a.id)[0]!.data).toEqual({ exitCode: 1 });
    expect(s.pruneEvents(15)).toBe(1);
    expect(s.events().length).toBe(1);
    s.close();
  });

  test("a database from a newer fizz is refused with a clear error", () => {
    const path = join(dir, "new.db");
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA user_version = ${MIGRATIONS.length + 5}`);
    db.close();
    expect(() => AgentStore.open(path)).toThrow(/newer than this fizz understands/);
  });

  test("an accepted deployment survives kill -9 of the writing process", () => {
    const path = join(dir, "crash.db");
    const script = `
      import { AgentStore } from ${JSON.stringify(join(import.meta.dir, "../../../platform/store/index.ts"))};
      const s = AgentStore.open(${JSON.stringify(path)});
      s.putDeployment("survivor", { n: 1 }, {}, 1);
      process.kill(process.pid, "SIGKILL");
    `;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8" });
    expect(r.signal).toBe("SIGKILL");
    const s = AgentStore.open(path);
    expect(s.getDeployment("survivor")?.spec).toEqual({ n: 1 });
    s.close();
  });
});

test("a transaction's writes all land or none do; a nested one joins the outer", () => {
  const s = AgentStore.open(":memory:");
  expect(() =>
    s.transaction(() => {
      s.putDeployment("half", { n: 1 }, {}, 1);
      s.setMeta("intent:half", "x");
      throw new Error("crash between writes");
    }),
  ).toThrow("crash between writes");
  expect(s.getDeployment("half")).toBeUndefined();
  expect(s.getMeta("intent:half")).toBeUndefined();
  s.transaction(() => {
    s.putDeployment("whole", { n: 1 }, {}, 1);
    s.transaction(() => s.setMeta("intent:whole", "y"));
    s.appendEvents([{ at: 1, type: "t", message: "m" }]);
  });
  expect(s.getDeployment("whole")?.spec).toEqual({ n: 1 });
  expect(s.getMeta("intent:whole")).toBe("y");
  s.close();
});

describe("readRestartHistory (the CLI's ps reading the agent's restarts)", () => {
  test("reads what the owning store recorded while it stays open, never writes, and is absent without a store", () => {
    const path = join(dir, "state.db");
    expect(readRestartHistory(path)).toBeUndefined();
    const agent = AgentStore.open(path);
    agent.recordRestart({ deployment: "p", service: "web", container: "p-web-1", at: 1000, reason: "unhealthy: connection refused" });
    agent.recordRestart({ deployment: "p", service: "web", container: "p-web-1", at: 3000, reason: "exited: exit code 3" });
    const h = readRestartHistory(path)!;
    expect(h.restarts("p-web-1").map((r) => r.reason)).toEqual(["unhealthy: connection refused", "exited: exit code 3"]);
    expect(h.restarts("p-web-1", 2000)).toHaveLength(1);
    expect(h.restarts("p-web-2")).toEqual([]);
    // The agent keeps writing while the CLI holds its view.
    agent.recordRestart({ deployment: "p", service: "web", container: "p-web-1", at: 4000, reason: "exited: exit code 1" });
    expect(h.restarts("p-web-1")).toHaveLength(3);
    h.close();
    agent.close();
    const raw = new DatabaseSync(path, { readOnly: true });
    expect((raw.prepare("SELECT count(*) AS n FROM restarts").get() as { n: number }).n).toBe(3);
    raw.close();
  });
});
