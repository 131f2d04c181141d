/**
 * The engine-events controller asks the engine to replay what it missed: the
 * first stream from the controller's start, a reopened one from when the
 * previous stream ended. Without it, a container removed between the agent's
 * start and the stream's opening (or while the stream was down) woke nothing
 * until the next timer pass.
 */
import { expect, test } from "bun:test";
import type { Clock } from "../../../core/clock.ts";
import type { Change } from "../../../controllers/changes.ts";
import type { AgentContext } from "../../../controllers/context.ts";
import { EngineEventsController } from "../../../controllers/engine-events/controller.ts";
import type { Engine } from "../../../platform/engine/index.ts";
import type { EventsOptions } from "../../../platform/engine/events.ts";

test("each stream replays from the controller's start, then from the end of the previous stream; replayed events wake the loop", async () => {
  let wall = 1_700_000_000_500;
  const clock: Clock = { now: () => wall, monotonic: () => wall, setTimeout: (fn) => (queueMicrotask(fn), { cancel() {} }) };
  const asked: (number | undefined)[] = [];
  const woke: Change[] = [];
  let reopened: () => void = () => {};
  const secondOpen = new Promise<void>((r) => (reopened = r));
  const engine = {
    async *events(o: EventsOptions) {
      asked.push(o.since);
      if (asked.length === 1) {
        // The first stream: the engine replays a removal that happened before the stream opened, then the stream ends.
        yield { Type: "container", Action: "destroy", Actor: { Attributes: { name: "app-web-1", "com.docker.compose.project": "app" } } };
        wall = 1_700_000_042_900; // the stream ended here
        return;
      }
      reopened();
      await new Promise<void>((_, reject) => o.signal?.addEventListener("abort", () => reject(new Error("aborted"))));
    },
  } as unknown as Engine;
  const ctx = { clock, notify: (c: Change) => woke.push(c) } as unknown as AgentContext;
  const c = new EngineEventsController(ctx, engine, { reconnectMs: 10 });
  c.start();
  await secondOpen;
  await c.stop();
  expect(asked).toEqual([1_700_000_000, 1_700_000_042]);
  expect(woke).toEqual([{ kind: "engine", action: "destroy", container: "app-web-1", project: "app" }]);
});
