import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { TransmitLimitedQueue } from "../../../core/gossip/queue.ts";
import { retransmitLimit, swimConfig } from "../../../core/swim/config.ts";

describe("TransmitLimitedQueue", () => {
  test("each item is sent at most `limit` times, then dropped", () => {
    const q = new TransmitLimitedQueue<string>(100);
    q.enqueue("a", "A", 10, 1);
    let sent = 0;
    for (let i = 0; i < 20; i++) sent += q.take(100, 5).length;
    expect(sent).toBe(5);
    expect(q.length).toBe(0);
  });

  test("fewest transmits first, then most urgent, then newest", () => {
    const q = new TransmitLimitedQueue<string>(100);
    q.enqueue("old", "old", 10, 1);
    q.take(100, 10); // old now has 1 transmit
    q.enqueue("user", "user", 10, 0);
    q.enqueue("alive", "alive", 10, 1);
    q.enqueue("dead", "dead", 10, 3);
    q.enqueue("alive2", "alive2", 10, 1);
    expect(q.take(25, 10)).toEqual(["dead", "alive2"]);
    expect(q.take(1000, 10)).toEqual(["alive", "user", "dead", "alive2", "old"]);
  });

  test("fresh: what was never sent, within the budget, counting no transmission", () => {
    const q = new TransmitLimitedQueue<string>(100);
    q.enqueue("sent", "sent", 10, 1);
    q.take(100, 3);
    q.enqueue("user", "user", 10, 0);
    q.enqueue("big", "big", 500, 0);
    q.enqueue("alive", "alive", 10, 1);
    expect(q.fresh(100)).toEqual(["alive", "user"]);
    expect(q.fresh(1000)).toEqual(["alive", "big", "user"]);
    // Nothing was counted: the rounds still send each one `limit` times.
    let sent = 0;
    for (let i = 0; i < 20; i++) sent += q.take(2000, 3).filter((m) => m === "user").length;
    expect(sent).toBe(3);
  });

  test("a newer update for the same key replaces the old one", () => {
    const q = new TransmitLimitedQueue<string>(100);
    q.enqueue("n1", "suspect", 10, 2);
    q.enqueue("n1", "alive", 10, 1);
    expect(q.length).toBe(1);
    expect(q.take(100, 3)).toEqual(["alive"]);
  });

  test("never exceeds the byte budget and respects the cap", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 8, max: 300 }), { maxLength: 200 }), fc.integer({ min: 0, max: 1400 }), (sizes, budget) => {
        const q = new TransmitLimitedQueue<number>(64);
        sizes.forEach((s, i) => q.enqueue(`k${i}`, s, s, i % 4));
        expect(q.length).toBeLessThanOrEqual(64);
        const taken = q.take(budget, 3);
        expect(taken.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(budget);
      }),
    );
  });

  test("retransmit limit is λ·ceil(log10(N+1))", () => {
    const c = swimConfig({ retransmitMult: 4 });
    expect(retransmitLimit(c, 1)).toBe(4);
    expect(retransmitLimit(c, 9)).toBe(4);
    expect(retransmitLimit(c, 10)).toBe(8);
    expect(retransmitLimit(c, 1000)).toBe(16);
  });
});
