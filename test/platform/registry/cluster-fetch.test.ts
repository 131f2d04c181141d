// Single flight across a cluster, below the agent: three registries, each
// with a peer listener over mutual TLS and the same alive list, no holder
// records (as when every node misses a new image at once), pulling every
// blob of a new image concurrently through their own listeners from
// Debian's docker-registry. Each blob must leave the upstream exactly once
// and every reader must get the right bytes, round after round (a reader
// that joined a fetch just as it was committed used to fail, its peer got a
// broken answer and went to the upstream itself).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peerCredentials, type Digest, type PeerAsk, type RepoName } from "../../../core/registry/index.ts";
import { listenRegistry, PeerClient, Registry, registryHandler, RemoteSources, UpstreamClient, type RegistryListener } from "../../../platform/registry/index.ts";
import { dockerRegistryBinary, removeDockerRegistry, startDockerRegistry, type DockerRegistry } from "../../support/docker-registry.ts";
import { generateImage, pushGenerated } from "../../support/oci-image.ts";

const bin = dockerRegistryBinary();
const IDS = ["a", "b", "c"];

interface Node {
  readonly root: string;
  readonly registry: Registry;
  readonly base: string;
  readonly listeners: RegistryListener[];
  readonly client: PeerClient;
}

describe.skipIf(!bin)("registries of a cluster fetching a new image at once", () => {
  let up: DockerRegistry;
  const nodes: Node[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    up = await startDockerRegistry({ bin: bin! });
    const creds = peerCredentials(new Uint8Array(randomBytes(32)));
    const peerPorts = new Map<string, number>();
    for (const id of IDS) {
      const root = mkdtempSync(join(tmpdir(), "fizz-cluster-fetch-"));
      const registry = new Registry({ root });
      const peerListener = await listenRegistry(registryHandler(registry, { peer: true, onError: (e, req) => problems.push(`${id} served ${req.url}: ${(e as Error).message}`) }), {
        host: "127.0.0.1",
        port: 0,
        tls: { cert: creds.cert, key: creds.key, ca: creds.cert, requestCert: true },
      });
      peerPorts.set(id, peerListener.port);
      const client = new PeerClient((n) => (peerPorts.has(n) ? `127.0.0.1:${peerPorts.get(n)}` : undefined));
      client.setTls({ cert: creds.cert, key: creds.key, trust: [creds.cert] });
      registry.remote = new RemoteSources(
        registry,
        new UpstreamClient({ insecure: [up.address] }),
        {
          self: id,
          alive: () => IDS,
          holders: () => [],
          blob: (n: string, r: RepoName, d: Digest, ask: PeerAsk) => client.blob(n, r, d, ask),
          manifest: (n: string, r: RepoName, d: Digest, ask: PeerAsk) => client.manifest(n, r, d, ask),
        },
        { error: (what, e) => problems.push(`${id}: ${what}: ${(e as Error).message}`) },
      );
      const listener = await listenRegistry(registryHandler(registry), { host: "127.0.0.1", port: 0 });
      nodes.push({ root, registry, base: `http://127.0.0.1:${listener.port}`, listeners: [listener, peerListener], client });
    }
  });

  afterAll(async () => {
    for (const n of nodes) {
      for (const l of n.listeners) await l.close();
      await n.client.close();
      n.registry.close();
      rmSync(n.root, { recursive: true, force: true });
    }
    await up?.stop();
    if (up) removeDockerRegistry(up);
  });

  test("each blob leaves the upstream once, every reader gets its bytes, no peer answer is broken", async () => {
    const ns = up.address.replace(":", "_");
    for (let round = 0; round < 6; round++) {
      const img = await generateImage({ layerSizes: [1_500_000, 700_000, 300_000, 500], seed: `cluster-fetch-${round}` });
      await pushGenerated(up.url, "test/app", String(round), img);
      const blobs = [img.config, ...img.layers];
      await Promise.all(
        nodes.flatMap((n) =>
          blobs.map(async (b) => {
            const r = await fetch(`${n.base}/v2/${ns}/test/app/blobs/${b.digest}`);
            const got = Buffer.from(await r.arrayBuffer());
            if (r.status !== 200 || !got.equals(b.bytes)) problems.push(`round ${round}: a reader of ${b.digest} got ${r.status}, ${got.byteLength} of ${b.size} bytes`);
          }),
        ),
      );
      await up.logged();
      const gets = up.blobGets();
      for (const b of blobs) if (gets.get(b.digest) !== 1) problems.push(`round ${round}: ${b.digest} (${b.size} bytes) left the upstream ${gets.get(b.digest) ?? 0} times`);
    }
    expect(problems).toEqual([]);
  }, 90_000);
});
