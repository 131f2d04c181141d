import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { decodeFrames, encodeFrame, FrameDecoder, FrameFormatError, type Frame, type StreamName } from "../../../core/engine/frames.ts";

const frameArb: fc.Arbitrary<Frame> = fc.record({
  stream: fc.constantFrom<StreamName>("stdin", "stdout", "stderr", "system"),
  data: fc.uint8Array({ maxLength: 300 }),
});

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Splits bytes at the given cut points (any positions, sorted and clamped). */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...points, bytes.length]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe("multiplexed frame decoder", () => {
  test("decodes a known Docker stdout frame", () => {
    const bytes = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 3, 0x68, 0x69, 0x0a]);
    const frames = decodeFrames(bytes);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.stream).toBe("stdout");
    expect(new TextDecoder().decode(frames[0]!.data)).toBe("hi\n");
  });

  test("stderr header and big-endian size", () => {
    const data = new Uint8Array(0x0102).fill(7);
    const enc = encodeFrame({ stream: "stderr", data });
    expect([...enc.subarray(0, 8)]).toEqual([2, 0, 0, 0, 0, 0, 1, 2]);
  });

  test("property: encode → decode round trip under arbitrary chunk boundaries", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 30 }), (frames, cuts) => {
        const bytes = concat(frames.map(encodeFrame));
        const dec = new FrameDecoder();
        const got: Frame[] = [];
        for (const c of chunk(bytes, cuts)) got.push(...dec.push(c));
        dec.end();
        expect(got.map((f) => ({ stream: f.stream, data: [...f.data] }))).toEqual(frames.map((f) => ({ stream: f.stream, data: [...f.data] })));
        expect(dec.pending).toBe(0);
      }),
      { numRuns: 300 },
    );
  });

  test("property: decoded frames do not alias later pushes", () => {
    fc.assert(
      fc.property(fc.array(frameArb, { minLength: 1, maxLength: 5 }), (frames) => {
        const bytes = concat(frames.map(encodeFrame));
        const copy = bytes.slice();
        const got = new FrameDecoder().push(copy);
        copy.fill(0xff);
        expect(got.map((f) => [...f.data])).toEqual(frames.map((f) => [...f.data]));
      }),
    );
  });

  test("property: a stream cut inside a frame is reported at end()", () => {
    fc.assert(
      fc.property(frameArb, fc.nat(), (frame, cut) => {
        const bytes = encodeFrame(frame);
        const at = 1 + (cut % (bytes.length - 1)); // strictly inside
        const dec = new FrameDecoder();
        expect(dec.push(bytes.subarray(0, at))).toEqual([]);
        expect(() => dec.end()).toThrow(FrameFormatError);
      }),
    );
  });

  test("rejects bytes that are not a multiplexed stream (e.g. TTY output)", () => {
    const tty = new TextEncoder().encode("hello world, this is tty output\n");
    expect(() => new FrameDecoder().push(tty)).toThrow(/not a multiplexed stream/);
  });

  test("waits for the whole header before deciding", () => {
    const dec = new FrameDecoder();
    expect(dec.push(new Uint8Array([1, 0, 0]))).toEqual([]);
    expect(dec.pending).toBe(3);
    const frames = dec.push(new Uint8Array([0, 0, 0, 0, 0]));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.data.length).toBe(0);
  });
});
