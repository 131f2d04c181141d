import { afterEach, describe, expect, test } from "bun:test";
import { createKeyring, install, keyIdOf, use, type Keyring } from "../../../core/cluster-crypto/keyring.ts";
import { ClusterEndpoint } from "../../../platform/transport/cluster.ts";
import { isFizzError } from "../../../core/errors.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const clusterId = new Uint8Array(16).fill(3);

function ring(fill: number): Keyring {
  const r = createKeyring(new Uint8Array(32).fill(fill));
  if (!r.ok) throw new Error(r.error.message);
  return r.keyring;
}

const open: ClusterEndpoint[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((e) => e.close()));
});

async function endpoint(nodeId: string, keyring: Keyring, got: string[]): Promise<ClusterEndpoint> {
  const e = await ClusterEndpoint.bind({
    host: "127.0.0.1",
    port: 0,
    keyring,
    clusterId,
    nodeId,
    onPacket: (p) => got.push(dec.decode(p)),
    onStream: async (s) => {
      const m = await s.receive();
      if (m) await s.send(enc.encode(`${nodeId} got ${dec.decode(m)}`));
    },
  });
  open.push(e);
  return e;
}

async function until(cond: () => boolean): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!cond() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
}

describe("cluster endpoint", () => {
  test("UDP and TCP share one port; packets and streams work; one call rotates both", async () => {
    const gotA: string[] = [];
    const gotB: string[] = [];
    const a = await endpoint("a", ring(1), gotA);
    const b = await endpoint("b", ring(1), gotB);
    expect(a.udp.address.port).toBe(a.tcp.address.port);
    const bAddr = `127.0.0.1:${b.address.port}`;
    a.send(bAddr, enc.encode("probe"));
    await until(() => gotB.length === 1);
    expect(gotB).toEqual(["probe"]);
    const s = await a.openStream(bAddr, "push-pull");
    await s.send(enc.encode("digest"));
    expect(dec.decode((await s.receive())!)).toBe("b got digest");
    s.close();

    // A rotates to k2 alone: B (k1 only) refuses both kinds of traffic …
    const k2 = new Uint8Array(32).fill(2);
    const i = install(a.keyring, k2);
    if (!i.ok) throw new Error();
    const u = use(i.keyring, keyIdOf(k2));
    if (!u.ok) throw new Error();
    a.setKeyring(u.keyring);
    a.send(bAddr, enc.encode("k2 probe"));
    await until(() => b.udp.counters.dropped["unknown-key"] === 1);
    expect(b.udp.counters.dropped["unknown-key"]).toBe(1);
    let err: unknown;
    await a.openStream(bAddr, "push-pull").catch((e) => (err = e));
    expect(isFizzError(err) && err.code).toBe("cluster.wrong_key");
    // … until B installs k2, with no restart.
    const j = install(b.keyring, k2);
    if (!j.ok) throw new Error();
    b.setKeyring(j.keyring);
    a.send(bAddr, enc.encode("k2 again"));
    await until(() => gotB.length === 2);
    expect(gotB).toEqual(["probe", "k2 again"]);
    const s2 = await a.openStream(bAddr, "push-pull");
    expect(s2.keyId).toBe(keyIdOf(k2));
    s2.close();
  });
});
