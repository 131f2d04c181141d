// Fetching ahead: a client's GET of an image manifest through the
// pull-through cache starts fetching the image's blobs from the upstream
// before the client asks for them (config, then layers, a few at a time);
// a client asking for one of them meanwhile joins that fetch, so the
// upstream still sends each blob once; an index fetches nothing ahead (the
// platform manifest read next does), nor does a HEAD or a peer's ask; and a
// fetch ahead that fails is nobody's error. The upstream is a stand-in
// that counts blob GETs and can hold a blob halfway or fail it once. Then
// the Prefetcher's queue alone, with fetches the test completes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { Digest, RepoName } from "../../../core/registry/index.ts";
import { Prefetcher, RemoteSources, UpstreamClient, type Inflight, type RegistryHooks } from "../../../platform/registry/index.ts";
import { imageManifest, sha, startTestRegistry, type TestRegistry } from "./support.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";

interface Image {
  readonly manifest: Buffer;
  readonly digest: Digest;
  /** Config first, then the layers: the manifest's order. */
  readonly blobs: { digest: Digest; bytes: Buffer }[];
}

function makeImage(seed: string, layers: number[]): Image {
  const config = Buffer.from(JSON.stringify({ architecture: "amd64", os: "linux", seed }));
  const ls = layers.map((n) => Buffer.from(randomBytes(n)));
  const manifest = Buffer.from(imageManifest(sha(config), config.byteLength, ls.map((b) => ({ digest: sha(b), size: b.byteLength }))));
  return { manifest, digest: sha(manifest) as Digest, blobs: [config, ...ls].map((bytes) => ({ digest: sha(bytes) as Digest, bytes })) };
}

/** An upstream registry serving repository a/b: manifests by tag and digest, blobs, with every blob GET logged. */
class FakeUpstream {
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  readonly blobs = new Map<string, Buffer>();
  /** Blob GETs, in the order they arrived. */
  gets: string[] = [];
  /** Blobs sent halfway, the rest once `release()` is called. */
  readonly hold = new Set<string>();
  /** Blobs answered 500 the next time they are asked for. */
  readonly failOnce = new Set<string>();
  private released!: Promise<void>;
  release!: () => void;
  private server!: Server;
  private readonly sockets = new Set<Socket>();
  endpoint = "";

  constructor() {
    this.rearm();
  }

  private rearm(): void {
    this.released = new Promise((r) => {
      this.release = () => {
        this.hold.clear();
        r();
        this.rearm();
      };
    });
  }

  add(img: Image, tag?: string): void {
    const m = { bytes: img.manifest, mediaType: OCI_MANIFEST };
    this.manifests.set(img.digest, m);
    if (tag) this.manifests.set(tag, m);
    for (const b of img.blobs) this.blobs.set(b.digest, b.bytes);
  }

  count(d: string): number {
    return this.gets.filter((g) => g === d).length;
  }

