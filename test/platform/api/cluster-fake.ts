/**
 * An in-memory ClusterApi for API tests (the openapi contract test and the
 * cluster route tests): it keeps a membership flag and a real keyring
 * (core/cluster-crypto), so keyring rules (unknown id, removing the primary)
 * answer as the agent's would, without sockets.
 */
import { FizzError } from "../../../core/errors.ts";
import { createKeyring, install, keyIdOf, keyringErrorToFizz, remove, use, type Keyring, type KeyringResult } from "../../../core/cluster-crypto/index.ts";
import type { ClusterApi, ClusterKeysView, ClusterNodeView } from "../../../platform/api/cluster-api.ts";

export class FakeCluster implements ClusterApi {
  member = true;
  ring: Keyring = ok(createKeyring(new Uint8Array(32).fill(1)));
  readonly calls: string[] = [];
  self: ClusterNodeView = { id: "test-node", name: "test", address: "127.0.0.1:7946", state: "alive", incarnation: 0, labels: {}, resources: { cpuMillis: 1000, memoryBytes: 2 ** 30 }, rttMs: null, self: true };

  async init(o: { advertise?: string | undefined }) {
    this.calls.push(`init ${o.advertise ?? ""}`);
    this.member = true;
    return { cluster: "00".repeat(16), node: this.self.id, address: o.advertise ?? this.self.address, token: "fizz1fake" };
  }
  async join(o: { address: string; token: string }) {
    this.calls.push(`join ${o.address} ${o.token}`);
    if (o.token === "wrong") throw new FizzError({ code: "cluster.wrong_key", message: "refused us: wrong cluster key", status: 403 });
    this.member = true;
    return { cluster: "00".repeat(16), node: this.self.id, address: this.self.address, via: o.address, members: 2 };
  }
  async leave() {
    this.calls.push("leave");
    return { left: true, node: this.self.id };
  }
  nodes() {
    return [this.self];
  }
  token() {
    this.calls.push("token");
    if (!this.member) throw new FizzError({ code: "cluster.not_member", message: "this node is not part of a cluster", status: 409 });
    return { cluster: "00".repeat(16), node: this.self.id, address: this.self.address, token: "fizz1fake" };
  }
  keys(): ClusterKeysView {
    return { primary: this.ring.primary, keys: this.ring.keys.map((k) => ({ id: k.id, primary: k.id === this.ring.primary })) };
  }
  private apply(r: KeyringResult): ClusterKeysView {
    if (!r.ok) {
      const e = keyringErrorToFizz(r.error);
      throw new FizzError({ code: e.code, message: e.message, status: r.error.code === "unknown-key" ? 404 : 409 });
    }
    this.ring = r.keyring;
    return this.keys();
  }
  installKey(key: string) {
    const bytes = new Uint8Array(Buffer.from(key, "base64"));
    if (bytes.length !== 32) throw new FizzError({ code: "keyring.bad_key", message: "a cluster key is 32 bytes", status: 400 });
    return { ...this.apply(install(this.ring, bytes)), installed: keyIdOf(bytes) };
  }
  useKey(id: string) {
    return this.apply(use(this.ring, id));
  }
  removeKey(id: string) {
    return this.apply(remove(this.ring, id));
  }
}

function ok(r: KeyringResult): Keyring {
  if (!r.ok) throw new Error(r.error.message);
  return r.keyring;
}
