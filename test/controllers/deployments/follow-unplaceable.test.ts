/**
 * A change whose only unfinished replicas fit no node ends rather than wait:
 * `fizz up -d` of a service constrained to `node.labels.zone == a` on a
 * cluster with no such node printed "the change waits for web #1 (pending:
 * fits no node)" every 5 s for ten minutes (the default wait timeout).
 * Waiting changes nothing until a node fits; `up -d` now returns with a
 * warning naming each replica and why each node refused it (the deployment
 * stays, and the replicas start when a node fits, as with `docker stack
 * deploy`), and `up --wait`, which asks for every replica running, fails at
 * once with the same reasons.
 */
import { expect, test } from "bun:test";
import type { Clock } from "../../../core/clock.ts";
import type { DeployIntent } from "../../../core/deploy/intent.ts";
import type { AgentEvent } from "../../../controllers/event-log.ts";
import { Follower, type ClusterFollow } from "../../../controllers/deployments/follow.ts";

const WHY = 'web #1 (ConstraintMismatch: "node.labels.zone == a" is not met: 3 nodes)';

function setup(outdated: () => { updating: string[]; unplaceable: string[] }) {
  let t = 1_000_000;
  // Virtual time: every sleep passes at once, and moves the clock on.
  const clock: Clock = {
    now: () => t,
    monotonic: () => t,
    setTimeout: (fn, ms) => {
      t += ms;
      queueMicrotask(fn);
      return { cancel() {} };
    },
  };
  const events: AgentEvent[] = [];
  let waitedRunning = false;
  const cluster: ClusterFollow = {
    active: () => true,
    pending: () => ({ waiting: [] }),
    outdated,
    waitRunning: async () => {
      waitedRunning = true;
    },
  };
  const follower = new Follower({ emit: (e) => events.push(e), waitReady: async () => {}, cluster, now: () => t, clock, pollMs: 250 });
  const intent: DeployIntent = { id: "i1", kind: "up" };
  const run = (wait: boolean) => {
    const done = follower.follow("exp", intent, { generation: 1, wait, timeoutMs: 600_000, warnings: [] });
    follower.applied({ deployment: "exp", intent, generation: 1, ok: true, actions: {}, warnings: [] });
    return done;
  };
  return { run, events, elapsed: () => t - 1_000_000, waitedRunning: () => waitedRunning };
}

test("up -d: replicas that fit no node end the change with a warning, not a ten-minute wait", async () => {
  const s = setup(() => ({ updating: [], unplaceable: [WHY] }));
  const out = await s.run(false);
  expect(out.ok).toBe(true);
  expect(s.elapsed()).toBeLessThan(5000);
  expect(out.warnings).toEqual([`1 replica fits no node and stays pending until one fits: ${WHY}; \`fizz why web\` explains it`]);
});

test("up --wait: replicas that fit no node fail the change at once, with the reasons", async () => {
  const s = setup(() => ({ updating: [], unplaceable: [WHY] }));
  const out = await s.run(true);
  expect(out.ok).toBe(false);
  expect(out.error?.code).toBe("deploy.unplaceable");
  expect(out.error?.message).toBe(`not every replica of exp can run: 1 replica fits no node: ${WHY}`);
  expect(s.waitedRunning()).toBe(false);
  expect(s.elapsed()).toBeLessThan(5000);
});

test("replicas still being created are waited for first; then the unplaceable ones are said", async () => {
  let polls = 0;
  const s = setup(() => (++polls < 5 ? { updating: ["web #2 on vm (not created yet)"], unplaceable: [WHY] } : { updating: [], unplaceable: [WHY] }));
  const out = await s.run(false);
  expect(polls).toBe(5);
  expect(out.ok).toBe(true);
  expect(out.warnings).toHaveLength(1);
});
