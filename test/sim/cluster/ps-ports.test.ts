/**
 * `fizz ps` in a cluster shows in PORTS what a client connects to: a published
 * port is served by the ingress on every node (`0.0.0.0:8080->80/tcp` on every
 * replica's row, wherever it runs), and a `mode: host` port only on the node
 * its replica runs on (`n1:9090->90/tcp`), also for other nodes' replicas.
 */
import { expect, test } from "bun:test";
import { formedCluster } from "./formed.ts";

const app = {
  files: [
    {
      name: "compose.yaml",
      content:
        `services:\n  web:\n    image: app:1\n    command: ["serve"]\n    ports: ["8080:80"]\n    deploy:\n      replicas: 3\n` +
        `  agent:\n    image: app:1\n    ports:\n      - { target: 90, published: "9090", mode: host }\n    deploy: { mode: global }\n`,
    },
  ],
  workingDir: "/srv/app",
};

test("ingress ports on every replica's row, mode: host ports with the replica's node", async () => {
  const { world, agents } = await formedCluster(12);
  const h0 = agents[0]!;
  void h0.controllers!.deployments.changes.put("app", app, { local: true });
  await world.run(world.now + 15_000);
  const list = await h0.controllers!.deployments.api.listContainers({ deployment: "app" });
  const web = list.filter((c) => c.service === "web");
  expect(web).toHaveLength(3);
  for (const c of web) expect(c.ports).toContain("0.0.0.0:8080->80/tcp");
  const remote = list.filter((c) => c.service === "agent" && c.node !== "n0");
  expect(remote.map((c) => c.node).sort()).toEqual(["n1", "n2"]);
  for (const c of remote) expect(c.ports).toEqual([`${c.node}:9090->90/tcp`]);
}, 120_000);
