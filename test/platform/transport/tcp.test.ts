import { afterEach, describe, expect, test } from "bun:test";
import { createConnection, createServer, type Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { createKeyring, install, keyIdOf, use, type Keyring } from "../../../core/cluster-crypto/keyring.ts";
import { open as openSealed, seal } from "../../../core/cluster-crypto/seal.ts";
import { encodeFrame, FrameDecoder, frameContext } from "../../../core/cluster-crypto/stream.ts";
import { decodeRejection, decodeServerHello, encodeClientHello, sessionId } from "../../../core/cluster-crypto/handshake.ts";
import { FizzError, isFizzError } from "../../../core/errors.ts";
import { connect, request, TcpServer, type TcpLimits } from "../../../platform/transport/tcp.ts";
import type { SecureStream } from "../../../platform/transport/stream.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const rng = (n: number) => new Uint8Array(randomBytes(n));
const CLUSTER = new Uint8Array(16).fill(9);

function ring(fill: number): Keyring {
  const r = createKeyring(new Uint8Array(32).fill(fill));
  if (!r.ok) throw new Error(r.error.message);
  return r.keyring;
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

async function server(keyring: Keyring, onStream: (s: SecureStream) => void | Promise<void>, limits: Partial<TcpLimits> = {}): Promise<TcpServer> {
  const s = await TcpServer.listen({ host: "127.0.0.1", port: 0, keyring, clusterId: CLUSTER, nodeId: "server-1", onStream, limits });
  cleanups.push(() => s.close());
  return s;
}

/** Echoes every message upper-cased until the client closes. */
async function echo(s: SecureStream): Promise<void> {
  for (;;) {
    const m = await s.receive();
    if (!m) return;
    await s.send(enc.encode(dec.decode(m).toUpperCase()));
  }
}

async function failure(p: Promise<unknown>): Promise<FizzError> {
  try {
    await p;
  } catch (e) {
    if (isFizzError(e)) return e;
    throw e;
  }
  throw new Error("expected a failure");
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

/** A hand-driven client: completes the real handshake, then lets the test write raw bytes. */
async function rawClient(port: number, keyring: Keyring): Promise<{ sock: Socket; session: Uint8Array; received: Uint8Array[]; closed: () => boolean }> {
  const sock = createConnection({ host: "127.0.0.1", port });
  cleanups.push(() => sock.destroy());
  let closed = false;
  sock.on("close", () => (closed = true));
  sock.on("error", () => {});
  await new Promise<void>((r) => sock.once("connect", () => r()));
  const clientNonce = rng(16);
  sock.write(encodeFrame(seal(keyring, "handshake", encodeClientHello({ clusterId: CLUSTER, clientNonce, intent: "push-pull", nodeId: "raw" }), rng)));
  const d = new FrameDecoder();
  const received: Uint8Array[] = [];
  sock.on("data", (c: Uint8Array) => received.push(...d.push(c).frames));
  await until(() => received.length > 0);
  const o = openSealed(keyring, "handshake", received.shift()!, clientNonce);
  if (!o.ok) throw new Error("server hello did not open");
  const sh = decodeServerHello(o.plaintext)!;
  return { sock, session: sessionId(CLUSTER, clientNonce, sh.serverNonce), received, closed: () => closed };
}

describe("TCP transport", () => {
  test("frames round trip both ways, including a large one", async () => {
    const seen: string[] = [];
    const srv = await server(ring(1), async (s) => {
      seen.push(`${s.peer.nodeId}/${s.peer.intent}`);
      await echo(s);
    });
    const c = await connect({ host: "127.0.0.1", port: srv.address.port, keyring: ring(1), clusterId: CLUSTER, nodeId: "client-1", intent: "push-pull" });
    expect(c.peer.nodeId).toBe("server-1");
    const big = "x".repeat(500_000);
    for (const m of ["hello", big, "bye"]) {
      await c.send(enc.encode(m));
      expect(dec.decode((await c.receive())!)).toBe(m.toUpperCase());
    }
    c.close();
    expect(seen).toEqual(["client-1/push-pull"]);
    expect(srv.counters.handshakes).toBe(1);
  });

  test("request(): one push-pull exchange", async () => {
    const srv = await server(ring(1), echo);
    const reply = await request({ host: "127.0.0.1", port: srv.address.port, keyring: ring(1), clusterId: CLUSTER, nodeId: "c", intent: "push-pull" }, enc.encode("state"));
    expect(dec.decode(reply)).toBe("STATE");
  });

  test("wrong-key join is answered with the 'wrong cluster key' rejection", async () => {
    const srv = await server(ring(1), echo);
    const err = await failure(connect({ host: "127.0.0.1", port: srv.address.port, keyring: ring(2), clusterId: CLUSTER, nodeId: "intruder", intent: "join" }));
    expect(err.code).toBe("cluster.wrong_key");
    expect(err.message).toBe(`the fizz agent at 127.0.0.1:${srv.address.port} refused us: wrong cluster key`);
    expect(err.hint).toContain("token");
    expect(srv.counters.handshakeFailed["unknown-key"]).toBe(1);
    expect(srv.counters.handshakes).toBe(0);
  });

  test("the rejection reveals nothing but a fixed reason", async () => {
    const srv = await server(ring(1), echo);
    const sock = createConnection({ host: "127.0.0.1", port: srv.address.port });
    cleanups.push(() => sock.destroy());
    const chunks: Buffer[] = [];
    sock.on("data", (c: Buffer) => chunks.push(c));
    const closed = new Promise<void>((r) => sock.on("close", () => r()));
    sock.write(encodeFrame(seal(ring(2), "handshake", encodeClientHello({ clusterId: CLUSTER, clientNonce: rng(16), intent: "join", nodeId: "x" }), rng)));
    await closed;
    const frames = new FrameDecoder().push(Buffer.concat(chunks)).frames;
    expect(frames.length).toBe(1);
    expect(decodeRejection(frames[0]!)).toBe("wrong-cluster-key");
    expect(frames[0]!.length).toBe(13);
  });

  test("right key but another cluster id is told so", async () => {
    const srv = await server(ring(1), echo);
    const err = await failure(connect({ host: "127.0.0.1", port: srv.address.port, keyring: ring(1), clusterId: new Uint8Array(16), nodeId: "c", intent: "join" }));
    expect(err.code).toBe("cluster.wrong_cluster");
    expect(srv.counters.handshakeFailed["wrong-cluster-id"]).toBe(1);
  });

  test("rotation: client sealing with k2 talks to a server with k1 primary + k2 installed", async () => {
    const k2 = new Uint8Array(32).fill(2);
    const srv = await server(ring(1), echo);
    let clientRing = ring(1);
    const r1 = install(clientRing, k2);
    if (!r1.ok) throw new Error();
    const r2 = use(r1.keyring, keyIdOf(k2));
    if (!r2.ok) throw new Error();
    clientRing = r2.keyring;
    const opts = { host: "127.0.0.1", port: srv.address.port, keyring: clientRing, clusterId: CLUSTER, nodeId: "c", intent: "push-pull" as const };
    expect((await failure(connect(opts))).code).toBe("cluster.wrong_key");
    const r3 = install(srv.keyring, k2);
    if (!r3.ok) throw new Error();
    srv.setKeyring(r3.keyring); // no restart
    const c = await connect(opts);
    expect(c.keyId).toBe(keyIdOf(k2));
    await c.send(enc.encode("k2"));
    expect(dec.decode((await c.receive())!)).toBe("K2");
    c.close();
  });

  test("a frame above the limit is refused: by the sender, and by the receiver from its header", async () => {
    let serverErr: FizzError | undefined;
    const srv = await server(
      ring(1),
      async (s) => {
        try {
          await s.receive();
        } catch (e) {
          serverErr = e as FizzError;
        }
      },
      { maxFrameBytes: 64 * 1024 },
    );
    const small = await connect({ host: "127.0.0.1", port: srv.address.port, keyring: ring(1), clusterId: CLUSTER, nodeId: "c", intent: "push-pull", limits: { maxFrameBytes: 64 * 1024 } });
    expect((await failure(small.send(new Uint8Array(64 * 1024)))).code).toBe("transport.frame_too_large");
    small.close();
    // A peer with a laxer limit sends 100 KB: the server drops the connection.
    const lax = await connect({ host: "127.0.0.1", port: srv.address.port, keyring: ring(1), clusterId: CLUSTER, nodeId: "c", intent: "push-pull", limits: { maxFrameBytes: 1 << 20 } });
    await lax.send(new Uint8Array(100 * 1024)).catch(() => {});
    await until(() => serverErr !== undefined);
    expect(serverErr?.code).toBe("transport.frame_too_large");
    expect(await lax.receive().catch(() => null)).toBeNull();
    await until(() => (srv.counters.streamErrors["transport.frame_too_large"] ?? 0) === 1);
    expect(srv.counters.streamErrors["transport.frame_too_large"]).toBe(1);
  });

  test("an oversize handshake header is refused without buffering", async () => {
    const srv = await server(ring(1), echo, { maxFrameBytes: 4096 });
    const sock = createConnection({ host: "127.0.0.1", port: srv.address.port });
    cleanups.push(() => sock.destroy());
    const closed = new Promise<void>((r) => sock.on("close", () => r()));
    sock.on("error", () => {});
    sock.resume(); // read the rejection so the close is seen
    sock.write(Uint8Array.of(0x7f, 0xff, 0xff, 0xff, 1, 2, 3));
    await closed;
    expect(srv.counters.handshakeFailed.oversize).toBe(1);
  });

  test("slowloris during the handshake is cut off by the handshake deadline", async () => {
    const srv = await server(ring(1), echo, { handshakeTimeoutMs: 200, idleTimeoutMs: 10_000 });
    const sock = createConnection({ host: "127.0.0.1", port: srv.address.port });
    cleanups.push(() => sock.destroy());
    sock.on("error", () => {});
    let closed = false;
    sock.on("close", () => (closed = true));
    const frame = encodeFrame(seal(ring(1), "handshake", encodeClientHello({ clusterId: CLUSTER, clientNonce: rng(16), intent: "join", nodeId: "slow" }), rng));
    for (let i = 0; i < frame.length && !closed; i++) {
      sock.write(frame.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, 25));
    }
    await until(() => closed);
    expect(closed).toBe(true);
    expect(srv.counters.handshakeFailed.timeout).toBe(1);
  });

  test("a connection that never speaks is closed by the handshake deadline", async () => {
    const srv = await server(ring(1), echo, { handshakeTimeoutMs: 150 });
    const sock = createConnection({ host: "127.0.0.1", port: srv.address.port });
    cleanups.push(() => sock.destroy());
    sock.on("error", () => {});
    await new Promise<void>((r) => sock.on("close", () => r()));
    expect(srv.counters.handshakeFailed.timeout).toBe(1);
    await until(() => srv.openConnections === 0);
    expect(srv.openConnections).toBe(0);
  });

  test("an idle stream is closed by the idle timeout", async () => {
    let serverErr: FizzError | undefined;
    const srv = await server(
      ring(1),
      async (s) => {
        await s.receive().catch((e: FizzError) => (serverErr = e));
      },
      { idleTimeoutMs: 150 },
    );
    const c = await connect({ host: "127.0.0.1", port: srv.address.port, keyring: ring(1), clusterId: CLUSTER, nodeId: "c", intent: "push-pull", limits: { idleTimeoutMs: 60_000 } });
    expect(await c.receive().catch(() => null)).toBeNull(); // server hung up
    expect(serverErr?.code).toBe("transport.idle_timeout");
  });

  test("slowloris after the handshake is cut off by the per-frame deadline", async () => {
    let serverErr: FizzError | undefined;
    const srv = await server(
      ring(1),
      async (s) => {
        await s.receive().catch((e: FizzError) => (serverErr = e));
      },
      { idleTimeoutMs: 10_000, frameTimeoutMs: 200 },
    );
    const raw = await rawClient(srv.address.port, ring(1));
    const frame = encodeFrame(seal(ring(1), "tcp-frame", enc.encode("slow"), rng, frameContext(raw.session, "client-to-server", 0)));
    for (let i = 0; i < frame.length && !raw.closed(); i++) {
      raw.sock.write(frame.subarray(i, i + 1));
      await new Promise((r) => setTimeout(r, 25));
    }
    await until(() => raw.closed());
    expect(serverErr?.code).toBe("transport.frame_timeout");
  });

  test("frames replayed out of order or reflected are refused", async () => {
    const got: string[] = [];
    let serverErr: FizzError | undefined;
    const srv = await server(ring(1), async (s) => {
      try {
        for (;;) {
          const m = await s.receive();
          if (!m) return;
          got.push(dec.decode(m));
        }
      } catch (e) {
        serverErr = e as FizzError;
      }
    });
    const raw = await rawClient(srv.address.port, ring(1));
    const f0 = encodeFrame(seal(ring(1), "tcp-frame", enc.encode("zero"), rng, frameContext(raw.session, "client-to-server", 0)));
    raw.sock.write(f0);
    await until(() => got.length === 1);
    raw.sock.write(f0); // replay of seq 0 as seq 1
    await until(() => serverErr !== undefined);
    expect(got).toEqual(["zero"]);
    expect(serverErr?.code).toBe("transport.bad_frame");
  });

  test("max concurrent connections: extra connections are closed at once", async () => {
    const srv = await server(ring(1), echo, { maxConnections: 2, handshakeTimeoutMs: 5000 });
    const socks: Socket[] = [];
    for (let i = 0; i < 3; i++) {
      const s = createConnection({ host: "127.0.0.1", port: srv.address.port });
      s.on("error", () => {});
      cleanups.push(() => s.destroy());
      socks.push(s);
      await new Promise<void>((r) => s.once("connect", () => r()));
      await until(() => srv.counters.accepted + srv.counters.refusedBusy === i + 1);
    }
    expect(srv.counters.accepted).toBe(2);
    expect(srv.counters.refusedBusy).toBe(1);
    // A freed slot is usable again.
    socks[0]!.destroy();
    await until(() => srv.openConnections === 1);
    const reply = await request({ host: "127.0.0.1", port: srv.address.port, keyring: ring(1), clusterId: CLUSTER, nodeId: "c", intent: "push-pull" }, enc.encode("ok"));
    expect(dec.decode(reply)).toBe("OK");
  });

  test("garbage to the server never crashes it", async () => {
    const srv = await server(ring(1), echo, { handshakeTimeoutMs: 300 });
    for (let i = 0; i < 50; i++) {
      const s = createConnection({ host: "127.0.0.1", port: srv.address.port });
      s.on("error", () => {});
      cleanups.push(() => s.destroy());
      const junk = i % 2 === 0 ? rng(1 + i * 37) : encodeFrame(rng(1 + i * 37));
      s.end(junk);
    }
    await until(() => srv.openConnections === 0 && srv.counters.accepted === 50, 5000);
    expect(srv.counters.accepted).toBe(50);
    expect(srv.counters.handshakes).toBe(0);
    const failed = Object.values(srv.counters.handshakeFailed).reduce((a, b) => a + b, 0);
    expect(failed).toBe(50);
    const reply = await request({ host: "127.0.0.1", port: srv.address.port, keyring: ring(1), clusterId: CLUSTER, nodeId: "c", intent: "push-pull" }, enc.encode("alive"));
    expect(dec.decode(reply)).toBe("ALIVE");
  });

  test("nobody listening: 'no fizz agent listening at X'", async () => {
    const tmp = createServer();
    await new Promise<void>((r) => tmp.listen(0, "127.0.0.1", r));
    const port = (tmp.address() as { port: number }).port;
    await new Promise<void>((r) => tmp.close(() => r()));
    const err = await failure(connect({ host: "127.0.0.1", port, keyring: ring(1), clusterId: CLUSTER, nodeId: "c", intent: "join" }));
    expect(err.code).toBe("transport.connection_refused");
    expect(err.message).toBe(`no fizz agent listening at 127.0.0.1:${port}`);
  });

  test("a peer that is not fizz: handshake fails with a clear error", async () => {
    const conns: Socket[] = [];
    const tmp = createServer((s) => {
      conns.push(s);
      s.on("error", () => {});
      s.end("HTTP/1.1 400 Bad Request\r\n\r\n");
    });
    await new Promise<void>((r) => tmp.listen(0, "127.0.0.1", r));
    cleanups.push(() => {
      for (const c of conns) c.destroy();
      return new Promise<void>((r) => tmp.close(() => r()));
    });
    const port = (tmp.address() as { port: number }).port;
    const err = await failure(connect({ host: "127.0.0.1", port, keyring: ring(1), clusterId: CLUSTER, nodeId: "c", intent: "join" }));
    expect(err.code).toBe("transport.handshake_failed");
    expect(err.message).toContain(`127.0.0.1:${port}`);
  });

  test("address in use becomes a FizzError", async () => {
    const srv = await server(ring(1), echo);
    const err = await failure(TcpServer.listen({ host: "127.0.0.1", port: srv.address.port, keyring: ring(1), clusterId: CLUSTER, nodeId: "n", onStream: echo }));
    expect(err.code).toBe("transport.address_in_use");
    expect(err.message).toContain("address already in use");
  });
});

describe("replayed handshakes (issue 18: one held a connection slot for 30 s)", () => {
  /** Sends `bytes` on a fresh connection; resolves with how long the server kept it open, in ms. */
  async function heldFor(port: number, bytes: Uint8Array): Promise<number> {
    const sock = createConnection({ host: "127.0.0.1", port });
    cleanups.push(() => sock.destroy());
    sock.on("error", () => {});
    await new Promise<void>((r) => sock.once("connect", () => r()));
    const t0 = performance.now();
    sock.write(bytes);
    sock.resume();
    await new Promise<void>((r) => sock.once("close", () => r()));
    return performance.now() - t0;
  }

  test("a replayed hello is refused at once; an accepted one whose client never asks is closed at the handshake deadline, not the idle timeout", async () => {
    // A deadline far from both "at once" and the idle timeout, so that neither side of each check is a
    // race with a slow machine (at 400 ms, any stall over 350 ms would have failed "refused at once").
    const srv = await server(ring(1), echo, { handshakeTimeoutMs: 2000, idleTimeoutMs: 30_000 });
    // What an eavesdropper captured: a genuine client's hello.
    const hello = encodeFrame(seal(ring(1), "handshake", encodeClientHello({ clusterId: CLUSTER, clientNonce: rng(16), intent: "push-pull", nodeId: "victim" }), rng));
    const first = await heldFor(srv.address.port, hello);
    expect(srv.counters.handshakes).toBe(1);
    expect(srv.counters.handshakeFailed["no-request"]).toBe(1);
    expect(first).toBeGreaterThanOrEqual(1950);
    expect(first).toBeLessThan(15_000);
    const again = await heldFor(srv.address.port, hello);
    expect(srv.counters.handshakeFailed.replayed).toBe(1);
    expect(srv.counters.handshakes).toBe(1);
    expect(again).toBeLessThan(1950);
    await until(() => srv.openConnections === 0);
    expect(srv.openConnections).toBe(0);
  });

  test("a real client that asks at once is unaffected", async () => {
    const srv = await server(ring(1), echo, { handshakeTimeoutMs: 300, idleTimeoutMs: 30_000 });
    const c = await connect({ host: "127.0.0.1", port: srv.address.port, keyring: ring(1), clusterId: CLUSTER, nodeId: "c", intent: "push-pull" });
    await c.send(enc.encode("hi"));
    expect(dec.decode((await c.receive())!)).toBe("HI");
    await new Promise((r) => setTimeout(r, 500));
    await c.send(enc.encode("still here"));
    expect(dec.decode((await c.receive())!)).toBe("STILL HERE");
    c.close();
    expect(srv.counters.handshakeFailed["no-request"]).toBe(0);
  });
});