  async start(): Promise<void> {
    this.server = createServer((req, res) => void this.handle(req.method ?? "GET", req.url ?? "/", res));
    this.server.on("connection", (s: Socket) => {
      this.sockets.add(s);
      s.on("close", () => this.sockets.delete(s));
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", () => r()));
    const a = this.server.address();
    this.endpoint = `127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
  }

  /** Cuts every connection (answers under way stop where they are). */
  closeConnections(): void {
    for (const s of this.sockets) s.destroy();
  }

  close(): void {
    this.release();
    this.closeConnections();
    this.server.close();
  }

  private async handle(method: string, url: string, res: ServerResponse): Promise<void> {
    const m = /^\/v2\/a\/b\/(manifests|blobs)\/([^/?]+)$/.exec(url);
    if (m?.[1] === "manifests" && this.manifests.has(m[2]!)) {
      const { bytes, mediaType } = this.manifests.get(m[2]!)!;
      res.writeHead(200, { "content-type": mediaType, "content-length": bytes.length, "docker-content-digest": sha(bytes) });
      res.end(method === "HEAD" ? undefined : bytes);
      return;
    }
    if (m?.[1] === "blobs" && this.blobs.has(m[2]!)) {
      const d = m[2]!;
      const bytes = this.blobs.get(d)!;
      if (method === "GET") this.gets.push(d);
      if (this.failOnce.delete(d)) {
        res.writeHead(500, { "content-type": "text/plain", "content-length": 4 });
        res.end("oops");
        return;
      }
      res.writeHead(200, { "content-length": bytes.length });
      if (method === "HEAD") return void res.end();
      if (!this.hold.has(d)) return void res.end(bytes);
      const half = bytes.length >> 1;
      res.write(bytes.subarray(0, half));
      await this.released;
      res.end(bytes.subarray(half));
      return;
    }
    res.writeHead(404, { "content-type": "application/json", "content-length": 2 });
    res.end("{}");
  }
}

async function until(what: string, cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("fetching an image's blobs ahead of the client", () => {
  const up = new FakeUpstream();
  const app = makeImage("app", [300_000, 200_000, 400_000]);
  const arm = makeImage("arm", [100_000]);
  const index = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        { mediaType: OCI_MANIFEST, digest: app.digest, size: app.manifest.length, platform: { architecture: "amd64", os: "linux" } },
        { mediaType: OCI_MANIFEST, digest: arm.digest, size: arm.manifest.length, platform: { architecture: "arm64", os: "linux" } },
      ],
    }),
  );
  const nodes: TestRegistry[] = [];
  let ns = "";

  beforeAll(async () => {
    await up.start();
    up.add(app, "1");
    up.add(arm);
    up.manifests.set("multi", { bytes: index, mediaType: OCI_INDEX });
    up.manifests.set(sha(index), { bytes: index, mediaType: OCI_INDEX });
    ns = `${up.endpoint.replace(":", "_")}/a/b`;
  });
  afterAll(async () => {
    for (const n of nodes) await n.stop();
    up.close();
  });

  /** A fresh cache in front of the upstream; `prefetched` lists what its fetches ahead reported. */
  async function cache(prefetch?: number): Promise<TestRegistry & { prefetched: { digest: Digest; error?: unknown }[] }> {
    const prefetched: { digest: Digest; error?: unknown }[] = [];
    const hooks: RegistryHooks = { prefetched: (digest, error) => prefetched.push(error === undefined ? { digest } : { digest, error }) };
    const n = await startTestRegistry({
      options: { hooks, ...(prefetch !== undefined ? { prefetch } : {}) },
      setup: (r) => (r.remote = new RemoteSources(r, new UpstreamClient({ insecure: [up.endpoint] }), undefined)),
    });
    nodes.push(n);
    up.gets = [];
    return Object.assign(n, { prefetched });
  }

  test("a GET of an image manifest brings its config and layers into the store with no blob asked for", async () => {
    const n = await cache();
    const r = await fetch(`${n.base}/v2/${ns}/manifests/1`);
    expect(r.status).toBe(200);
    expect(Buffer.from(await r.arrayBuffer()).equals(app.manifest)).toBe(true);
    await n.registry.prefetcher.idle();
    for (const b of app.blobs) {
      expect(n.registry.store.has(b.digest)).toBe(true);
      expect(up.count(b.digest)).toBe(1);
    }
    // In the order they completed (three at a time).
    expect(n.prefetched.map((p) => p.digest).sort()).toEqual(app.blobs.map((b) => b.digest).sort());
    expect(n.prefetched.filter((p) => p.error !== undefined)).toEqual([]);
    // Read afterwards, they come from the store: the upstream is not asked again.
    for (const b of app.blobs) expect(Buffer.from(await (await fetch(`${n.base}/v2/${ns}/blobs/${b.digest}`)).arrayBuffer()).equals(b.bytes)).toBe(true);
    expect(up.gets.length).toBe(app.blobs.length);
    // A second GET of the manifest (all blobs here) fetches nothing.
    await fetch(`${n.base}/v2/${ns}/manifests/${app.digest}`).then((x) => x.arrayBuffer());
    expect(n.registry.prefetcher.pending).toBe(0);
    expect(up.gets.length).toBe(app.blobs.length);
  });

  test("the blobs are asked for in manifest order, `prefetch` at a time", async () => {
    const n = await cache(1);
    up.hold.add(app.blobs[0]!.digest);
    await fetch(`${n.base}/v2/${ns}/manifests/1`).then((x) => x.arrayBuffer());
    await until("the config's GET", () => up.gets.length === 1);
    await new Promise((r) => setTimeout(r, 50));
    // One at a time: the first layer waits for the config.
    expect(up.gets).toEqual([app.blobs[0]!.digest]);
    up.release();
    await n.registry.prefetcher.idle();
    expect(up.gets).toEqual(app.blobs.map((b) => b.digest));
  });

  test("clients reading the blobs while they are fetched ahead join those fetches: the upstream sends each blob once", async () => {
    const n = await cache(3);
    for (const b of app.blobs) up.hold.add(b.digest);
    await fetch(`${n.base}/v2/${ns}/manifests/1`).then((x) => x.arrayBuffer());
    // Three under way (config and two layers, each half sent), the last layer waiting for a slot.
    await until("three fetches ahead", () => up.gets.length === 3);
    expect(new Set(up.gets)).toEqual(new Set(app.blobs.slice(0, 3).map((b) => b.digest)));
    const reads = Promise.all(
      app.blobs.flatMap((b) =>
        Array.from({ length: 3 }, async () => {
          const r = await fetch(`${n.base}/v2/${ns}/blobs/${b.digest}`);
          return { digest: b.digest, status: r.status, ok: Buffer.from(await r.arrayBuffer()).equals(b.bytes) };
        }),
      ),
    );
    // The clients' requests for the last layer started its fetch (it is held like the others).
    await until("the last layer's GET", () => up.gets.length === 4);
    up.release();
    for (const got of await reads) expect(got).toEqual({ digest: got.digest, status: 200, ok: true });
    await n.registry.prefetcher.idle();
    for (const b of app.blobs) expect([b.digest, up.count(b.digest)]).toEqual([b.digest, 1]);
    // The last layer's fetch is the clients' (skipped ahead): readers end before its commit.
    await until("every blob stored", () => app.blobs.every((b) => n.registry.store.has(b.digest)));
  });

  test("an index fetches nothing ahead; the platform manifest read next does, only its own blobs", async () => {
    const n = await cache();
    const r = await fetch(`${n.base}/v2/${ns}/manifests/multi`);
    expect(r.headers.get("content-type")).toBe(OCI_INDEX);
    await r.arrayBuffer();
    expect(n.registry.prefetcher.pending).toBe(0);
    await new Promise((res) => setTimeout(res, 50));
    expect(up.gets).toEqual([]);
    await fetch(`${n.base}/v2/${ns}/manifests/${arm.digest}`).then((x) => x.arrayBuffer());
    await n.registry.prefetcher.idle();
    expect(up.gets.sort()).toEqual(arm.blobs.map((b) => b.digest).sort());
    for (const b of app.blobs) expect(n.registry.store.has(b.digest)).toBe(false);
  });

  test("a HEAD of a manifest, or a peer reading it, fetches nothing ahead", async () => {
    const n = await cache();
    const h = await fetch(`${n.base}/v2/${ns}/manifests/1`, { method: "HEAD" });
    expect(h.status).toBe(200);
    expect(n.registry.prefetcher.pending).toBe(0);
    await n.registry.getManifest(ns as RepoName, { kind: "digest", digest: app.digest }, "fetcher", { prefetch: true });
    expect(n.registry.prefetcher.pending).toBe(0);
    await new Promise((res) => setTimeout(res, 50));
    expect(up.gets).toEqual([]);
  });

  test("registry.prefetch 0: only what clients ask for is fetched", async () => {
    const n = await cache(0);
    await fetch(`${n.base}/v2/${ns}/manifests/1`).then((x) => x.arrayBuffer());
    await new Promise((res) => setTimeout(res, 50));
    expect(n.registry.prefetcher.pending).toBe(0);
    expect(up.gets).toEqual([]);
  });

  test("an upstream error while fetching ahead reaches no client: the manifest is served, the blob fetched when asked for", async () => {
    const n = await cache();
    const bad = app.blobs[2]!;
    up.failOnce.add(bad.digest);
    const r = await fetch(`${n.base}/v2/${ns}/manifests/1`);
    expect(r.status).toBe(200);
    await r.arrayBuffer();
    await n.registry.prefetcher.idle();
    const failed = n.prefetched.filter((p) => p.error !== undefined);
    expect(failed.map((p) => p.digest)).toEqual([bad.digest]);
    expect(n.registry.store.has(bad.digest)).toBe(false);
    const b = await fetch(`${n.base}/v2/${ns}/blobs/${bad.digest}`);
    expect(b.status).toBe(200);
    expect(Buffer.from(await b.arrayBuffer()).equals(bad.bytes)).toBe(true);
    expect(up.count(bad.digest)).toBe(2);
    for (const other of app.blobs.filter((x) => x !== bad)) expect(up.count(other.digest)).toBe(1);
  });

  test("an upstream gone while fetching ahead: the manifest was served, nothing is left behind in the store's temp dir", async () => {
    const n = await cache();
    up.hold.add(app.blobs[1]!.digest);
    await fetch(`${n.base}/v2/${ns}/manifests/1`).then((x) => x.arrayBuffer());
    await until("the held layer's GET", () => up.gets.includes(app.blobs[1]!.digest));
    // Cut every connection: the held layer stops halfway.
    up.closeConnections();
    up.release();
    await n.registry.prefetcher.idle();
    expect(n.registry.store.has(app.blobs[1]!.digest)).toBe(false);
    expect(readdirSync(n.registry.store.tmp)).toEqual([]);
    // Asked for now, it comes whole.
    const b = await fetch(`${n.base}/v2/${ns}/blobs/${app.blobs[1]!.digest}`);
    expect(Buffer.from(await b.arrayBuffer()).equals(app.blobs[1]!.bytes)).toBe(true);
  });
});

describe("the Prefetcher's queue", () => {
  const d = (n: number) => sha(`blob ${n}`) as Digest;
  const repo = "r/x" as RepoName;
  /** A fetch whose verification and commit the test controls. */
  function controlled() {
    let verify!: () => void;
    let store!: () => void;
    let fail!: (e: Error) => void;
    const done = new Promise<void>((r, j) => ((verify = r), (fail = j)));
    const stored = done.then(() => new Promise<void>((r) => (store = r)));
    stored.catch(() => {});
    return { inf: { done, stored } as unknown as Inflight, verify: () => verify(), store: () => store(), fail: (e: Error) => fail(e) };
  }

  test("in order, `concurrency` at a time; a slot frees once the bytes are verified, before the commit; stored, in-flight and repeated blobs are skipped", async () => {
    const started: Digest[] = [];
    const fetches = new Map<Digest, ReturnType<typeof controlled>>();
    const stored = new Set<Digest>([d(2)]);
    const inFlight = new Set<Digest>([d(3)]);
    const reported: string[] = [];
    const p = new Prefetcher({
      concurrency: 2,
      has: (x) => stored.has(x),
      fetching: (x) => inFlight.has(x),
      fetch: async (_r, x) => {
        started.push(x);
        const c = controlled();
        fetches.set(x, c);
        return c.inf;
      },
      events: { fetched: (x) => reported.push(`ok ${x}`), failed: (x) => reported.push(`failed ${x}`) },
    });
    p.want(repo, [d(1), d(2), d(3), d(4), d(1), d(5), d(6)]);
    await Bun.sleep(1);
    expect(started).toEqual([d(1), d(4)]);
    p.want(repo, [d(4), d(5)]);
    expect(p.pending).toBe(4);
    fetches.get(d(1))!.verify();
    await Bun.sleep(1);
    // d(1) is still being committed, yet d(5) has its slot.
    expect(started).toEqual([d(1), d(4), d(5)]);
    expect(reported).toEqual([]);
    fetches.get(d(1))!.store();
    fetches.get(d(4))!.fail(new Error("upstream said no"));
    await Bun.sleep(1);
    expect(reported.sort()).toEqual([`failed ${d(4)}`, `ok ${d(1)}`].sort());
    expect(started).toEqual([d(1), d(4), d(5), d(6)]);
    const idle = p.idle();
    for (const x of [d(5), d(6)]) {
      fetches.get(x)!.verify();
      await Bun.sleep(1);
      fetches.get(x)!.store();
    }
    await idle;
    expect(p.pending).toBe(0);
  });

  test("close drops what waits and starts nothing more", async () => {
    const started: Digest[] = [];
    const p = new Prefetcher({ concurrency: 1, has: () => false, fetching: () => false, fetch: async (_r, x) => (started.push(x), controlled().inf) });
    p.want(repo, [d(1), d(2), d(3)]);
    await Bun.sleep(1);
    p.close();
    p.want(repo, [d(4)]);
    await Bun.sleep(1);
    expect(started).toEqual([d(1)]);
  });
});
