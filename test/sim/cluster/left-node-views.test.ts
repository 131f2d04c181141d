/**
 * A node that leaves (`fizz leave`) takes its containers down, and its
 * container records leave the cluster state with it. They stayed: `fizz ps`
 * on every other node listed its former replicas as `unknown (node n1 left)`,
 * then, once the member was reaped an hour later, `unknown (node … is not a
 * member)`, forever, beside the replicas that replaced them. A dead node's
 * records stay (it may come back with its containers running).
 */
import { expect, test } from "bun:test";
import { formedCluster } from "./formed.ts";

const app = {
  files: [{ name: "compose.yaml", content: `services:\n  web:\n    image: app:1\n    command: ["serve"]\n    deploy:\n      replicas: 3\n  agent:\n    image: app:1\n    deploy: { mode: global }\n` }],
  workingDir: "/srv/app",
};

test("a node that left is no longer in fizz ps on the others; its replicas run elsewhere", async () => {
  const { world, agents } = await formedCluster(12);
  const h0 = agents[0]!;
  void h0.controllers!.deployments.changes.put("app", app, { local: true });
  await world.run(world.now + 15_000);
  const api = () => h0.controllers!.deployments.api;
  expect((await api().listContainers({ deployment: "app" })).filter((c) => c.node === "n1").length).toBeGreaterThan(0);

  void agents[1]!.controllers!.membership.leave();
  let left = false;
  for (let t = 0; t < 60 && !left; t++) {
    await world.run(world.now + 500);
    left = h0.controllers!.membership.nodes().find((n) => n.name === "n1")?.state === "left";
  }
  expect(left).toBe(true);
  await world.run(world.now + 15_000);
  for (const a of [agents[0]!, agents[2]!]) {
    const list = await a.controllers!.deployments.api.listContainers({ deployment: "app" });
    expect(list.filter((c) => c.node === "n1").map((c) => `${c.name} ${c.status}`)).toEqual([]);
    // web's 3 replicas on the two nodes left, and the global agent on each.
    expect(list.filter((c) => c.state === "running").length).toBe(5);
  }
}, 120_000);
