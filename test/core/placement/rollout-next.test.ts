import { expect, test } from "bun:test";
import { decideRollout, DEFAULT_ROLLOUT } from "../../../core/placement/rollout.ts";

test("a rollout waiting only on a replica's monitor says when to decide again", () => {
  const config = { ...DEFAULT_ROLLOUT, parallelism: 1, monitorMs: 2000 };
  const d = decideRollout({
    target: "new",
    now: 10_500,
    config,
    replicas: [
      { index: 0, record: { status: "healthy", specHash: "new", startedAt: 10_000 } },
      { index: 1, record: { status: "healthy", specHash: "old", startedAt: 1_000 } },
    ],
  });
  expect(d.phase).toBe("updating");
  expect(d.hold.has(1)).toBe(true);
  // Nothing else will happen: without nextAt the next replica would wait for the loop's next timer.
  expect(d.nextAt).toBe(12_000);
});
