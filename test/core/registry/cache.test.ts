import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  canonicalImageRef,
  credentialsFor,
  familiarImageRef,
  fetcherOf,
  isCacheRepo,
  isInsecureUpstream,
  mirrorRepo,
  namespaceOf,
  parseChallenge,
  parseImageRef,
  parseInsecureList,
  parseTokenResponse,
  planGc,
  sourcesFor,
  tokenUrl,
  type Digest,
  type GcInput,
} from "../../../core/registry/index.ts";

const d = (c: string) => ("sha256:" + c.repeat(64)) as Digest;
const DAY = 86_400_000;

describe("image references", () => {
  test("Docker's rules for host, library/ and latest", () => {
    expect(parseImageRef("busybox")).toEqual({ host: "docker.io", path: "library/busybox" });
    expect(canonicalImageRef(parseImageRef("busybox")!)).toBe("docker.io/library/busybox:latest");
    expect(parseImageRef("user/app:1")).toEqual({ host: "docker.io", path: "user/app", tag: "1" });
    expect(parseImageRef("ghcr.io/o/app:v2")).toEqual({ host: "ghcr.io", path: "o/app", tag: "v2" });
    expect(parseImageRef("localhost/app")).toEqual({ host: "localhost", path: "app" });
    expect(parseImageRef("10.0.0.5:5000/team/api:1@" + d("a"))).toEqual({ host: "10.0.0.5:5000", path: "team/api", tag: "1", digest: d("a") });
    expect(parseImageRef("index.docker.io/library/nginx")!.host).toBe("docker.io");
    expect(familiarImageRef(parseImageRef("docker.io/library/busybox:1")!)).toBe("busybox:1");
    expect(familiarImageRef(parseImageRef("10.0.0.5:5000/x@" + d("a"))!)).toBe("10.0.0.5:5000/x@" + d("a"));
    for (const bad of ["", "UPPER/x", "a/../b", "x@sha256:zz", "x:bad tag", "ho st:1/x"]) expect(parseImageRef(bad)).toBeUndefined();
  });
});

describe("mirror namespaces", () => {
  test("an upstream host in the first component, host_port for ports", () => {
    expect(namespaceOf("docker.io/library/busybox")).toEqual({ kind: "upstream", host: "docker.io", endpoint: "registry-1.docker.io", remote: "library/busybox" });
    expect(namespaceOf("docker.io/busybox")).toMatchObject({ remote: "library/busybox" });
    expect(namespaceOf("127.0.0.1_5001/test/app")).toEqual({ kind: "upstream", host: "127.0.0.1:5001", endpoint: "127.0.0.1:5001", remote: "test/app" });
    expect(namespaceOf("localhost_5000/x")).toMatchObject({ endpoint: "localhost:5000" });
    expect(namespaceOf("ghcr.io/o/a")).toMatchObject({ endpoint: "ghcr.io", remote: "o/a" });
    expect(namespaceOf("app")).toEqual({ kind: "local" });
    expect(namespaceOf("team/app")).toEqual({ kind: "local" });
    expect(namespaceOf("fizz/proj/web")).toEqual({ kind: "build" });
    expect(isCacheRepo("fizz/proj/web")).toBe(true);
    expect(isCacheRepo("team/app")).toBe(false);
  });
  test("image ref → mirror repository → the same upstream (round trip, property)", () => {
    const comp = fc.stringMatching(/^[a-z0-9]{1,6}$/);
    fc.assert(
      fc.property(fc.array(comp, { minLength: 1, maxLength: 3 }), fc.array(comp, { minLength: 1, maxLength: 3 }), fc.option(fc.integer({ min: 1, max: 65535 })), (hostParts, path, port) => {
        const host = `${hostParts.join(".")}.io${port !== null ? `:${port}` : ""}`;
        const ref = parseImageRef(`${host}/${path.join("/")}:t`)!;
        const repo = mirrorRepo(ref)!;
        expect(namespaceOf(repo)).toEqual({ kind: "upstream", host, endpoint: host, remote: path.join("/") });
      }),
    );
  });
  test("plain HTTP only for listed upstreams", () => {
    const list = parseInsecureList(" 10.0.0.5:5000, localhost ,");
    expect(list).toEqual(["10.0.0.5:5000", "localhost"]);
    expect(isInsecureUpstream("10.0.0.5:5000", list)).toBe(true);
    expect(isInsecureUpstream("10.0.0.5:5001", list)).toBe(false);
    expect(isInsecureUpstream("localhost:1234", list)).toBe(true);
    expect(isInsecureUpstream("registry-1.docker.io", list)).toBe(false);
  });
});

