import { describe, expect, test } from "bun:test";
import { deflateRawSync } from "node:zlib";
import { HlcClock } from "../../../core/crdt/index.ts";
import { emptyState, putDeployment } from "../../../core/state/index.ts";
import { deltaPayloads, readDeltaPayload } from "../../../platform/cluster/payload.ts";

const clock = new HlcClock("n1");

function delta(spec: unknown) {
  const r = putDeployment(emptyState(), clock.now(1_700_000_000_000), "web", "web", spec as never);
  if (!r.ok) throw r.error;
  return r.delta;
}

describe("gossip payloads", () => {
  test("plain and deflated forms both read back to the same delta; deflate shrinks compose-like JSON", () => {
    const d = delta({ services: Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`s${i}`, { image: `img-${i}:latest` }])) });
    const p = deltaPayloads(d);
    const z = p.deflated();
    expect(z.length * 3).toBeLessThan(p.plain.length);
    for (const b of [p.plain, z]) {
      const r = readDeltaPayload(b);
      expect(r.ok && r.delta).toEqual(d);
    }
  });

  test("garbage, unknown tags and inflation bombs are refused, never thrown", () => {
    const bomb = new Uint8Array([2, ...deflateRawSync(new Uint8Array(4 << 20))]);
    for (const b of [new Uint8Array(0), new Uint8Array([1]), new Uint8Array([7, 1, 2]), new Uint8Array([1, 123, 125]), new Uint8Array([2, 1, 2, 3]), bomb]) {
      const r = readDeltaPayload(b);
      expect(r.ok).toBe(false);
    }
    expect(bomb.length).toBeLessThan(8192);
  });
});
