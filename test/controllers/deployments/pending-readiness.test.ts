import { describe, expect, test } from "bun:test";
import { PendingReadiness } from "../../../controllers/deployments/pending-readiness.ts";

describe("PendingReadiness", () => {
  test("a start waits for the work begun at its container's creation", async () => {
    const r = new PendingReadiness();
    let release!: () => void;
    r.add("web-1", new Promise<void>((res) => (release = res)));
    let started = false;
    const start = r.take("web-1").then(() => (started = true));
    await Promise.resolve();
    await new Promise((res) => setTimeout(res, 5));
    expect(started).toBe(false);
    release();
    await start;
    expect(started).toBe(true);
    expect(r.size).toBe(0);
  });

  test("the work's failure fails the start, not the creation", async () => {
    const r = new PendingReadiness();
    r.add("web-1", Promise.reject(new Error("mesh: could not route")));
    await new Promise((res) => setTimeout(res, 1)); // no unhandled rejection meanwhile
    await expect(r.take("web-1")).rejects.toThrow("could not route");
  });

  test("a start with nothing pending (created by an earlier pass) goes at once", async () => {
    const r = new PendingReadiness();
    await r.take("web-9");
    r.add("web-1", Promise.resolve());
    await r.take("web-1");
    await r.take("web-1"); // taken once
  });

  test("entries whose start never came are dropped, oldest first, past the bound", async () => {
    const r = new PendingReadiness(3);
    for (let i = 0; i < 5; i++) r.add(`c${i}`, Promise.resolve());
    expect(r.size).toBe(3);
    r.add("c4", Promise.resolve()); // the same container again replaces, does not grow
    expect(r.size).toBe(3);
  });
});
