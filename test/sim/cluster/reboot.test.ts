/**
 * A machine reboots: its agent and its containers die (the engine keeps them,
 * exited), the others start its replica elsewhere, and when it comes back it
 * takes nothing back: the replica stays where it runs now.
 */
import { expect, test } from "bun:test";
import { LABEL } from "../../../core/labels.ts";
import type { SimAgent } from "./agent.ts";
import { formedCluster } from "./formed.ts";

const project = {
  files: [{ name: "compose.yaml", content: `services:\n  db:\n    image: app:1\n    command: ["serve"]\n` }],
  workingDir: "/srv/p",
};

const runs = (a: SimAgent) => [...a.engine.containersById.values()].some((c) => c.state === "running" && c.labels[LABEL.project] === "p");

test("a rebooted node takes back nothing: the replica that moved stays where it runs", async () => {
  const { world, agents } = await formedCluster(5);
  void agents[0]!.controllers!.deployments.changes.put("p", project, { local: true });
  await world.run(world.now + 10_000);
  const first = agents.find(runs)!;
  expect(first).toBeDefined();

  // The machine dies: the agent, and its containers with it (exited, as after a power cut).
  first.crash();
  for (const c of first.engine.containersById.values()) if (c.state === "running") Object.assign(c, { state: "exited", exitCode: 255 });
  await world.run(world.now + 30_000);
  const second = agents.find((a) => a !== first && runs(a))!;
  expect(second).toBeDefined();
  const id = [...second.engine.containersById.values()].find((c) => c.state === "running" && c.labels[LABEL.project] === "p")!.id;

  await first.restart();
  for (let t = 0; t < 120; t++) {
    await world.run(world.now + 250);
    // The replica never leaves the node it moved to.
    expect(second.engine.containersById.get(id)?.state).toBe("running");
    expect(runs(first)).toBe(false);
  }
}, 120_000);
