// The cluster as the registry sees it: a peer is reachable, and can be a
// digest's fetcher, from the moment it is seen alive (its peer port rides in
// the gossiped metadata), not only once its replicated record arrives.
import { describe, expect, test } from "bun:test";
import { ClusterPeers } from "../../../controllers/registry/peers.ts";
import type { ClusterAgent } from "../../../controllers/cluster/membership.ts";
import { createLogger } from "../../../platform/log.ts";
import { emptyState, putRegistryPeer, type ClusterState } from "../../../core/state/index.ts";
import { peerCredentials, registryMetaFields } from "../../../core/registry/index.ts";
import { createKeyring, install, keyIdOf, use, type Keyring } from "../../../core/cluster-crypto/keyring.ts";

interface FakeMember {
  id: string;
  address: string;
  state: "alive" | "suspect" | "dead" | "left";
  self: boolean;
  ports: Record<string, number>;
}

function peersOver(members: FakeMember[], state: ClusterState): ClusterPeers {
  const node = {
    state,
    members: () => members.map((m) => ({ id: m.id, address: m.address, state: m.state, self: m.self, incarnation: 0, rttMs: undefined, meta: { name: m.id, labels: {}, resources: { cpuMillis: 0, memoryBytes: 0 }, ports: m.ports } })),
  };
  const membership = { nodeId: "a", current: node, currentKeyring: undefined } as unknown as ClusterAgent;
  return new ClusterPeers(membership, createLogger({ write: () => {} }));
}

const port = registryMetaFields(7947).ports;

describe("registry peers", () => {
  test("a member seen alive with its gossiped port is a source before its record arrives; one without a registry is not", () => {
    const peers = peersOver(
      [
        { id: "a", address: "10.0.0.1:7946", state: "alive", self: true, ports: port },
        { id: "b", address: "10.0.0.2:7946", state: "alive", self: false, ports: port },
        { id: "c", address: "10.0.0.3:7946", state: "alive", self: false, ports: {} },
        { id: "d", address: "10.0.0.4:7946", state: "suspect", self: false, ports: port },
      ],
      emptyState(),
    );
    expect(peers.alive()).toEqual(["a", "b"]);
  });

  test("the replicated record makes a member reachable too (an agent that gossips no port, or registry.peer_advertise)", () => {
    const ts = { wall: 1, logical: 0, node: "c" };
    const state = putRegistryPeer(emptyState(), ts, "c", "203.0.113.3:9000").state;
    const peers = peersOver(
      [
        { id: "a", address: "10.0.0.1:7946", state: "alive", self: true, ports: {} },
        { id: "c", address: "10.0.0.3:7946", state: "alive", self: false, ports: {} },
      ],
      state,
    );
    expect(peers.alive()).toEqual(["a", "c"]);
  });

  test("asking a peer whose address is unknown is an error that says so, never a silent skip", async () => {
    const peers = peersOver([{ id: "a", address: "10.0.0.1:7946", state: "alive", self: true, ports: port }], emptyState());
    peers.client.setTls({ cert: "x", key: "y", trust: [] });
    const d = `sha256:${"0".repeat(64)}` as const;
    await expect(peers.blob("zzzzzzzz-gone", "team/app" as never, d as never, "fetcher")).rejects.toThrow(/registry address is not known/);
    await peers.close();
  });

  test("the peer TLS material is the keyring's and follows it when a key is installed and made primary", () => {
    const k1 = new Uint8Array(32).fill(1), k2 = new Uint8Array(32).fill(2);
    const ok = (r: { ok: true; keyring: Keyring } | { ok: false }) => (r.ok ? r.keyring : expect.unreachable());
    const r1 = ok(createKeyring(k1));
    const membership = { nodeId: "a", current: undefined, currentKeyring: r1 as Keyring | undefined };
    const peers = new ClusterPeers(membership as unknown as ClusterAgent, createLogger({ write: () => {} }));
    const c1 = peerCredentials(k1), c2 = peerCredentials(k2);
    expect(peers.serverTls()).toEqual({ cert: c1.cert, key: c1.key, ca: [c1.cert] });
    expect(peers.serverTls()).toEqual({ cert: c1.cert, key: c1.key, ca: [c1.cert] });
    // Rotation: install k2 (both trusted, k1 still presented), then make it primary.
    membership.currentKeyring = ok(install(r1, k2));
    expect(peers.serverTls()).toEqual({ cert: c1.cert, key: c1.key, ca: [c1.cert, c2.cert] });
    membership.currentKeyring = ok(use(membership.currentKeyring, keyIdOf(k2)));
    expect(peers.serverTls()).toEqual({ cert: c2.cert, key: c2.key, ca: [c1.cert, c2.cert] });
    membership.currentKeyring = undefined;
    expect(peers.serverTls()).toBeUndefined();
  });
});
