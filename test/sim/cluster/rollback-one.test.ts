/**
 * A one-replica service's update fails its healthcheck: it is rolled back
 * (failure_action defaults to rollback), as a larger service's is. Found on
 * the 3-host harness: the only batch of the update was also its last, the
 * rollout rule saw no replica left on the older spec and paused ("update
 * paused", no reason) instead, so the replica kept failing on the new spec and
 * `fizz up --wait` waited until its timeout.
 */
import { expect, test } from "bun:test";
import { LABEL } from "../../../core/labels.ts";
import { getDeployment } from "../../../core/state/index.ts";
import { formedCluster } from "./formed.ts";
import { BAD, GOOD, healthcheckedApi } from "./healthchecked-api.ts";

const compose = (command: string) => healthcheckedApi(command, "      update_config: { monitor: 3s }\n");

test("a one-replica service whose update fails is rolled back, and `up --wait` says so", async () => {
  const { world, agents } = await formedCluster(11, 3, (a) => {
    // As on an engine: a new container's health check says `starting` a while (retries × interval) before it fails.
    const engine = a.engine as unknown as { o: { now: () => number; unhealthy?: (c: { cmd: readonly string[]; createdAt: number }) => boolean; healthDelayMs?: number } };
    const o = engine.o;
    engine.o = { ...o, healthDelayMs: 3000, unhealthy: (c) => !c.cmd.join(" ").includes("touch /ok") && o.now() - c.createdAt >= 2000 };
  });
  const up = (command: string) => void agents[0]!.controllers!.deployments.changes.put("app", compose(command), { local: true }).catch(() => undefined);
  const api = () =>
    agents.flatMap((a) =>
      [...a.engine.containersById.values()].filter((c) => c.state === "running" && c.labels[LABEL.project] === "app").map((c) => c.cmd.join(" ")),
    );

  up(GOOD);
  await world.run(world.now + 15_000);
  expect(api()).toHaveLength(1);

  // As `fizz up -d --wait`: the change is followed until every replica runs it, healthy.
  const bad = agents[0]!.controllers!.deployments.changes
    .put("app", { ...compose(BAD), options: { wait: true } }, { local: true, follow: true, signal: new AbortController().signal })
    .then(
      () => "deployed",
      (e: { code?: string; message?: string }) => `${e.code}: ${e.message}`,
    );
  await world.run(world.now + 60_000);
  for (const a of agents) expect(JSON.stringify(getDeployment(a.controllers!.membership.current!.state, "app")?.spec)).toContain("touch /ok");
  expect(api()).toHaveLength(1);
  expect(api()[0]).toContain("touch /ok");
  expect(await bad).toMatch(/^deploy\.failed_on_node: n\d: replica 1 failed on the new spec; rolling back/);
}, 60_000);

test("a replica that fails long after its update settled is not rolled back (the health monitor's business)", async () => {
  const { world, agents } = await formedCluster(12);
  const up = (command: string) => void agents[0]!.controllers!.deployments.changes.put("app", compose(command), { local: true }).catch(() => undefined);
  up(GOOD);
  await world.run(world.now + 15_000);
  const SECOND = `sh -c 'touch /ok; exec sleep 3601'`;
  up(SECOND);
  await world.run(world.now + 30_000);
  const mine = agents.flatMap((a) => [...a.engine.containersById.values()].filter((c) => c.state === "running" && c.labels[LABEL.project] === "app"));
  expect(mine.map((c) => c.cmd.join(" "))).toEqual(["sh -c touch /ok; exec sleep 3601"]);
  mine[0]!.unhealthy = true;
  await world.run(world.now + 30_000);
  for (const a of agents) expect(JSON.stringify(getDeployment(a.controllers!.membership.current!.state, "app")?.spec)).toContain("sleep 3601");
}, 60_000);
