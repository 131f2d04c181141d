/**
 * A dead node's containers are not running: `fizz ps` on a live node shows
 * them as unknown (node X is dead), `fizz ls` leaves them out of its counts
 * (and wants a global service's replica on every node placement gives it),
 * and `fizz nodes` shows no round trip for the dead node. Its records stay in
 * the cluster state (only it could remove them), so the views must judge them.
 */
import { expect, test } from "bun:test";
import { LABEL } from "../../../core/labels.ts";
import { formedCluster } from "./formed.ts";

const app = {
  files: [{ name: "compose.yaml", content: `services:\n  web:\n    image: app:1\n    command: ["serve"]\n    deploy:\n      replicas: 3\n  agent:\n    image: app:1\n    deploy: { mode: global }\n` }],
  workingDir: "/srv/app",
};

test("a dead node's containers show as unknown and are not counted as running; its RTT is not shown", async () => {
  const { world, agents } = await formedCluster(11);
  const h0 = agents[0]!;
  void h0.controllers!.deployments.changes.put("app", app, { local: true });
  await world.run(world.now + 15_000);
  const api = () => h0.controllers!.deployments.api;
  expect((await api().listContainers({ deployment: "app" })).filter((c) => c.state === "running")).toHaveLength(6);
  // `fizz ls` wants what it counts: 3 of web and the global agent on each of the 3 nodes (was 4: a global service
  // counted one, against its replicas counted on every node, so `fizz ls` read running(6/4)).
  for (const a of agents) expect((await a.controllers!.deployments.api.listDeployments()).find((x) => x.name === "app")).toMatchObject({ running: 6, desired: 6 });
  // `fizz inspect app` counts the same way (it counted this engine's containers alone: running 2 of 6).
  for (const a of agents) expect(await a.controllers!.deployments.api.getDeployment("app")).toMatchObject({ running: 6, desired: 6 });
  expect(h0.controllers!.membership.nodes().find((n) => n.name === "n1")!.rttMs).not.toBeNull();

  // h1's process dies: the others declare it dead; its records stay behind.
  agents[1]!.crash();
  let dead = false;
  for (let t = 0; t < 60 && !dead; t++) {
    await world.run(world.now + 500);
    dead = h0.controllers!.membership.nodes().find((n) => n.name === "n1")!.state === "dead";
  }
  expect(dead).toBe(true);
  const n1 = h0.controllers!.membership.nodes().find((n) => n.name === "n1")!;
  expect(n1.rttMs).toBeNull();

  const list = await api().listContainers({ deployment: "app" });
  const onN1 = list.filter((c) => c.node === "n1");
  expect(onN1.length).toBeGreaterThan(0);
  for (const c of onN1) {
    expect(c.state).toBe("unknown");
    expect(c.status).toBe("unknown (node n1 is dead)");
  }
  expect((await api().listContainers({ deployment: "app", state: "running" })).some((c) => c.node === "n1")).toBe(false);
  // `fizz ls` counts what runs on the live nodes only (the engines of n0 and n2).
  const live = [agents[0]!, agents[2]!].reduce((n, a) => n + [...a.engine.containersById.values()].filter((c) => c.state === "running" && c.labels[LABEL.project] === "app").length, 0);
  const d = (await api().listDeployments()).find((x) => x.name === "app")!;
  expect(d.running).toBe(live);
}, 120_000);
