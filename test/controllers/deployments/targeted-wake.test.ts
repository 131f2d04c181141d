/**
 * A peer's change to one deployment's records wakes a pass over that
 * deployment only (controllers/deployments/reconciler.ts `wakeFor`): the
 * others are not re-planned, and their engine is not asked, until a full
 * pass (the timer, a membership or engine change) comes. Two agents over
 * real loopback UDP/TCP, in-memory engines; the full pass's period is set
 * long so that only targeted passes run while the change converges.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { MemoryEngine } from "../../support/memory-engine.ts";
import { formCluster, startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { until } from "../../support/wait.ts";

const dir = mkdtempSync(`${tmpdir()}/fizz-targeted-wake-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files = (replicas: number) => ({ files: [{ name: "compose.yaml", content: `services:\n  web:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    deploy: { replicas: ${replicas} }\n` }], workingDir: "/srv/app", options: {} });

describe("targeted wakes in a cluster of two", () => {
  const agents: TestAgent[] = [];
  const engines = [0, 1].map((i) => new MemoryEngine({ now: Date.now, name: `e${i}`, images: ["fizz-test/busybox:1"] }));
  const running = (project: string) => engines.reduce((n, e) => n + e.running(project, "web").length, 0);

  beforeAll(async () => {
    for (const i of [0, 1]) {
      agents.push(await startTestAgent({ name: `t${i}`, dir, host: `127.0.0.${61 + i}`, engine: engines[i]!, config: (c) => ({ ...c, reconcile: { ...c.reconcile, interval: 120_000 } }) }));
    }
    await formCluster(agents);
  }, 30_000);
  afterAll(async () => {
    for (const a of agents) await a.stop();
  });

  test("a change to one deployment re-plans that one, not the others; a full pass still looks at every one", async () => {
    const observed = engines.map(() => new Map<string, number>());
    let lastQuiet = Date.now();
    engines.forEach((e, i) => {
      const observe = e.observe.bind(e);
      e.observe = (project: string, node?: string) => {
        observed[i]!.set(project, (observed[i]!.get(project) ?? 0) + 1);
        if (project === "quiet") lastQuiet = Date.now();
        return observe(project, node);
      };
    });
    await agents[0]!.client.up("quiet", files(2));
    await agents[0]!.client.up("busy", files(2));
    await until("both deployments run", 10_000, async () => running("quiet") === 2 && running("busy") === 2);
    // The records of both go round and wake passes of their own: wait until quiet has had none for a second.
    await until("quiet settled", 20_000, async () => Date.now() - lastQuiet > 1000);
    for (const m of observed) m.clear();
    /** Membership and engine changes the agent heard in the window (each wakes a full pass). */
    const fullWakes = [0, 0];
    agents.forEach((a, i) => {
      const d = a.deployments;
      const onChange = d.onChange.bind(d);
      d.onChange = (c) => {
        if (c.kind === "membership" || c.kind === "engine") fullWakes[i]!++;
        onChange(c);
      };
    });
    await agents[0]!.client.scale("busy", "web", 4);
    await until("busy scaled to 4", 10_000, async () => running("busy") === 4);
    await new Promise((r) => setTimeout(r, 1000));
    for (const i of [0, 1]) {
      expect(observed[i]!.get("busy") ?? 0).toBeGreaterThan(0);
      // A membership or engine change in the window would be a full pass, which looks at everything.
      if (fullWakes[i] === 0) expect(observed[i]!.get("quiet") ?? 0).toBe(0);
    }
    // The safety net: a full pass plans every deployment.
    agents[1]!.deployments.reconciler.wake();
    await until("a full pass observed quiet", 5000, async () => (observed[1]!.get("quiet") ?? 0) > 0);
    expect(running("quiet")).toBe(2);
  }, 40_000);
});
