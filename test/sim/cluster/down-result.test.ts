/**
 * `fizz down` in a cluster: the answer says the deployment left the cluster
 * (every node takes its own part down) and counts what this node removed, so
 * the CLI does not print "0 containers" as if nothing went.
 */
import { expect, test } from "bun:test";
import { LABEL } from "../../../core/labels.ts";
import type { SimAgent } from "./agent.ts";
import { formedCluster } from "./formed.ts";

const project = {
  files: [{ name: "compose.yaml", content: `services:\n  web:\n    image: app:1\n    command: ["serve"]\n    deploy:\n      replicas: 3\n` }],
  workingDir: "/srv/p",
};

const running = (a: SimAgent) => [...a.engine.containersById.values()].filter((c) => c.state === "running" && c.labels[LABEL.project] === "p").length;

test("down in a cluster answers cluster: true with this node's counts, and every node takes its part down", async () => {
  const { world, agents } = await formedCluster(11);
  void agents[0]!.controllers!.deployments.changes.put("p", project, { local: true });
  await world.run(world.now + 10_000);
  expect(agents.reduce((n, a) => n + running(a), 0)).toBe(3);
  const here = running(agents[1]!);

  let answer: unknown;
  void agents[1]!.controllers!.deployments.changes.remove("p", { volumes: true }, new AbortController().signal).then((r) => (answer = r));
  await world.run(world.now + 10_000);
  expect(answer).toEqual({ deployment: "p", removed: { containers: here, networks: expect.any(Number), volumes: expect.any(Number) }, cluster: true });
  expect(agents.reduce((n, a) => n + running(a), 0)).toBe(0);
}, 60_000);
