/**
 * The one converge path in a cluster of three agents (real UDP/TCP on
 * loopback, in-memory engines): every `up` flag means the same on every node
 * as on one, `--scale` is part of the same change, and a change that fails on
 * one node is reverted on all, leaving nothing half-created anywhere.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { FizzError } from "../../../core/errors.ts";
import { LABEL } from "../../../core/labels.ts";
import { MemoryEngine, type MemoryContainer } from "../../support/memory-engine.ts";
import { formCluster, startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { until } from "../../support/wait.ts";

const dir = mkdtempSync(`${tmpdir()}/fizz-cluster-changes-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const files = (content: string, options: Record<string, unknown> = {}) => ({ files: [{ name: "compose.yaml", content }], workingDir: "/srv/app", options });
const spec = (o: { image?: string; replicas?: number; extra?: boolean; fail?: boolean } = {}) =>
  `services:\n  web:\n    image: ${o.image ?? "fizz-test/busybox:1"}\n    command: ["sleep", "3600"]\n${o.fail ? '    environment: { FAIL: "yes" }\n' : ""}    deploy: { replicas: ${o.replicas ?? 6}, update_config: { parallelism: 3, monitor: 500ms } }\n${o.extra ? '  side:\n    image: fizz-test/busybox:1\n    deploy: { mode: global }\n' : ""}`;

describe("a change in a cluster of three", () => {
  const agents: TestAgent[] = [];
  let failOn = "";
  const engines = [0, 1, 2].map(
    (i) =>
      new MemoryEngine({
        now: Date.now,
        name: `e${i}`,
        images: ["fizz-test/busybox:1", "fizz-test/busybox:2"],
        failStart: (c: MemoryContainer) => (c.env.includes("FAIL=yes") && failOn === `e${i}` ? "exec failed: no such file" : undefined),
      }),
  );
  const web = () => engines.flatMap((e) => e.running("shop", "web"));

  beforeAll(async () => {
    for (const i of [0, 1, 2]) agents.push(await startTestAgent({ name: `n${i}`, dir, host: `127.0.0.${41 + i}`, engine: engines[i]! }));
    await formCluster(agents);
  }, 30_000);
  afterAll(async () => {
    for (const a of agents) await a.stop();
  });

  test("up from one node converges every node's share before it answers", async () => {
    const r = await agents[1]!.client.up("shop", files(spec({ extra: true })));
    expect(r.created).toBe(true);
    expect(web()).toHaveLength(6);
    expect(engines.map((e) => e.running("shop", "web").length).every((n) => n === 2)).toBe(true);
    expect(engines.map((e) => e.running("shop", "side").length)).toEqual([1, 1, 1]);
  }, 30_000);

  test("--force-recreate --remove-orphans --scale from one node mean the same on every node", async () => {
    const before = new Set(web().map((c) => c.id));
    const r = await agents[2]!.client.up("shop", files(spec(), { forceRecreate: true, removeOrphans: true, scale: { web: 9 } }));
    expect(r.warnings ?? []).toEqual([]);
    const now = web();
    expect(now).toHaveLength(9);
    expect(now.some((c) => before.has(c.id))).toBe(false);
    for (const e of engines) expect([...e.containersById.values()].filter((c) => c.labels[LABEL.service] === "side")).toEqual([]);
    // Applied once: the next passes recreate nothing.
    const ids = now.map((c) => c.id).sort();
    for (const a of agents) await a.deployments.reconciler.passAll();
    expect(web().map((c) => c.id).sort()).toEqual(ids);
  }, 30_000);

  test("a change that fails on one node is reverted on all: nothing half-created anywhere", async () => {
    const before = web().map((c) => `${c.name}@${c.image}`).sort();
    failOn = "e1";
    let err: FizzError | undefined;
    try {
      await agents[0]!.client.up("shop", files(spec({ image: "fizz-test/busybox:2", fail: true, replicas: 9 })));
    } catch (e) {
      err = e as FizzError;
    }
    failOn = "";
    // Failed where it ran: the node's own error, or its rolling update's verdict.
    expect(err?.message).toMatch(/^n1: (start:.*exec failed|.*failed on the new spec)/);
    await until("the previous spec on every node", 15_000, () => web().map((c) => `${c.name}@${c.image}`).sort().join() === before.join() || undefined).catch((e: Error) => {
      throw new Error(`${e.message}: want ${before.join(" ")}; running ${web().map((c) => `${c.name}@${c.image}`).sort().join(" ")}; specs ${agents.map((a) => (a.store.getDeployment("shop")?.spec as { services: { web: { image: string } } } | undefined)?.services.web.image).join(" ")}`);
    });
    for (const e of engines) expect([...e.containersById.values()].filter((c) => c.image === "fizz-test/busybox:2")).toEqual([]);
    for (const a of agents) expect(((await a.client.getDeployment("shop")).spec as { services: { web: { image: string } } }).services.web.image).toBe("fizz-test/busybox:1");
  }, 30_000);

  test("a new deployment that fails is removed from every node", async () => {
    failOn = "e2";
    let err: FizzError | undefined;
    try {
      await agents[1]!.client.up("fresh", files(spec({ fail: true, replicas: 3 })));
    } catch (e) {
      err = e as FizzError;
    }
    failOn = "";
    expect(err?.code).toBe("deploy.failed_on_node");
    await until("fresh gone everywhere", 15_000, async () => {
      for (const a of agents) if ((await a.client.listDeployments()).some((d) => d.name === "fresh")) return false;
      return engines.every((e) => [...e.containersById.values()].every((c) => c.labels[LABEL.project] !== "fresh") && ![...e.networks.keys()].some((k) => k.startsWith("fresh")));
    });
  }, 30_000);

  test("a service with a published port converges: placement hashes it as its containers are made (ports are the ingress's)", async () => {
    const r = await agents[1]!.client.up("pub", files(`services:\n  web:\n    image: fizz-test/busybox:1\n    command: ["sleep", "3600"]\n    ports: ["8080:80"]\n    deploy: { replicas: 3 }\n`));
    expect(r.created).toBe(true);
    expect(engines.flatMap((e) => e.running("pub", "web"))).toHaveLength(3);
    await agents[1]!.client.down("pub");
  }, 20_000);

  test("fizz scale from any node; fizz down from another removes it everywhere", async () => {
    await agents[2]!.client.scale("shop", "web", 3);
    expect(web().map((c) => `${c.name}@${c.image}`).sort()).toHaveLength(3);
    await agents[0]!.client.down("shop");
    await until("nothing left", 15_000, () => engines.every((e) => [...e.containersById.values()].every((c) => c.labels[LABEL.project] !== "shop")) || undefined);
  }, 30_000);
});
