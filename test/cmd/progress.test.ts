import { describe, expect, test } from "bun:test";
import { progressMode, progressRenderer, toInputs } from "../../cmd/progress.ts";
import type { Context } from "../../cmd/context.ts";
import type { StepEvent } from "../../platform/deploy/executor.ts";

function ctx(): Context & { text: string } {
  const c = {
    text: "",
    global: { logLevel: "info" as const, logFormat: undefined, color: false, host: undefined },
    logger: () => Promise.reject(new Error("unused")),
    out: (t: string) => void (c.text += t),
    err: (t: string) => void (c.text += t),
  };
  return c;
}

const container = { id: "1", name: "shop-web-1", service: "web", number: 1 } as never;
const events: StepEvent[] = [
  { type: "start", step: { kind: "startContainer", id: "s", after: [], container, reason: { code: "requested" } } as never },
  { type: "done", step: { kind: "startContainer", id: "s", after: [], container, reason: { code: "requested" } } as never },
  { type: "progress", step: { kind: "buildImage", id: "b", after: [], image: "shop-api", service: "api", reason: { code: "requested" } } as never, line: "Step 1/2 : FROM busybox" },
  { type: "failed", step: { kind: "buildImage", id: "b", after: [], image: "shop-api", service: "api", reason: { code: "requested" } } as never, error: { message: "no such file" } as never },
];

describe("--progress", () => {
  test("modes: explicit, COMPOSE_PROGRESS, auto is plain without a terminal or in CI; unknown is a usage error", () => {
    expect(progressMode({ progress: "json" }, {})).toBe("json");
    expect(progressMode({}, { COMPOSE_PROGRESS: "quiet" })).toBe("quiet");
    expect(progressMode({}, { CI: "true" })).toBe("plain");
    expect(() => progressMode({ progress: "fancy" }, {})).toThrow(/unknown progress mode/);
  });

  test("executor events become typed view inputs (never parsed from text)", () => {
    expect(toInputs(events[0]!, 5)).toEqual([{ type: "start", id: "Container shop-web-1", text: "Starting", at: 5 }]);
    expect(toInputs(events[1]!, 6)).toEqual([{ type: "done", id: "Container shop-web-1", text: "Started", at: 6 }]);
    expect(toInputs({ type: "progress", step: (events[2] as unknown as { step: never }).step, line: "x", bytes: { layer: "l1", status: "Downloading", current: 1, total: 2 } }, 7)).toEqual([
      { type: "bytes", id: "Image shop-api", layer: "l1", status: "Downloading", current: 1, total: 2, at: 7 },
    ]);
  });

  test("a recreate's row ends Started: its rename and its removal of the old container (after the start) are not shown", () => {
    const old = { id: "0", name: "shop-web-1", service: "web", number: 1 } as never;
    const sub = { code: "recreate" } as const;
    const step = (kind: string, extra: object) => ({ kind, id: kind, after: [], reason: sub, ...extra }) as never;
    const seq: StepEvent[] = [
      { type: "done", step: step("renameContainer", { container: old, to: "0_shop-web-1" }) },
      { type: "done", step: step("createContainer", { name: "shop-web-1", service: "web", number: 1, replaces: old }) },
      { type: "done", step: step("startContainer", { container }) },
      { type: "done", step: step("removeContainer", { container: old, volumes: false }) },
    ];
    const c = ctx();
    const r = progressRenderer(c, "plain", () => 0);
    for (const e of seq) r.onEvent(e);
    r.finish();
    expect(c.text).not.toContain("Removed");
    expect(c.text.trim().split("\n").at(-1)).toMatch(/Container shop-web-1 +Started/);
  });

  test("plain prints finished steps and build lines; quiet only failures; json one object per event", () => {
    for (const [mode, check] of [
      ["plain", (t: string) => expect(t).toBe(" ✔ Container shop-web-1               Started\n   shop-api | Step 1/2 : FROM busybox\n ✘ Image shop-api                     no such file\n")],
      ["quiet", (t: string) => expect(t).toBe(" ✘ Image shop-api                     no such file\n")],
      ["json", (t: string) => expect(t.trim().split("\n").map((l) => JSON.parse(l).type)).toEqual(["start", "done", "line", "failed"])],
    ] as const) {
      const c = ctx();
      const r = progressRenderer(c, mode, () => 0);
      for (const e of events) r.onEvent(e);
      r.finish();
      check(c.text);
    }
  });

  test("tty redraws the block in place and ends with every row's final state", () => {
    const c = ctx();
    const r = progressRenderer(c, "tty", () => 0);
    for (const e of events) r.onEvent(e);
    r.finish();
    expect(c.text).toContain("\x1b[1F\x1b[0J");
    const last = c.text.split("\x1b[0J").at(-1)!;
    expect(last).toContain("✔ Container shop-web-1");
    expect(last).toContain("✘ Image shop-api");
  });
});
