import { afterEach, describe, expect, test } from "bun:test";
import { createSocket } from "node:dgram";
import { randomBytes } from "node:crypto";
import { createKeyring, install, keyIdOf, remove, use, type Keyring } from "../../../core/cluster-crypto/keyring.ts";
import { isFizzError } from "../../../core/errors.ts";
import { UdpTransport, type UdpAddress } from "../../../platform/transport/udp.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function ring(fill: number): Keyring {
  const r = createKeyring(new Uint8Array(32).fill(fill));
  if (!r.ok) throw new Error(r.error.message);
  return r.keyring;
}

function ok(r: { ok: true; keyring: Keyring } | { ok: false; error: { message: string } }): Keyring {
  if (!r.ok) throw new Error(r.error.message);
  return r.keyring;
}

const open: UdpTransport[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((t) => t.close()));
});

interface Node {
  t: UdpTransport;
  got: { text: string; from: UdpAddress; keyId: string }[];
  waitFor(n: number, ms?: number): Promise<void>;
}

async function node(keyring: Keyring): Promise<Node> {
  const got: Node["got"] = [];
  let wake: (() => void) | undefined;
  const t = await UdpTransport.bind({
    host: "127.0.0.1",
    port: 0,
    keyring,
    onPacket: (pt, from, keyId) => {
      got.push({ text: dec.decode(pt), from, keyId });
      wake?.();
    },
  });
  open.push(t);
  return {
    t,
    got,
    async waitFor(n, ms = 2000) {
      const deadline = Date.now() + ms;
      while (got.length < n && Date.now() < deadline) {
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 20);
        });
      }
    },
  };
}

