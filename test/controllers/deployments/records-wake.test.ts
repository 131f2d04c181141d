/**
 * A peer's container records alone (its replicas created, started,
 * restarted) re-plan a deployment here only when they can change this node's
 * plan (controllers/deployments/reconciler.ts `recordsMatter`): a steady
 * deployment without depends_on, whose share here did not move, is not
 * observed again; one with depends_on is (a dependency on another node may
 * have become ready). Two agents over real loopback UDP/TCP, in-memory
 * engines; the full pass's period is long so only woken passes run. And a
 * deployment whose replicas wait on each other across nodes (web and db on
 * both, web depends_on db) comes up: a node tells the cluster what it runs
 * while it waits, not only when its pass ends.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { MemoryEngine } from "../../support/memory-engine.ts";
import { formCluster, startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { until } from "../../support/wait.ts";
import type { Change } from "../../../controllers/changes.ts";

const dir = mkdtempSync(`${tmpdir()}/fizz-records-wake-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const plain = { files: [{ name: "compose.yaml", content: `services:\n  web:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    deploy: { replicas: 4 }\n` }], workingDir: "/srv/app", options: {} };
const withDeps = {
  files: [{ name: "compose.yaml", content: `services:\n  db:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    deploy: { replicas: 2 }\n  web:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    depends_on: [db]\n    deploy: { replicas: 2 }\n` }],
  workingDir: "/srv/app",
  options: {},
};

describe("peers' container records in a cluster of two", () => {
  const agents: TestAgent[] = [];
  const engines = [0, 1].map((i) => new MemoryEngine({ now: Date.now, name: `r${i}`, images: ["fizz-test/busybox:1"] }));
  const running = (project: string) => engines.reduce((n, e) => n + e.running(project).length, 0);
  /** Per project: passes that observed it on node 1; records-only changes naming it that node 1 heard; full wakes. */
  const observed = new Map<string, number>();
  const recordChanges = new Map<string, number>();
  let fullWakes = 0;

  beforeAll(async () => {
    for (const i of [0, 1]) {
      agents.push(await startTestAgent({ name: `r${i}`, dir, host: `127.0.0.${71 + i}`, engine: engines[i]!, config: (c) => ({ ...c, reconcile: { ...c.reconcile, interval: 120_000 } }) }));
    }
    await formCluster(agents);
    const e = engines[1]!;
    const observe = e.observe.bind(e);
    e.observe = (project: string, node?: string) => {
      observed.set(project, (observed.get(project) ?? 0) + 1);
      return observe(project, node);
    };
    const d = agents[1]!.deployments;
    const onChange = d.onChange.bind(d);
    d.onChange = (c: Change) => {
      if (c.kind === "membership" || c.kind === "engine") fullWakes++;
      if (c.kind === "cluster-state" && c.scope?.collections.length === 1 && c.scope.collections[0] === "containers") {
        for (const n of c.scope.deployments) recordChanges.set(n, (recordChanges.get(n) ?? 0) + 1);
      }
      onChange(c);
    };
  }, 30_000);
  afterAll(async () => {
    for (const a of agents) await a.stop();
  });

  /** Removes node 0's replicas of `project` behind its back (`docker rm -f`), so it makes them again and publishes new records. */
  async function churnOnNode0(project: string): Promise<void> {
    const before = recordChanges.get(project) ?? 0;
    const gone = engines[0]!.running(project).map((c) => c.id);
    for (const id of gone) engines[0]!.containersById.delete(id);
    agents[0]!.deployments.reconciler.wake();
    await until(`node 0 made ${project}'s replicas again`, 10_000, async () => engines[0]!.running(project).length === gone.length && running(project) === 4);
    await until(`node 1 heard ${project}'s new records`, 10_000, async () => (recordChanges.get(project) ?? 0) > before);
    await new Promise((r) => setTimeout(r, 1000));
  }

  async function settle(project: string): Promise<void> {
    await until(`${project} runs on both nodes`, 10_000, async () => running(project) === 4 && engines.every((e) => e.running(project).length > 0));
    // Its own records go round and wake passes: wait until node 1 has had none for a second.
    let last = observed.get(project) ?? 0;
    let quietSince = Date.now();
    await until(`${project} settled`, 20_000, async () => {
      const n = observed.get(project) ?? 0;
      if (n !== last) [last, quietSince] = [n, Date.now()];
      return Date.now() - quietSince > 1000;
    });
  }

  test("a steady deployment without depends_on is not re-planned for a peer's records", async () => {
    await agents[0]!.client.up("plain", plain);
    await settle("plain");
    observed.set("plain", 0);
    const wakes = fullWakes;
    await churnOnNode0("plain");
    // A membership or engine change in the window would be a full pass, which looks at everything.
    if (fullWakes === wakes) expect(observed.get("plain") ?? 0).toBe(0);
    // A change of its own still plans it at once.
    await agents[0]!.client.scale("plain", "web", 6);
    await until("plain scaled to 6", 10_000, async () => running("plain") === 6);
    expect(observed.get("plain") ?? 0).toBeGreaterThan(0);
  }, 60_000);

  test("web and db on both nodes, web depends_on db: each node tells what it runs while it waits, so neither waits for the other forever", async () => {
    const t0 = Date.now();
    const r = await agents[0]!.client.up("deps", withDeps);
    expect(r.deployment).toBe("deps");
    await until("deps: 2 db and 2 web running", 10_000, async () => running("deps") === 4);
    for (const e of engines) expect(e.running("deps", "web").length).toBe(1);
    process.stderr.write(`web and db on both nodes came up in ${Date.now() - t0} ms\n`);
  }, 30_000);

  test("a deployment with depends_on is re-planned for a peer's records: a dependency on the other node may have become ready", async () => {
    await settle("deps");
    observed.set("deps", 0);
    await churnOnNode0("deps");
    expect(observed.get("deps") ?? 0).toBeGreaterThan(0);
  }, 60_000);
});
