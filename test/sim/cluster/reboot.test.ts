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

const runsOf = (a: SimAgent, p: string) => [...a.engine.containersById.values()].some((c) => c.state === "running" && c.labels[LABEL.project] === p);

/**
 * As dockerd does for `restart: always` or `unless-stopped`: the engine starts
 * the old container again when the machine is back, so the returning node's
 * fresh report says its copy runs too. The copy made while it was away stays;
 * the returning node removes its old one (it used to keep whichever copy was
 * on the lower node id, pulling a replica back onto a node whose data was stale).
 */
// Projects b and g first run on a lower node id than the one they move to (what the old rule kept), d on a higher one.
for (const name of ["b", "g", "d"]) {
  test(`a rebooted node whose engine restarts the old container gives it up to the copy made meanwhile (project ${name})`, async () => {
    const { world, agents } = await formedCluster(5);
    void agents[0]!.controllers!.deployments.changes.put(name, project, { local: true });
    await world.run(world.now + 10_000);
    const first = agents.find((a) => runsOf(a, name))!;
    expect(first).toBeDefined();

    first.crash();
    const old = [...first.engine.containersById.values()].filter((c) => c.state === "running" && c.labels[LABEL.project] === name);
    for (const c of old) Object.assign(c, { state: "exited", exitCode: 255 });
    await world.run(world.now + 30_000);
    const second = agents.find((a) => a !== first && runsOf(a, name))!;
    expect(second).toBeDefined();
    const id = [...second.engine.containersById.values()].find((c) => c.state === "running" && c.labels[LABEL.project] === name)!.id;

    // The machine is back: its engine starts the old container before the agent runs.
    for (const c of old) Object.assign(c, { state: "running", exitCode: 0 });
    await first.restart();
    await world.run(world.now + 30_000);
    expect(second.engine.containersById.get(id)?.state).toBe("running");
    expect(runsOf(first, name)).toBe(false);
  }, 120_000);
}