describe("upstream auth", () => {
  test("Bearer and Basic challenges", () => {
    const c = parseChallenge('Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"');
    expect(c).toEqual({ scheme: "bearer", realm: "https://auth.docker.io/token", service: "registry.docker.io", scope: "repository:library/busybox:pull" });
    expect(tokenUrl(c as never, "library/busybox")).toBe("https://auth.docker.io/token?service=registry.docker.io&scope=repository%3Alibrary%2Fbusybox%3Apull");
    expect(parseChallenge('Basic realm="Registry Realm"')).toEqual({ scheme: "basic", realm: "Registry Realm" });
    expect(parseChallenge("Bearer service=x")).toBeUndefined();
    expect(parseChallenge("Negotiate abc")).toBeUndefined();
    expect(parseTokenResponse({ token: "t", expires_in: 300 })).toEqual({ token: "t", expiresIn: 300 });
    expect(parseTokenResponse({ access_token: "a" })).toEqual({ token: "a", expiresIn: 60 });
    expect(parseTokenResponse({})).toBeUndefined();
  });
  test("credentials from config.json the way docker finds them", () => {
    const auth = btoa("me:s3cret:with-colon");
    const config = { auths: { "https://index.docker.io/v1/": { auth }, "ghcr.io": { auth: btoa("u:p") }, "10.0.0.5:5000": { identitytoken: "rt", auth: btoa("x:") } }, credHelpers: { "gcr.io": "gcloud" } };
    expect(credentialsFor(config, "docker.io")).toEqual({ kind: "basic", username: "me", password: "s3cret:with-colon" });
    expect(credentialsFor(config, "ghcr.io")).toEqual({ kind: "basic", username: "u", password: "p" });
    expect(credentialsFor(config, "10.0.0.5:5000")).toEqual({ kind: "identity-token", username: "x", token: "rt" });
    expect(credentialsFor(config, "gcr.io")).toEqual({ kind: "helper", helper: "gcloud" });
    expect(credentialsFor(config, "quay.io")).toBeUndefined();
    expect(credentialsFor({ credsStore: "pass" }, "quay.io")).toEqual({ kind: "helper", helper: "pass" });
    expect(credentialsFor({ credsStore: "../../bin/sh" }, "quay.io")).toBeUndefined();
    expect(credentialsFor("garbage", "x")).toBeUndefined();
  });
});

describe("garbage collection", () => {
  const now = 100 * DAY;
  const old = now - 30 * DAY;
  const blob = (c: string, t = old, size = 10) => ({ digest: d(c), size, created: t, lastAccess: t });
  const base: GcInput = {
    now,
    graceMs: 7 * DAY,
    blobs: [blob("1"), blob("2"), blob("3"), blob("4"), blob("5"), blob("6"), blob("7"), blob("8"), blob("9", now - DAY)],
    manifests: [
      // in use: index 1 → manifest 2 → config 3, layer 4
      { repo: "docker.io/library/a", digest: d("1"), refs: [d("2")] },
      { repo: "docker.io/library/a", digest: d("2"), refs: [d("3"), d("4")] },
      // unused cached image: manifest 5 → 6, 4 (shares a layer with the used one)
      { repo: "docker.io/library/b", digest: d("5"), refs: [d("6"), d("4")] },
      // a pushed, tagged image: 7 → 8
      { repo: "team/app", digest: d("7"), refs: [d("8")] },
    ],
    tags: [
      { repo: "docker.io/library/a", tag: "1", digest: d("1") },
      { repo: "docker.io/library/b", tag: "1", digest: d("5") },
      { repo: "team/app", tag: "1", digest: d("7") },
    ],
    inUse: [d("1")],
    isCacheRepo: (r) => r.includes("."),
  };
  test("removes an unused cached image, keeps what deployments use, pushed tags and recent content", () => {
    const p = planGc(base);
    expect(p.deleteBlobs.map((b) => b.digest).sort()).toEqual([d("5"), d("6")]);
    expect(p.deleteManifests).toEqual([{ repo: "docker.io/library/b", digest: d("5") }]);
    expect(p.deleteTags.map((t) => t.repo)).toEqual(["docker.io/library/b"]);
    expect(p.kept.get(d("4"))).toBe("referenced");
    expect(p.kept.get(d("8"))).toBe("referenced");
    expect(p.kept.get(d("9"))).toBe("recent");
    expect(p.freedBytes).toBe(20);
  });
  test("a recent pull keeps a cached image; referrers of live manifests stay", () => {
    const p = planGc({ ...base, blobs: base.blobs.map((b) => (b.digest === d("5") ? { ...b, lastAccess: now - 1000 } : b)) });
    expect(p.deleteBlobs).toEqual([]);
    const sig = planGc({ ...base, blobs: [...base.blobs, blob("a")], manifests: [...base.manifests, { repo: "docker.io/library/a", digest: d("a"), refs: [], subject: d("1") }] });
    expect(sig.kept.get(d("a"))).toBe("referenced");
  });
  test("with no grace, blobs of a push in progress (no manifest yet) stay; an unused image goes", () => {
    const p = planGc({ ...base, graceMs: 0, blobs: [...base.blobs, blob("c", now - 60_000)] });
    expect(p.kept.get(d("c"))).toBe("recent");
    expect(p.deleteBlobs.map((b) => b.digest).sort()).toEqual([d("5"), d("6"), d("9")].sort());
  });

  test("never removes anything reachable from what is in use (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ m: fc.integer({ min: 0, max: 15 }), refs: fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 4 }) }), { maxLength: 12 }),
        fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: 3 }),
        (edges, used) => {
          const dd = (i: number) => ("sha256:" + i.toString(16).padStart(64, "0")) as Digest;
          const blobs = Array.from({ length: 16 }, (_, i) => ({ digest: dd(i), size: 1, created: 0, lastAccess: 0 }));
          const manifests = edges.map((e) => ({ repo: "x.io/r", digest: dd(e.m), refs: e.refs.map(dd) }));
          const p = planGc({ now, graceMs: DAY, blobs, manifests, tags: [], inUse: used.map(dd), isCacheRepo: () => true });
          const reach = new Set<string>(used.map(dd));
          let grew = true;
          while (grew) {
            grew = false;
            for (const m of manifests) if (reach.has(m.digest)) for (const r of m.refs) if (!reach.has(r)) (reach.add(r), (grew = true));
          }
          for (const b of p.deleteBlobs) expect(reach.has(b.digest)).toBe(false);
          expect(p.deleteBlobs.length + [...reach].length).toBe(16);
        },
      ),
    );
  });
});

