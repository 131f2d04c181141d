/**
 * The membership controller (controllers/cluster/membership.ts) behind the real API
 * routes, with real UDP/TCP on loopback and FakeBackends for the engine side:
 * init → join, deployments replicated both ways with their origin, key
 * rotation at runtime (install/use/remove on every node, still talking), a
 * wrong key refused with nothing persisted, a crash + restart from the same
 * store rejoining by itself, and leave.
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { FizzError } from "../../../core/errors.ts";
import { parseJoinToken } from "../../../core/cluster-crypto/index.ts";
import { MemoryEngine } from "../../support/memory-engine.ts";
import { startTestAgent, type TestAgent } from "../../support/test-agent.ts";
import { until, failure } from "../../support/wait.ts";

const dir = mkdtempSync(`${tmpdir()}/fizz-cluster-agent-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

type Agent = TestAgent & { readonly cluster: TestAgent["membership"]; readonly backend: MemoryEngine };

async function agent(name: string, host: string, engine?: MemoryEngine): Promise<Agent> {
  const a = await startTestAgent({ name, dir, host, ...(engine ? { engine } : {}) });
  return { ...a, cluster: a.membership, backend: a.engine };
}

const project = (img: string) => ({ files: [{ name: "compose.yaml", content: `services:\n  web:\n    image: ${img}\n` }] });

test("init, join, replicate, rotate keys, refuse a wrong key, crash + rejoin, leave", async () => {
  const a = await agent("a", "127.0.0.21");
  // A deployment made before the cluster exists is published on init.
  await a.client.up("early", project("busybox"));
  const b = await agent("b", "127.0.0.22");
  const c = await agent("c", "127.0.0.23");
  try {
    expect((await failure(b.client.clusterNodes())).code).toBe("cluster.not_member");
    const init = await a.client.clusterInit();
    expect(init.address).toMatch(/^127\.0\.0\.21:\d+$/);
    expect((await failure(a.client.clusterInit())).code).toBe("cluster.already_member");
    const joined = await b.client.clusterJoin(init.address, init.token);
    expect(joined.via).toBe(init.address);
    const idA = init.node;
    const idB = joined.node;
    await until("both alive on both", 5000, async () => {
      const [na, nb] = [await a.client.clusterNodes(), await b.client.clusterNodes()];
      return [...na, ...nb].filter((n) => n.state === "alive").length === 4;
    });

    // Replication both ways, with the origin node.
    await b.client.up("shop", project("nginx"));
    await until("a lists shop and early; b lists early", 3000, async () => {
      const la = await a.client.listDeployments();
      const lb = await b.client.listDeployments();
      return la.some((d) => d.name === "shop" && (d as { origin?: string }).origin === idB) && lb.some((d) => d.name === "early" && (d as { origin?: string }).origin === idA);
    });
    expect((await a.client.getDeployment("shop")).spec).toMatchObject({ name: "shop", services: { web: { image: "nginx" } } });
    // A deployment made on another node can be removed here: it leaves the cluster state, and every node takes its part down.
    await a.client.down("shop");
    await until("a no longer lists shop", 3000, async () => !(await a.client.listDeployments()).some((d) => d.name === "shop"));

    // Key rotation at runtime: install everywhere, use everywhere, remove the old key everywhere.
    const k2 = Buffer.from(new Uint8Array(32).fill(42)).toString("base64");
    const old = (await a.client.clusterKeys()).primary;
    const id2 = (await a.client.clusterKeyInstall(k2)).installed;
    await b.client.clusterKeyInstall(k2);
    await a.client.clusterKeyUse(id2);
    await b.client.clusterKeyUse(id2);
    expect((await failure(a.client.clusterKeyRemove(id2))).code).toBe("keyring.remove_primary");
    await a.client.clusterKeyRemove(old);
    await b.client.clusterKeyRemove(old);
    expect(await b.client.clusterKeys()).toEqual({ primary: id2, keys: [{ id: id2, primary: true }] });
    await a.client.up("after-rotation", project("redis"));
    await until("b lists after-rotation", 3000, async () => (await b.client.listDeployments()).some((d) => d.name === "after-rotation"));
    expect((await a.client.clusterNodes()).every((n) => n.state === "alive")).toBe(true);

    // The old token now carries a removed key: refused, and nothing is kept on c.
    const stale = await failure(c.client.clusterJoin(init.address, init.token));
    expect({ status: stale.status, code: stale.code }).toEqual({ status: 403, code: "cluster.wrong_key" });
    expect(stale.message).toContain("wrong cluster key");
    expect(c.store.getMeta("cluster_id") ?? "").toBe("");
    const garbled = await failure(c.client.clusterJoin(init.address, init.token.slice(0, -1)));
    expect({ status: garbled.status, code: garbled.code }).toEqual({ status: 400, code: "join_token.checksum" });
    // Any member hands out the token of the cluster as it is now (`fizz cluster token`): the rotated key, that member as seed.
    const minted = await b.client.clusterToken();
    expect({ cluster: minted.cluster, node: minted.node, address: minted.address }).toEqual({ cluster: init.cluster, node: idB, address: (await b.client.clusterNodes()).find((n) => n.self)!.address });
    const mintedParsed = parseJoinToken(minted.token);
    if (!mintedParsed.ok) throw new Error(mintedParsed.error.message);
    expect(Buffer.from(mintedParsed.token.key).equals(Buffer.from(new Uint8Array(32).fill(42)))).toBe(true);
    await c.client.clusterJoin(minted.address, minted.token);
    await until("a sees 3 alive", 5000, async () => (await a.client.clusterNodes()).filter((n) => n.state === "alive").length === 3);

    // Crash a (no leave) and restart it from the same store: it rejoins by itself with its id.
    const aBackend = a.backend;
    await a.stop();
    await until("b marks a dead", 8000, async () => (await b.client.clusterNodes()).find((n) => n.id === idA)?.state === "dead");
    const a2 = await agent("a", "127.0.0.21", aBackend);
    try {
      expect(a2.cluster.nodeId).toBe(idA);
      await until("a alive again on b and c", 8000, async () => {
        const seen = [...(await b.client.clusterNodes()), ...(await c.client.clusterNodes())].filter((n) => n.id === idA);
        return seen.length === 2 && seen.every((n) => n.state === "alive");
      });
      expect((await a2.client.listDeployments()).map((d) => d.name)).toEqual(["after-rotation", "early"]);
      expect((await a2.client.clusterKeys()).primary).toBe(id2);

      // Leave: the others see it, and b forgets the cluster.
      await b.client.clusterLeave();
      await until("a sees b left", 5000, async () => (await a2.client.clusterNodes()).find((n) => n.id === idB)?.state === "left");
      expect((await failure(b.client.clusterNodes())).code).toBe("cluster.not_member");
      expect(b.store.keys.read("cluster-keyring")).toBeUndefined();
      // A node that is not a member has no token to give; one that left comes back with a member's.
      expect((await failure(b.client.clusterToken())).code).toBe("cluster.not_member");
      const again = await a2.client.clusterToken();
      await b.client.clusterJoin(again.address, again.token);
      await until("a sees b alive again", 8000, async () => (await a2.client.clusterNodes()).find((n) => n.id === idB)?.state === "alive");
    } finally {
      await a2.stop();
    }
  } finally {
    await b.stop();
    await c.stop();
  }
}, 60_000);
