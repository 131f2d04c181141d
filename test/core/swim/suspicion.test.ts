import { expect, test } from "bun:test";
import { Awareness } from "../../../core/swim/awareness.ts";
import { suspicionBounds, swimConfig } from "../../../core/swim/config.ts";
import { Suspicion } from "../../../core/swim/suspicion.ts";

test("suspicion bounds: min = α·log10(N)·interval, max = β·min with Lifeguard, = min without", () => {
  const lg = swimConfig({ suspicionAlpha: 4, suspicionBeta: 6, probeIntervalMs: 1000 });
  expect(suspicionBounds(lg, 1000)).toEqual({ minMs: 12_000, maxMs: 72_000 });
  expect(suspicionBounds(lg, 5).minMs).toBe(4000); // log10 floored at 1 for tiny clusters
  expect(suspicionBounds({ ...lg, lifeguard: false }, 1000)).toEqual({ minMs: 12_000, maxMs: 12_000 });
});

test("timeout shrinks with independent confirmations, never below min", () => {
  const s = new Suspicion("x", 1, "a", 0, 1000, 6000, 3);
  expect(s.deadlineMs).toBe(6000);
  expect(s.confirm("a")).toBe(false); // the accuser does not confirm itself
  expect(s.confirm("b")).toBe(true);
  const d1 = s.deadlineMs;
  expect(d1).toBeLessThan(6000);
  expect(s.confirm("b")).toBe(false); // not independent
  expect(s.confirm("c")).toBe(true);
  expect(s.deadlineMs).toBeLessThan(d1);
  expect(s.confirm("d")).toBe(true);
  expect(s.deadlineMs).toBe(1000);
  expect(s.confirm("e")).toBe(false); // already at K
  expect(Suspicion.timeout(1000, 6000, 3, 1)).toBe(Math.floor(6000 - (Math.log(2) / Math.log(4)) * 5000));
});

test("plain SWIM suspicion (K=0) is a fixed timeout", () => {
  const s = new Suspicion("x", 1, "a", 100, 1000, 1000, 0);
  expect(s.deadlineMs).toBe(1100);
  expect(s.confirm("b")).toBe(false);
});

test("awareness scales timeouts and is bounded; disabled stays at 0", () => {
  const a = new Awareness(8, true);
  a.applyDelta(3);
  expect(a.scale(500)).toBe(2000);
  a.applyDelta(100);
  expect(a.score).toBe(7);
  a.applyDelta(-100);
  expect(a.score).toBe(0);
  const off = new Awareness(8, false);
  off.applyDelta(5);
  expect(off.scale(500)).toBe(500);
});
