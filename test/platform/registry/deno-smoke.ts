/**
 * The registry's data path outside bun:test, for Deno (node:http, node:https,
 * node:sqlite, undici and the runtime's fetch there):
 * `deno run -A test/platform/registry/deno-smoke.ts` (also runs under Bun).
 * Node A takes a push (chunked upload, manifest by tag) and serves it back;
 * node B, which has nothing, serves the same image by digest with every byte
 * fetched from A over mutual TLS (credentials from a cluster key); node C
 * pulls it through its mirror namespace with A as a plain-HTTP upstream.
 * Prints one line per check; exits non-zero on any failure.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { peerCredentials, type Digest, type PeerAsk, type RepoName } from "../../../core/registry/index.ts";
import { listenRegistry, PeerClient, Registry, registryHandler, RemoteSources, UpstreamClient, type RegistryListener } from "../../../platform/registry/index.ts";

const failures: string[] = [];
const check = (name: string, ok: boolean, got: string) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: ${got.slice(0, 300)}`}`);
  if (!ok) failures.push(name);
};
const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;
const dir = mkdtempSync(join(tmpdir(), "fizz-reg-deno-"));
const listeners: RegistryListener[] = [];
const registries: Registry[] = [];
const peerClients: PeerClient[] = [];

async function node(name: string): Promise<{ registry: Registry; base: string }> {
  const registry = new Registry({ root: join(dir, name) });
  registries.push(registry);
  const l = await listenRegistry(registryHandler(registry), { host: "127.0.0.1", port: 0 });
  listeners.push(l);
  return { registry, base: `http://127.0.0.1:${l.port}` };
}

async function pushBlobChunked(base: string, repo: string, bytes: Uint8Array): Promise<Digest> {
  const start = await fetch(`${base}/v2/${repo}/blobs/uploads/`, { method: "POST" });
  if (start.status !== 202) throw new Error(`POST ${start.status}`);
  let loc = start.headers.get("location")!;
  const chunk = 1 << 20;
  for (let off = 0; off < bytes.byteLength; off += chunk) {
    const part = bytes.subarray(off, Math.min(off + chunk, bytes.byteLength));
    const r = await fetch(`${base}${loc}`, { method: "PATCH", body: part, headers: { "content-type": "application/octet-stream", "content-range": `${off}-${off + part.byteLength - 1}` } });
    if (r.status !== 202) throw new Error(`PATCH ${r.status} ${await r.text()}`);
    loc = r.headers.get("location")!;
  }
  const d = sha(bytes);
  const put = await fetch(`${base}${loc}?digest=${d}`, { method: "PUT" });
  if (put.status !== 201) throw new Error(`PUT ${put.status} ${await put.text()}`);
  return d;
}

/** GETs an image's manifest by reference and every blob it names; true when each matches its digest. */
async function pullAll(base: string, repo: string, ref: string, want: { manifest: Digest; blobs: Digest[] }): Promise<string> {
  const m = await fetch(`${base}/v2/${repo}/manifests/${ref}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
  const mb = new Uint8Array(await m.arrayBuffer());
  if (m.status !== 200 || sha(mb) !== want.manifest) return `manifest ${m.status} ${sha(mb)}`;
  for (const d of want.blobs) {
    const b = await fetch(`${base}/v2/${repo}/blobs/${d}`);
    const bytes = new Uint8Array(await b.arrayBuffer());
    if (b.status !== 200 || sha(bytes) !== d) return `blob ${d} ${b.status} ${bytes.byteLength} bytes`;
  }
  return "ok";
}

try {
  const a = await node("a");
  const b = await node("b");
  const c = await node("c");

  const config = new TextEncoder().encode(JSON.stringify({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const layer = new Uint8Array(randomBytes(3_500_000));
  const cd = await pushBlobChunked(a.base, "team/app", config);
  const ld = await pushBlobChunked(a.base, "team/app", layer);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: cd, size: config.byteLength },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: ld, size: layer.byteLength }],
  });
  const put = await fetch(`${a.base}/v2/team/app/manifests/1`, { method: "PUT", body: manifest, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
  const md = sha(new TextEncoder().encode(manifest));
  check("push: chunked blobs and a manifest by tag", put.status === 201 && put.headers.get("docker-content-digest") === md, `${put.status} ${await put.text()}`);
  const want = { manifest: md, blobs: [cd, ld] };
  const bad = await fetch(`${a.base}/v2/team/app/blobs/uploads/?digest=${sha(new Uint8Array([1]))}`, { method: "POST", body: new Uint8Array([2]) });
  check("a wrong digest is DIGEST_INVALID", bad.status === 400 && (await bad.text()).includes("DIGEST_INVALID"), String(bad.status));
  check("pull from the node that holds it", (await pullAll(a.base, "team/app", "1", want)) === "ok", await pullAll(a.base, "team/app", "1", want));

  // B has nothing: pushed content has no upstream, so B asks its peers, and A serves it over mutual TLS.
  const creds = peerCredentials(new Uint8Array(randomBytes(32)));
  const peerListener = await listenRegistry(registryHandler(a.registry, { peer: true }), { host: "127.0.0.1", port: 0, tls: { cert: creds.cert, key: creds.key, ca: creds.cert, requestCert: true } });
  listeners.push(peerListener);
  const client = new PeerClient((n) => (n === "a" ? `127.0.0.1:${peerListener.port}` : undefined));
  peerClients.push(client);
  client.setTls({ cert: creds.cert, key: creds.key, trust: [creds.cert] });
  b.registry.remote = new RemoteSources(b.registry, undefined, {
    self: "b",
    alive: () => ["a", "b"],
    holders: () => [],
    blob: (n: string, r: RepoName, d: Digest, ask: PeerAsk) => client.blob(n, r, d, ask),
    manifest: (n: string, r: RepoName, d: Digest, ask: PeerAsk) => client.manifest(n, r, d, ask),
  });
  const viaPeer = await pullAll(b.base, "team/app", md, want);
  // Readers finish once the digest is verified; the file's rename into the store follows.
  for (const until = Date.now() + 5000; !b.registry.store.has(ld) && Date.now() < until; ) await new Promise((r) => setTimeout(r, 20));
  check("a node that lacks the image gets it from a peer over mutual TLS", viaPeer === "ok" && b.registry.store.has(ld), viaPeer);
  const stranger = peerCredentials(new Uint8Array(randomBytes(32)));
  const other = new PeerClient(() => `127.0.0.1:${peerListener.port}`);
  peerClients.push(other);
  other.setTls({ cert: stranger.cert, key: stranger.key, trust: [creds.cert] });
  const refused = await other.blob("a", "team/app" as RepoName, ld, "holder").then(
    () => "served",
    (e: Error) => e.message,
  );
  check("the peer listener refuses another cluster's certificate", refused !== "served", refused);

  // C mirrors A (plain HTTP, listed as insecure) under A's host_port namespace.
  const upHost = a.base.slice("http://".length);
  c.registry.remote = new RemoteSources(c.registry, new UpstreamClient({ insecure: [upHost] }), undefined);
  const mirror = `${upHost.replace(":", "_")}/team/app`;
  const viaMirror = await pullAll(c.base, mirror, "1", want);
  check("pull-through: a tag of a plain-HTTP upstream through the mirror namespace", viaMirror === "ok" && c.registry.meta.tag(mirror, "1")?.digest === md, viaMirror);
} catch (e) {
  check("no exception", false, (e as Error).stack ?? String(e));
} finally {
  for (const p of peerClients) await p.close();
  for (const l of listeners) await l.close();
  for (const r of registries) r.close();
  rmSync(dir, { recursive: true, force: true });
}
process.exit(failures.length ? 1 : 0);