describe("sources for missing content", () => {
  const alive = ["n1", "n2", "n3"];
  test("every node picks the same fetcher for a digest", () => {
    const f = fetcherOf(d("a"), alive);
    expect(alive).toContain(f!);
    expect(fetcherOf(d("a"), [...alive].reverse())).toBe(f);
  });
  test("holders first, then the fetcher, then upstream; nothing but holders for pushed content", () => {
    const f = fetcherOf(d("a"), alive)!;
    const self = alive.find((n) => n !== f)!;
    expect(sourcesFor({ key: d("a"), self, alive, holders: [], hasUpstream: true, ask: undefined })).toEqual([{ kind: "peer", node: f, why: "fetcher" }, { kind: "upstream" }]);
    expect(sourcesFor({ key: d("a"), self: f, alive, holders: [], hasUpstream: true, ask: undefined })).toEqual([{ kind: "upstream" }]);
    expect(sourcesFor({ key: d("a"), self, alive, holders: [], hasUpstream: true, ask: "fetcher" })).toEqual([{ kind: "upstream" }]);
    expect(sourcesFor({ key: d("a"), self, alive, holders: [alive.find((n) => n !== self)!], hasUpstream: true, ask: "holder" })).toEqual([]);
    const other = alive.find((n) => n !== f && n !== self)!;
    expect(sourcesFor({ key: d("a"), self, alive, holders: [other, "dead-node", self], hasUpstream: true, ask: undefined })[0]).toEqual({ kind: "peer", node: other, why: "holder" });
    expect(sourcesFor({ key: d("a"), self, alive, holders: [other], hasUpstream: false, ask: undefined })).toEqual([{ kind: "peer", node: other, why: "holder" }]);
    // no holder known yet for pushed content: every alive peer is asked, never the node itself
    const all = sourcesFor({ key: d("a"), self, alive, holders: [], hasUpstream: false, ask: undefined });
    expect(all.map((s) => (s.kind === "peer" ? s.node : "upstream")).sort()).toEqual(alive.filter((n) => n !== self).sort());
  });
  test("fetchers spread over nodes", () => {
    const counts = new Map<string, number>();
    for (let i = 0; i < 300; i++) {
      const f = fetcherOf(`sha256:${i.toString(16).padStart(64, "0")}`, alive)!;
      counts.set(f, (counts.get(f) ?? 0) + 1);
    }
    for (const n of alive) expect(counts.get(n) ?? 0).toBeGreaterThan(60);
  });
});
