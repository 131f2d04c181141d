/**
 * Two `fizz up` of one project from two nodes at the same moment: the
 * cluster keeps one (the later write), and the other is told it was
 * replaced by a later change (deploy.superseded), not that it failed on a
 * node and was reverted: nothing of it was undone, the other change runs.
 * Three whole agents in the simulator.
 */
import { expect, test } from "bun:test";
import { getDeployment } from "../../../core/state/index.ts";
import { isFizzError } from "../../../core/errors.ts";
import { formedCluster } from "./formed.ts";

const compose = (image: string) => ({
  files: [{ name: "compose.yaml", content: `services:\n  web:\n    image: ${image}\n    command: ["sleep", "3600"]\n    deploy: { replicas: 3 }\n` }],
  workingDir: "/srv/app",
});

test("two ups at once from two nodes: one runs everywhere; the other is superseded, not 'reverted'", async () => {
  const { world, agents } = await formedCluster(11);

  const outcome = (i: number, image: string) =>
    agents[i]!.controllers!.deployments.changes.put("app", compose(image), { local: true, follow: true }).then(
      () => "ok",
      (e: unknown) => (isFizzError(e) ? e.code : String(e)),
    );
  const both = Promise.all([outcome(0, "app:1"), outcome(1, "app:2")]);
  await world.run(world.now + 60_000);
  const codes = await both;
  const winner = JSON.stringify(getDeployment(agents[2]!.controllers!.membership.current!.state, "app")?.spec).includes("app:2") ? 1 : 0;
  const loser = 1 - winner;
  expect(codes[loser]).toBe("deploy.superseded");
  expect(codes[winner]).toBe("ok");
}, 60_000);
