/**
 * One engine, one node (issue 18 item 9): an agent whose engine, by the
 * engine's own id, a live member already drives refuses to join, and the
 * error names both nodes and the engine; with its own engine it joins.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { FizzError } from "../../../core/errors.ts";
import { MemoryEngine } from "../../support/memory-engine.ts";
import { startTestAgent } from "../../support/test-agent.ts";

const dir = mkdtempSync(`${tmpdir()}/fizz-shared-engine-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a node on an engine another live member drives is refused, both named; its own engine joins", async () => {
  const shared = new MemoryEngine({ now: Date.now, images: ["fizz-test/busybox:1"] });
  const a = await startTestAgent({ name: "alpha", dir, host: "127.0.0.51", engine: shared });
  const b = await startTestAgent({ name: "bravo", dir, host: "127.0.0.52", engine: shared });
  const c = await startTestAgent({ name: "charlie", dir, host: "127.0.0.53" });
  const d = await startTestAgent({ name: "delta", dir, host: "127.0.0.54", engine: shared, config: (cfg) => ({ ...cfg, cluster: { ...cfg.cluster, allow_shared_engine: true } }) });
  try {
    const init = await a.client.clusterInit();
    let err: FizzError | undefined;
    try {
      await b.client.clusterJoin(init.address, init.token);
    } catch (e) {
      err = e as FizzError;
    }
    expect(err?.status).toBe(409);
    expect(err?.code).toBe("cluster.engine_shared");
    expect(err?.message).toContain("this node (bravo");
    expect(err?.message).toContain("member alpha");
    expect(err?.message).toContain(`memory:${shared.id}`);
    // Nothing of the refused join is kept: b is no member, and can still join elsewhere.
    expect(b.store.getMeta("cluster_id") ?? "").toBe("");
    expect((await b.client.clusterNodes().catch((e: FizzError) => e.code)) as unknown).toBe("cluster.not_member");
    // Another engine is fine; an explicit opt-in too.
    await c.client.clusterJoin(init.address, init.token);
    await d.client.clusterJoin(init.address, init.token);
    const deadline = Date.now() + 8000;
    while ((await a.client.clusterNodes()).filter((n) => n.state === "alive").length !== 3) {
      if (Date.now() > deadline) throw new Error("alpha, charlie and delta not all alive");
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    for (const x of [a, b, c, d]) await x.stop();
  }
}, 30_000);
