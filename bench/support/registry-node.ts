/**
 * One Fizz registry node in its own process, for bench/registry.ts: the
 * Registry with its pull-through sources, a client listener on loopback,
 * and (given a cluster key and the other nodes) a mutual-TLS peer listener
 * and a static membership, as the agent's registry controller sets them up.
 * Holder records are not gossiped here: nodes pulling a new image at once
 * find each other through the digest's fetcher, which is what is measured.
 *
 *   bun bench/support/registry-node.ts ROOT PORT [--insecure H:P]
 *       [--self ID --peer-port P --key HEX --peers ID=H:P,ID=H:P]
 * Prints `ready` on stdout once both listeners are up.
 * FIZZ_REGISTRY_PREFETCH=N sets the blobs fetched ahead at a time (the
 * agent's registry.prefetch; 0 = off) for A/B runs.
 */
import { parseArgs } from "node:util";
import { peerCredentials, type Digest, type PeerAsk, type RepoName } from "../../core/registry/index.ts";
import { listenRegistry, PeerClient, Registry, registryHandler, RemoteSources, UpstreamClient, type PeerNetwork } from "../../platform/registry/index.ts";

const { positionals, values } = parseArgs({
  allowPositionals: true,
  options: { insecure: { type: "string" }, self: { type: "string" }, "peer-port": { type: "string" }, key: { type: "string" }, peers: { type: "string" } },
});
const [root, port] = positionals as [string, string];
const prefetch = process.env.FIZZ_REGISTRY_PREFETCH;
const registry = new Registry({ root, ...(prefetch !== undefined ? { prefetch: Number(prefetch) } : {}) });
const upstream = new UpstreamClient({ insecure: values.insecure ? [values.insecure] : [] });
let peers: PeerNetwork | undefined;
if (values.self && values.key && values.peers) {
  const addr = new Map(values.peers.split(",").map((p) => p.split("=") as [string, string]));
  const creds = peerCredentials(Buffer.from(values.key, "hex"));
  const client = new PeerClient((n) => addr.get(n));
  client.setTls({ cert: creds.cert, key: creds.key, trust: [creds.cert] });
  const self = values.self;
  peers = {
    self,
    alive: () => [...addr.keys()],
    holders: () => [],
    blob: (n: string, r: RepoName, d: Digest, a: PeerAsk) => client.blob(n, r, d, a),
    manifest: (n: string, r: RepoName, d: Digest, a: PeerAsk) => client.manifest(n, r, d, a),
  };
  await listenRegistry(registryHandler(registry, { peer: true }), { host: "127.0.0.1", port: Number(values["peer-port"]), tls: { cert: creds.cert, key: creds.key, ca: creds.cert, requestCert: true } });
}
registry.remote = new RemoteSources(registry, upstream, peers);
await listenRegistry(registryHandler(registry), { host: "127.0.0.1", port: Number(port) });
process.stdout.write("ready\n");
process.on("SIGTERM", () => {
  if (process.env.FIZZ_BENCH_CPU) {
    const c = process.cpuUsage();
    process.stderr.write(`registry node cpu: ${((c.user + c.system) / 1e6).toFixed(2)} s\n`);
  }
  registry.close();
  process.exit(0);
});
