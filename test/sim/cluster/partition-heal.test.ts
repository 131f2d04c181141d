/**
 * A partition heals: the side that ran a deployment alone follows the
 * membership back promptly (its placement sees the peers alive again and its
 * duplicate replicas go), even while its reconcile loop is busy with another
 * deployment's pass (on a real host, an image pull or a wait can hold a pass
 * for minutes): placement used to be recomputed only when a pass began.
 */
import { expect, test } from "bun:test";
import { LABEL } from "../../../core/labels.ts";
import type { SimAgent } from "./agent.ts";
import { formedCluster } from "./formed.ts";

const project = (replicas: number) => ({
  files: [{ name: "compose.yaml", content: `services:\n  db:\n    image: app:1\n    command: ["serve"]\n    deploy:\n      replicas: ${replicas}\n` }],
  workingDir: "/srv/p",
});

function running(a: SimAgent, p: string): number[] {
  return [...a.engine.containersById.values()].filter((c) => c.state === "running" && c.labels[LABEL.project] === p).map((c) => Number(c.labels[LABEL.containerNumber]));
}

test("after a partition heals, the healed node's placement follows the membership at once, a busy reconcile loop or not", async () => {
  const { world, agents } = await formedCluster(7);
  const h2 = agents[2]!;
  // Another deployment, already there before the partition.
  void h2.controllers!.deployments.changes.put("q", project(1), { local: true });
  await world.run(world.now + 5000);

  // h2 alone: the others are dead to it; a new project goes up there and runs all three replicas.
  world.partition([[0, 1], [2]]);
  await world.run(world.now + 40_000);
  expect(h2.controllers!.membership.nodes().filter((n) => n.state === "dead").length).toBe(2);
  void h2.controllers!.deployments.changes.put("p", project(3), { local: true });
  await world.run(world.now + 20_000);
  expect(running(h2, "p").sort()).toEqual([1, 2, 3]);

  // From now on a pass of q on h2 hangs for two minutes (as a pull can on a real host).
  const engine = h2.engine;
  const observe = engine.observe.bind(engine);
  engine.observe = (async (name: string, node?: string) => {
    if (name === "q") await new Promise<void>((r) => world.after(120_000, r));
    return observe(name, node);
  }) as typeof engine.observe;
  await world.run(world.now + 12_000);

  world.heal();
  const healedAt = world.now;
  let aliveAt: number | undefined;
  let placedAt: number | undefined;
  let dedupAt: number | undefined;
  while (world.now < healedAt + 60_000 && dedupAt === undefined) {
    await world.run(world.now + 250);
    if (aliveAt === undefined && h2.controllers!.membership.nodes().every((n) => n.state === "alive")) aliveAt = world.now;
    const cp = h2.controllers!.placement.source.placement();
    if (placedAt === undefined && cp && cp.live.size === 3) placedAt = world.now;
    const total = agents.reduce((n, a) => n + running(a, "p").length, 0);
    if (total === 3 && running(h2, "p").length < 3) dedupAt = world.now;
  }
  expect(aliveAt).toBeDefined();
  // `fizz why` on h2 sees the peers alive as soon as `fizz nodes` does.
  expect(placedAt).toBe(aliveAt!);
  // And its duplicates go within seconds.
  expect(dedupAt).toBeDefined();
  expect(dedupAt! - aliveAt!).toBeLessThan(10_000);
}, 120_000);
