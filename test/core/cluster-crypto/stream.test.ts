import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  decodeClientHello,
  decodeRejection,
  decodeServerHello,
  encodeClientHello,
  encodeRejection,
  encodeServerHello,
  sessionId,
} from "../../../core/cluster-crypto/handshake.ts";
import { SEAL_VERSION } from "../../../core/cluster-crypto/seal.ts";
import { encodeFrame, FrameDecoder, frameContext } from "../../../core/cluster-crypto/stream.ts";
import { rng } from "./helpers.ts";

describe("frame codec", () => {
  test("frames survive any chunking", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { maxLength: 10 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }), (bodies, cuts) => {
        const wire = Buffer.concat(bodies.map(encodeFrame));
        const d = new FrameDecoder(1000);
        const got: Uint8Array[] = [];
        let at = 0;
        let i = 0;
        while (at < wire.length) {
          const n = cuts[i++ % cuts.length]!;
          const r = d.push(wire.subarray(at, at + n));
          expect(r.ok).toBe(true);
          got.push(...r.frames);
          at += n;
        }
        expect(got.map((b) => Buffer.from(b).toString("hex"))).toEqual(bodies.map((b) => Buffer.from(b).toString("hex")));
        expect(d.buffered).toBe(0);
      }),
    );
  });

  test("an oversize frame is refused from its header alone", () => {
    const d = new FrameDecoder(1024);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, 1025);
    const r = d.push(header);
    expect(r).toEqual({ ok: false, reason: "oversize", length: 1025, frames: [] });
    expect(d.buffered).toBe(0);
    expect(d.push(new Uint8Array(10)).ok).toBe(false); // stays failed
  });

  test("a zero-length frame is refused", () => {
    expect(new FrameDecoder().push(new Uint8Array(4)).ok).toBe(false);
  });

  test("frame contexts differ by session, direction and sequence", () => {
    const s = rng(32);
    const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
    const a = hex(frameContext(s, "client-to-server", 0));
    expect(hex(frameContext(s, "server-to-client", 0))).not.toBe(a);
    expect(hex(frameContext(s, "client-to-server", 1))).not.toBe(a);
    expect(hex(frameContext(rng(32), "client-to-server", 0))).not.toBe(a);
  });
});

describe("handshake messages", () => {
  test("client and server hello round trip", () => {
    const h = { clusterId: rng(16), clientNonce: rng(16), intent: "join" as const, nodeId: "node-ä" };
    const back = decodeClientHello(encodeClientHello(h))!;
    expect(back.nodeId).toBe("node-ä");
    expect(back.intent).toBe("join");
    expect(Buffer.from(back.clusterId).equals(Buffer.from(h.clusterId))).toBe(true);
    const s = { serverNonce: rng(16), status: "wrong-cluster-id" as const, nodeId: "n2" };
    expect(decodeServerHello(encodeServerHello(s))).toEqual({ ...s, serverNonce: s.serverNonce });
    expect(sessionId(h.clusterId, h.clientNonce, s.serverNonce).length).toBe(32);
  });

  test("rejection frames cannot be mistaken for sealed messages", () => {
    const r = encodeRejection("wrong-cluster-key");
    expect(r[0]).not.toBe(SEAL_VERSION);
    expect(decodeRejection(r)).toBe("wrong-cluster-key");
    expect(decodeRejection(encodeRejection("unsupported-version"))).toBe("unsupported-version");
  });

  test("property: decoders never throw on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (b) => {
        decodeClientHello(b);
        decodeServerHello(b);
        decodeRejection(b);
      }),
      { numRuns: 2000 },
    );
  });
});
