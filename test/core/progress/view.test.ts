import { describe, expect, test } from "bun:test";
import { bar, humanBytes, ProgressView, pullBytes, ttyLines } from "../../../core/progress/index.ts";

describe("progress view", () => {
  test("rows in first-seen order, states, elapsed time, notes", () => {
    const v = new ProgressView();
    v.apply({ type: "start", id: "Network shop_default", text: "Creating", at: 0 });
    v.apply({ type: "start", id: "Container shop-web-1", text: "Creating", at: 10 });
    v.apply({ type: "done", id: "Network shop_default", text: "Created", at: 40 });
    v.apply({ type: "note", text: "Rolled back x", at: 50 });
    expect(v.rows().map((r) => [r.id, r.state, r.text])).toEqual([
      ["Network shop_default", "done", "Created"],
      ["Container shop-web-1", "working", "Creating"],
    ]);
    expect(v.finished).toBe(false);
    expect(v.notes).toEqual(["Rolled back x"]);
    const lines = ttyLines(v, 1510, 80);
    expect(lines[0]).toMatch(/^ ✔ Network shop_default +Created +0\.0s$/);
    expect(lines[1]).toMatch(/^ \S Container shop-web-1 +Creating +1\.5s$/);
    expect(lines.every((l) => l.length === 80)).toBe(true);
  });

  test("pull bytes: layers summed into one bar; finished layers count in full", () => {
    const v = new ProgressView();
    v.apply({ type: "start", id: "Image redis:7", text: "Pulling", at: 0 });
    v.apply({ type: "bytes", id: "Image redis:7", layer: "a", status: "Downloading", current: 500_000, total: 1_000_000, at: 1 });
    v.apply({ type: "bytes", id: "Image redis:7", layer: "b", status: "Downloading", current: 0, total: 3_000_000, at: 1 });
    v.apply({ type: "bytes", id: "Image redis:7", layer: "b", status: "Download complete", at: 2 });
    v.apply({ type: "bytes", id: "Image redis:7", layer: "c", status: "Waiting", at: 2 });
    const row = v.rows()[0]!;
    expect(pullBytes(row)).toEqual({ current: 3_500_000, total: 4_000_000 });
    expect(ttyLines(v, 1000, 100)[0]).toContain(`${bar(0.875, 22)} 3.5MB/4MB`);
  });

  test("build output shows as the working row's last line; long text is cut to the width", () => {
    const v = new ProgressView();
    v.apply({ type: "start", id: "Image api", text: "Building", at: 0 });
    v.apply({ type: "line", id: "Image api", line: "Step 2/4 : RUN make " + "x".repeat(200), at: 5 });
    const [l] = ttyLines(v, 100, 70);
    expect(l).toContain("Building Step 2/4 : RUN make");
    expect(l!.length).toBe(70);
    expect(l).toContain("…");
  });

  test("bars and sizes", () => {
    expect(bar(0, 12)).toBe("[          ]");
    expect(bar(0.5, 12)).toBe("[====>     ]");
    expect(bar(1, 12)).toBe("[==========]");
    expect(humanBytes(1_990_000)).toBe("1.99MB");
    expect(humanBytes(999)).toBe("999B");
  });
});
