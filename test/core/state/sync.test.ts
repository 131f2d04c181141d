import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { ClusterReplica, applyDelta, encodeState, mergeState, syncAnswer, syncClose, syncFinish, syncOpen, type ClusterState } from "../../../core/state/index.ts";
import { mutate, syntheticState } from "./fixture.ts";

const same = (x: ClusterState, y: ClusterState) => Buffer.from(encodeState(x)).equals(Buffer.from(encodeState(y)));

function exchange(a: ClusterState, b: ClusterState) {
  const open = syncOpen(a);
  const ans = syncAnswer(b, open);
  if (!ans.ok) throw ans.error;
  const fin = syncFinish(a, ans.value.reply);
  if (!fin.ok) throw fin.error;
  const back = syncClose(fin.value.back);
  if (!back.ok) throw back.error;
  return { a: applyDelta(a, fin.value.delta), b: applyDelta(b, back.value), bytes: open.length + ans.value.reply.length + fin.value.back.length, inSync: ans.value.inSync };
}

describe("sync messages", () => {
  test("one exchange makes both sides equal to their join", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 200 }), fc.nat(30), fc.nat(30), fc.nat(1000), (size, ca, cb, seed) => {
        const { state } = syntheticState(size, seed);
        const a = mutate(state, ca, "node-a", seed + 1);
        const b = mutate(state, cb, "node-b", seed + 2, 1_800_000_000_500);
        const r = exchange(a, b);
        expect(same(r.a, r.b)).toBe(true);
        expect(same(r.a, mergeState(a, b))).toBe(true);
        const again = exchange(r.a, r.b);
        expect(again.inSync).toBe(true);
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  test("works on a ClusterReplica's live view", () => {
    const { state } = syntheticState(300, 5);
    const a = new ClusterReplica(mutate(state, 10, "node-a", 1));
    const b = new ClusterReplica(mutate(state, 10, "node-b", 2, 1_800_000_000_500));
    const ans = syncAnswer(b.view, syncOpen(a.view));
    if (!ans.ok) throw ans.error;
    const fin = syncFinish(a.view, ans.value.reply);
    if (!fin.ok) throw fin.error;
    a.apply(fin.value.delta);
    const back = syncClose(fin.value.back);
    if (!back.ok) throw back.error;
    b.apply(back.value);
    expect(same(a.view, b.view)).toBe(true);
  });

  test("hostile messages give typed errors at every step", () => {
    const { state } = syntheticState(100, 3);
    const ans = syncAnswer(state, syncOpen(mutate(state, 5, "x", 9)));
    if (!ans.ok) throw ans.error;
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), fc.integer({ min: 0, max: 255 }), (junk, pos, byte) => {
        const flipped = ans.value.reply.slice();
        flipped[pos % flipped.length] = byte;
        for (const r of [syncAnswer(state, junk), syncFinish(state, junk), syncFinish(state, flipped), syncClose(junk)]) {
          if (!r.ok) expect(r.error.code).toBe("crdt.decode");
        }
      }),
      { numRuns: 300 },
    );
  });
});
