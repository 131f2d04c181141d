/**
 * A rolling update whose first new replica fails its healthcheck is rolled
 * back, and then every replica runs the previous spec again, the failed one
 * included (as in Swarm). Three whole agents in the simulator; the bad spec
 * is a changed command (`sh -c 'touch /ok; ...'` losing its `touch /ok`),
 * which the engine's healthcheck fails.
 *
 * Found on a real cluster: the node of the failing replica rolls the service
 * back in the middle of its pass (placement's `share`), and that pass's
 * prepared desired state, made from the failed spec, was cached under the
 * reverted spec's version, so the node kept recreating the replica with the
 * failed command although it stored the previous spec.
 */
import { expect, test } from "bun:test";
import { LABEL } from "../../../core/labels.ts";
import { getDeployment } from "../../../core/state/index.ts";
import { formedCluster } from "./formed.ts";
import { BAD, GOOD, healthcheckedApi } from "./healthchecked-api.ts";

const compose = (command: string) => healthcheckedApi(command, "      replicas: 3\n      placement: { max_replicas_per_node: 1 }\n      update_config: { parallelism: 1, monitor: 3s }\n");

test("a rolled-back update leaves no replica on the failed spec", async () => {
  const { world, agents } = await formedCluster(7, 3, (a) => {
    // The healthcheck `test -f /ok` fails where the command did not make /ok.
    const engine = a.engine as unknown as { o: { unhealthy?: (c: { cmd: readonly string[] }) => boolean } };
    engine.o = { ...engine.o, unhealthy: (c) => !c.cmd.join(" ").includes("touch /ok") };
  });

  const up = (command: string) => void agents[0]!.controllers!.deployments.changes.put("app", compose(command), { local: true }).catch(() => undefined);
  const api = () =>
    agents.flatMap((a) =>
      [...a.engine.containersById.values()]
        .filter((c) => c.state === "running" && c.labels[LABEL.project] === "app" && c.labels[LABEL.service] === "api")
        .map((c) => ({ node: a.name, number: Number(c.labels[LABEL.containerNumber]), cmd: c.cmd.join(" ") })),
    );

  up(GOOD);
  await world.run(world.now + 15_000);
  expect(api().length).toBe(3);
  expect(api().every((r) => r.cmd.includes("touch /ok"))).toBe(true);

  // The bad change: replica 1 goes first, fails its healthcheck, and the service is rolled back.
  up(BAD);
  await world.run(world.now + 60_000);
  for (const a of agents) {
    const rec = getDeployment(a.controllers!.membership.current!.state, "app");
    expect(JSON.stringify(rec?.spec)).toContain("touch /ok");
    expect(JSON.stringify(a.store.getDeployment("app")?.spec)).toContain("touch /ok");
  }
  const now = api().sort((a, b) => a.number - b.number);
  expect(now.map((r) => `#${r.number} ${r.cmd.includes("touch /ok") ? "previous" : "failed"}`)).toEqual(["#1 previous", "#2 previous", "#3 previous"]);

  // Found on a real cluster: the revert stored the failed spec as the deployment's `previous`, so `fizz rollback api`
  // afterwards put the failed spec back (and it failed and was reverted again). As on one node, nothing is left to
  // roll back to, and the command says so.
  for (const a of agents) expect(getDeployment(a.controllers!.membership.current!.state, "app")?.previous).toBeUndefined();
  const rolled = agents[1]!.controllers!.deployments.changes.rollback("app", "api", new AbortController().signal).then(
    () => "rolled back",
    (e: { code?: string }) => e.code,
  );
  await world.run(world.now + 20_000);
  expect(await rolled).toBe("rollback.unavailable");
  for (const a of agents) expect(JSON.stringify(getDeployment(a.controllers!.membership.current!.state, "app")?.spec)).toContain("touch /ok");
}, 60_000);
