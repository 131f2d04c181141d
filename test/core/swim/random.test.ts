import { expect, test } from "bun:test";
import { createRng, shuffle } from "../../../core/random.ts";

test("same seed, same stream; different seeds differ", () => {
  const a = createRng(42);
  const b = createRng(42);
  const c = createRng(43);
  const xs = Array.from({ length: 100 }, () => a.u32());
  expect(Array.from({ length: 100 }, () => b.u32())).toEqual(xs);
  expect(Array.from({ length: 100 }, () => c.u32())).not.toEqual(xs);
});

test("next() is in [0,1) and int(n) is roughly uniform", () => {
  const r = createRng(0);
  const counts = new Array(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const x = r.next();
    expect(x >= 0 && x < 1).toBe(true);
    counts[r.int(10)]++;
  }
  for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(500);
});

test("shuffle is a permutation and forks are independent but deterministic", () => {
  const xs = shuffle(createRng(7), Array.from({ length: 50 }, (_, i) => i));
  expect([...xs].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i));
  expect(createRng(9).fork().u32()).toBe(createRng(9).fork().u32());
});
