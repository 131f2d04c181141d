import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  HlcClock,
  HLC_ZERO,
  compareHlc,
  decodeHlc,
  encodeHlc,
  hlcFromBytes,
  hlcToBytes,
  observe,
  tick,
  type Hlc,
} from "../../../core/crdt/index.ts";

const node = fc.stringMatching(/^[A-Za-z0-9._:-]{1,64}$/);
const hlc: fc.Arbitrary<Hlc> = fc.record({ wall: fc.integer({ min: 0, max: 2 ** 48 - 1 }), logical: fc.integer({ min: 0, max: 0xffff }), node });

describe("HLC", () => {
  test("now() is strictly monotonic whatever the wall clock does (including going backwards)", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 200 }), (walls) => {
        const c = new HlcClock("n1");
        let prev = c.last;
        for (const w of walls) {
          const t = c.now(w);
          expect(compareHlc(prev, t)).toBe(-1);
          expect(t.wall).toBeGreaterThanOrEqual(w);
          prev = t;
        }
      }),
    );
  });

  test("receive() moves past both the local clock and the remote stamp", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 1000 }), fc.integer({ min: 0, max: 1100 }), fc.nat(5))), (evs) => {
        const c = new HlcClock("local", 200);
        for (const [w, rw, rl] of evs) {
          const prev = c.last;
          const remote: Hlc = { wall: rw, logical: rl, node: "remote" };
          const r = c.receive(remote, w);
          if (rw - w > 200) {
            expect(r.ok).toBe(false);
            if (!r.ok) expect(r.error.code).toBe("hlc.drift");
            expect(c.last).toEqual(prev); // a rejected stamp leaves the clock alone
          } else {
            expect(r.ok).toBe(true);
            if (r.ok) {
              expect(compareHlc(r.ts, prev)).toBe(1);
              expect(compareHlc(r.ts, remote)).toBe(1);
            }
          }
        }
      }),
    );
  });

  test("logical overflow borrows a millisecond and stays monotonic", () => {
    let t: Hlc = { wall: 5, logical: 0xffff, node: "a" };
    const n = tick(t, 5, "a");
    expect(n).toEqual({ wall: 6, logical: 0, node: "a" });
    const r = observe(HLC_ZERO, t, 5, "a");
    expect(r.ok && r.ts).toEqual({ wall: 6, logical: 0, node: "a" });
    t = n;
  });

  test("string encoding round-trips and sorts like compareHlc", () => {
    fc.assert(
      fc.property(hlc, hlc, (a, b) => {
        const ea = encodeHlc(a);
        const d = decodeHlc(ea);
        expect(d.ok && d.value).toEqual(a);
        const s = ea < encodeHlc(b) ? -1 : ea > encodeHlc(b) ? 1 : 0;
        expect(s).toBe(compareHlc(a, b));
      }),
    );
  });

  test("binary encoding round-trips", () => {
    fc.assert(
      fc.property(hlc, (a) => {
        const d = hlcFromBytes(hlcToBytes(a));
        expect(d.ok && d.value).toEqual({ hlc: a, bytesRead: hlcToBytes(a).length });
      }),
    );
  });

  test("decoding garbage gives a typed error, never a throw", () => {
    fc.assert(
      fc.property(fc.anything(), (x) => {
        const d = decodeHlc(x);
        if (!d.ok) expect(d.error.code).toBe("crdt.decode");
      }),
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(10), (b, off) => {
        const d = hlcFromBytes(b, off);
        if (!d.ok) expect(d.error.code).toBe("crdt.decode");
      }),
    );
    expect(decodeHlc("00000000000g-0000-a").ok).toBe(false);
    expect(decodeHlc("000000000001-0000-a b").ok).toBe(false);
  });

  test("invalid node ids are refused by the clock", () => {
    expect(() => new HlcClock("has space")).toThrow(RangeError);
    expect(() => new HlcClock("")).toThrow(RangeError);
  });
});
