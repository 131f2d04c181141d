/** A RegistryApi for API tests: fixed answers shaped like the registry controller's. */
import type { RegistryApi } from "../../../platform/api/routes-registry.ts";

export class FakeRegistry implements RegistryApi {
  gcCalls: { dryRun: boolean; graceMs?: number }[] = [];
  async status(): Promise<unknown> {
    return { enabled: true, address: "127.0.0.1:5050", engineAddress: "127.0.0.1:5050", blobs: 2, bytes: 100, repositories: [{ name: "app", kind: "local", manifests: 1, tags: [{ tag: "1", digest: `sha256:${"a".repeat(64)}`, size: 100 }] }] };
  }
  async gc(o: { dryRun: boolean; graceMs?: number }): Promise<unknown> {
    this.gcCalls.push(o);
    return { dryRun: o.dryRun, graceMs: o.graceMs ?? 0, removed: { blobs: 0, manifests: 0, tags: 0, uploads: 0 }, freedBytes: 0, keptBytes: 100, keptBlobs: 2, items: [] };
  }
  credentials() {
    return { username: "fizz", password: "secret-password-123", address: "127.0.0.1:5050" };
  }
}