/** Waits until the receiver has seen `n` datagrams (delivered or dropped). */
async function settle(t: UdpTransport, n: number, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (t.counters.received < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe("UDP transport", () => {
  test("same key: packets are delivered, sealed on the wire", async () => {
    const a = await node(ring(1));
    const b = await node(ring(1));
    const spy = createSocket("udp4");
    const wire: Uint8Array[] = [];
    await new Promise<void>((r) => spy.bind(0, "127.0.0.1", r));
    spy.on("message", (m) => wire.push(m));
    a.t.send(b.t.address, enc.encode("ping 1"));
    a.t.send({ host: "127.0.0.1", port: spy.address().port }, enc.encode("ping secret"));
    await b.waitFor(1);
    expect(b.got[0]!.text).toBe("ping 1");
    expect(b.got[0]!.from.port).toBe(a.t.address.port);
    expect(b.got[0]!.keyId).toBe(a.t.keyring.primary);
    expect(b.t.counters.delivered).toBe(1);
    const deadline = Date.now() + 2000;
    while (wire.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    spy.close();
    expect(wire.length).toBe(1);
    expect(Buffer.from(wire[0]!).includes(Buffer.from("secret"))).toBe(false);
    expect(wire[0]!.length).toBe("ping secret".length + 45);
  });

  test("different key: dropped and counted, receiver keeps working", async () => {
    const a = await node(ring(1));
    const stranger = await node(ring(2));
    const b = await node(ring(1));
    for (let i = 0; i < 5; i++) stranger.t.send(b.t.address, enc.encode(`evil ${i}`));
    await settle(b.t, 5);
    expect(b.t.counters.dropped["unknown-key"]).toBe(5);
    expect(b.got.length).toBe(0);
    a.t.send(`127.0.0.1:${b.t.address.port}`, enc.encode("still here")); // SWIM-style string address
    await b.waitFor(1);
    expect(b.got.map((g) => g.text)).toEqual(["still here"]);
  });

  test("1,000-packet garbage flood never crashes and is counted", async () => {
    const b = await node(ring(1));
    const flood = createSocket("udp4");
    await new Promise<void>((r) => flood.bind(0, "127.0.0.1", r));
    const sealedLooking = (i: number) => {
      const p = new Uint8Array(randomBytes(45 + (i % 200)));
      p[0] = 1;
      p.set(b.t.keyring.keys[0]!.idBytes, 1); // right key id, garbage body → auth-failed
      return p;
    };
    const packets: Uint8Array[] = [];
    for (let i = 0; i < 1000; i++) {
      const kind = i % 5;
      packets.push(
        kind === 0
          ? new Uint8Array(0)
          : kind === 1
            ? new Uint8Array(randomBytes(1 + (i % 1400)))
            : kind === 2
              ? sealedLooking(i)
              : kind === 3
                ? new Uint8Array(randomBytes(3000)) // oversize
                : Uint8Array.of(1, 2, 3),
      );
    }
    // Bursts of 25, each waited for, so the kernel's receive buffer never overflows and every packet is counted.
    for (let i = 0; i < packets.length; i += 25) {
      for (const p of packets.slice(i, i + 25)) flood.send(p, b.t.address.port, "127.0.0.1");
      await settle(b.t, Math.min(i + 25, packets.length));
    }
    await settle(b.t, 1000, 5000);
    flood.close();
    const c = b.t.counters;
    expect(c.received).toBe(1000);
    expect(c.delivered).toBe(0);
    const dropped = Object.values(c.dropped).reduce((x, y) => x + y, 0);
    expect(dropped).toBe(1000);
    expect(c.dropped.oversize).toBe(200);
    expect(c.dropped["auth-failed"]).toBeGreaterThanOrEqual(200);
    // still alive
    const a = await node(b.t.keyring);
    a.t.send(b.t.address, enc.encode("after the flood"));
    await b.waitFor(1);
    expect(b.got[0]!.text).toBe("after the flood");
  });

  test("a throwing handler is counted, not fatal", async () => {
    const b = await UdpTransport.bind({
      host: "127.0.0.1",
      port: 0,
      keyring: ring(1),
      onPacket: () => {
        throw new Error("boom");
      },
    });
    open.push(b);
    const a = await node(ring(1));
    a.t.send(b.address, enc.encode("x"));
    a.t.send(b.address, enc.encode("y"));
    await settle(b, 2);
    expect(b.counters.dropped["handler-error"]).toBe(2);
  });

  test("rotation at runtime: install k2, use k2 on A only, then remove k1", async () => {
    const k1 = new Uint8Array(32).fill(1);
    const k2 = new Uint8Array(32).fill(2);
    const a = await node(ring(1));
    const b = await node(ring(1));
    a.t.setKeyring(ok(install(a.t.keyring, k2)));
    b.t.setKeyring(ok(install(b.t.keyring, k2)));
    a.t.setKeyring(ok(use(a.t.keyring, keyIdOf(k2))));
    a.t.send(b.t.address, enc.encode("a uses k2"));
    b.t.send(a.t.address, enc.encode("b uses k1"));
    await a.waitFor(1);
    await b.waitFor(1);
    expect(b.got[0]!.keyId).toBe(keyIdOf(k2));
    expect(a.got[0]!.keyId).toBe(keyIdOf(k1));
    // A drops k1 before B switched: B's k1 packets are now refused by A.
    a.t.setKeyring(ok(remove(a.t.keyring, keyIdOf(k1))));
    b.t.send(a.t.address, enc.encode("late k1"));
    await settle(a.t, 2);
    expect(a.t.counters.dropped["unknown-key"]).toBe(1);
    b.t.setKeyring(ok(use(b.t.keyring, keyIdOf(k2))));
    b.t.send(a.t.address, enc.encode("b on k2"));
    await a.waitFor(2);
    expect(a.got.map((g) => g.text)).toEqual(["b uses k1", "b on k2"]);
  });

  test("oversize send is refused with a FizzError", async () => {
    const a = await node(ring(1));
    let err: unknown;
    try {
      a.t.send(a.t.address, new Uint8Array(1401));
    } catch (e) {
      err = e;
    }
    expect(isFizzError(err) && err.code).toBe("transport.packet_too_large");
  });

  test("address in use becomes a FizzError with a hint", async () => {
    const a = await node(ring(1));
    let err: unknown;
    try {
      await UdpTransport.bind({ host: "127.0.0.1", port: a.t.address.port, keyring: ring(1), onPacket: () => {} });
    } catch (e) {
      err = e;
    }
    expect(isFizzError(err) && err.code).toBe("transport.address_in_use");
    expect(isFizzError(err) && err.message).toContain(`127.0.0.1:${a.t.address.port}`);
    expect(isFizzError(err) && err.hint).toContain("port");
  });
});
