import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RemoteSources, UpstreamClient, type UpstreamOptions } from "../../../platform/registry/index.ts";
import { dockerCredentials } from "../../../platform/registry/credentials.ts";
import { dockerRegistryBinary, removeDockerRegistry, startDockerRegistry, type DockerRegistry } from "../../support/docker-registry.ts";
import { generateImage, pushGenerated, pushIndex, type GeneratedImage } from "../../support/oci-image.ts";
import { errorCode, startTestRegistry, type TestRegistry } from "./support.ts";

const bin = dockerRegistryBinary();

describe.skipIf(!bin)("pull-through cache against docker-registry", () => {
  let up: DockerRegistry;
  let fizz: TestRegistry;
  let img: GeneratedImage;
  let ns: string;
  const events: string[] = [];

  beforeAll(async () => {
    up = await startDockerRegistry({ bin: bin! });
    img = await generateImage({ layerSizes: [300_000, 200_000], seed: "pull-through" });
    await pushGenerated(up.url, "test/app", "1", img);
    const client = new UpstreamClient({ insecure: [up.address] });
    fizz = await startTestRegistry({
      setup: (r) => {
        r.remote = new RemoteSources(r, client, undefined, { staleTag: (repo, tag) => events.push(`stale ${repo}:${tag}`) });
      },
    });
    ns = up.address.replace(":", "_");
  });
  afterAll(async () => {
    await fizz?.stop();
    await up?.stop();
    if (up) removeDockerRegistry(up);
  });

  test("a tag pulled through the mirror namespace: the upstream's manifest, byte for byte", async () => {
    const r = await fetch(`${fizz.base}/v2/${ns}/test/app/manifests/1`);
    expect(r.status).toBe(200);
    expect(r.headers.get("docker-content-digest")).toBe(img.manifest.digest);
    expect(r.headers.get("content-type")).toBe(img.manifest.mediaType);
    expect(Buffer.from(await r.arrayBuffer()).equals(img.manifest.bytes)).toBe(true);
  });

  test("concurrent pulls of a new blob reach the upstream once, and every reader gets the right bytes", async () => {
    const layer = img.layers[0]!;
    const reads = await Promise.all(Array.from({ length: 6 }, () => fetch(`${fizz.base}/v2/${ns}/test/app/blobs/${layer.digest}`).then(async (r) => Buffer.from(await r.arrayBuffer()))));
    for (const b of reads) expect(b.equals(layer.bytes)).toBe(true);
    // The readers can hold every byte before docker-registry logs the GET that sent them.
    await up.logged();
    expect(up.blobGets().get(layer.digest)).toBe(1);
    // and once stored, never again
    const again = await fetch(`${fizz.base}/v2/${ns}/test/app/blobs/${layer.digest}`, { headers: { range: "bytes=10-19" } });
    expect(again.status).toBe(206);
    expect(Buffer.from(await again.arrayBuffer()).equals(layer.bytes.subarray(10, 20))).toBe(true);
    await up.logged();
    expect(up.blobGets().get(layer.digest)).toBe(1);
  });

  test("a range of a blob not yet cached is served from the fetch in flight", async () => {
    const layer = img.layers[1]!;
    const r = await fetch(`${fizz.base}/v2/${ns}/test/app/blobs/${layer.digest}`, { headers: { range: "bytes=100000-100009" } });
    expect(r.status).toBe(206);
    expect(Buffer.from(await r.arrayBuffer()).equals(layer.bytes.subarray(100000, 100010))).toBe(true);
  });

  test("a multi-arch index and its manifests come through", async () => {
    const arm = await generateImage({ layerSizes: [1000], seed: "arm", architecture: "arm64", random: false });
    await pushGenerated(up.url, "test/multi", "arm64", arm);
    await pushGenerated(up.url, "test/multi", "amd64", img);
    const idx = await pushIndex(up.url, "test/multi", "latest", [
      { img, architecture: "amd64" },
      { img: arm, architecture: "arm64" },
    ]);
    const r = await fetch(`${fizz.base}/v2/${ns}/test/multi/manifests/latest`);
    expect(r.headers.get("content-type")).toBe("application/vnd.oci.image.index.v1+json");
    expect(r.headers.get("docker-content-digest")).toBe(idx);
    const child = await fetch(`${fizz.base}/v2/${ns}/test/multi/manifests/${arm.manifest.digest}`);
    expect(child.status).toBe(200);
  });

  test("unknown upstream content is 404 with the spec's codes", async () => {
    const m = await fetch(`${fizz.base}/v2/${ns}/test/app/manifests/nope`);
    expect(m.status).toBe(404);
    expect(await errorCode(m)).toBe("MANIFEST_UNKNOWN");
    const b = await fetch(`${fizz.base}/v2/${ns}/test/app/blobs/sha256:${"0".repeat(64)}`);
    expect(b.status).toBe(404);
  });

  test("upstream down: cached tags and blobs are still served; what was never cached is 503", async () => {
    await up.stop();
    try {
      const r = await fetch(`${fizz.base}/v2/${ns}/test/app/manifests/1`);
      expect(r.status).toBe(200);
      expect(r.headers.get("docker-content-digest")).toBe(img.manifest.digest);
      expect(events).toContain(`stale ${ns}/test/app:1`);
      const b = await fetch(`${fizz.base}/v2/${ns}/test/app/blobs/${img.layers[0]!.digest}`);
      expect(b.status).toBe(200);
      const never = await fetch(`${fizz.base}/v2/${ns}/test/other/manifests/1`);
      expect(never.status).toBe(503);
      expect(await errorCode(never)).toBe("UNAVAILABLE");
    } finally {
      await up.start();
    }
  });

  test("upstream TLS is verified: a self-signed upstream is refused unless its CA is trusted", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fizz-tls-"));
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", cert], { stdio: "ignore" });
    const tlsUp = await startDockerRegistry({ bin: bin!, tls: { cert, key } });
    const tlsNs = tlsUp.address.replace(":", "_");
    const strict = await startTestRegistry({ setup: (r) => (r.remote = new RemoteSources(r, new UpstreamClient({ insecure: [] }), undefined)) });
    const trusting = await startTestRegistry({ setup: (r) => (r.remote = new RemoteSources(r, new UpstreamClient({ insecure: [], ca: readFileSync(cert, "utf8") }), undefined)) });
    try {
      const small = await generateImage({ layerSizes: [100], seed: "tls", random: false });
      await pushGenerated(tlsUp.url, "x", "1", small, { tls: { ca: readFileSync(cert, "utf8") } } as RequestInit);
      const refused = await fetch(`${strict.base}/v2/${tlsNs}/x/manifests/1`);
      expect(refused.status).toBe(503);
      const body = (await refused.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]!.message).toMatch(/certificate|self.signed|SELF_SIGNED|verify/i);
      const ok = await fetch(`${trusting.base}/v2/${tlsNs}/x/manifests/1`);
      expect(ok.status).toBe(200);
      expect(ok.headers.get("docker-content-digest")).toBe(small.manifest.digest);
    } finally {
      await strict.stop();
      await trusting.stop();
      await tlsUp.stop();
      removeDockerRegistry(tlsUp);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a private upstream: credentials from the user's docker config.json, DENIED without them", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fizz-private-"));
    const htpasswd = join(dir, "htpasswd");
    writeFileSync(htpasswd, `puller:${await Bun.password.hash("s3cret", { algorithm: "bcrypt", cost: 4 })}\n`);
    const priv = await startDockerRegistry({ bin: bin!, htpasswd });
    const configJson = join(dir, "config.json");
    const nodes: TestRegistry[] = [];
    try {
      const auth = { authorization: `Basic ${Buffer.from("puller:s3cret").toString("base64")}` };
      await pushGenerated(priv.url, "team/secret", "1", img, { headers: auth });
      const pns = priv.address.replace(":", "_");
      const through = async (credentials: UpstreamOptions["credentials"]) => {
        const node = await startTestRegistry({ setup: (r) => (r.remote = new RemoteSources(r, new UpstreamClient({ insecure: [priv.address], credentials }), undefined)) });
        nodes.push(node);
        return node;
      };
      const refusal = async (r: Response) => ({ status: r.status, ...((await r.json()) as { errors: { code: string; message: string }[] }).errors[0]! });
      // No entry for the host in config.json: UNAUTHORIZED, saying how to log in.
      writeFileSync(configJson, JSON.stringify({ auths: { "other.example:5000": { auth: Buffer.from("x:y").toString("base64") } } }));
      const anon = await through((host) => dockerCredentials(configJson, host));
      const none = await refusal(await fetch(`${anon.base}/v2/${pns}/team/secret/manifests/1`));
      expect([none.status, none.code]).toEqual([401, "UNAUTHORIZED"]);
      expect(none.message).toContain(`docker login ${priv.address}`);
      // A wrong password: DENIED, pointing at the credentials.
      writeFileSync(configJson, JSON.stringify({ auths: { [priv.address]: { auth: Buffer.from("puller:wrong").toString("base64") } } }));
      const wrong = await refusal(await fetch(`${anon.base}/v2/${pns}/team/secret/manifests/1`));
      expect([wrong.status, wrong.code]).toEqual([403, "DENIED"]);
      expect(wrong.message).toContain("config.json");
      expect(anon.registry.store.list()).toEqual([]);
      // docker login's entry for the host (read at the time of the pull): served, byte for byte.
      writeFileSync(configJson, JSON.stringify({ auths: { [priv.address]: { auth: Buffer.from("puller:s3cret").toString("base64") } } }));
      const m = await fetch(`${anon.base}/v2/${pns}/team/secret/manifests/1`);
      expect(m.status).toBe(200);
      expect(m.headers.get("docker-content-digest")).toBe(img.manifest.digest);
      const layer = img.layers[1]!;
      const b = await fetch(`${anon.base}/v2/${pns}/team/secret/blobs/${layer.digest}`);
      expect(Buffer.from(await b.arrayBuffer()).equals(layer.bytes)).toBe(true);
    } finally {
      for (const n of nodes) await n.stop();
      await priv.stop();
      removeDockerRegistry(priv);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("an upstream not listed as insecure is spoken to over verified TLS only", async () => {
    const strict = await startTestRegistry({ setup: (r) => (r.remote = new RemoteSources(r, new UpstreamClient({ insecure: [] }), undefined)) });
    const manifestRequests = () => up.access().filter((e) => e.path.includes("/v2/test/app/manifests/1")).length;
    try {
      await up.logged();
      const before = manifestRequests();
      const r = await fetch(`${strict.base}/v2/${ns}/test/app/manifests/1`);
      expect(r.status).toBe(503);
      const body = (await r.json()) as { errors: { code: string; message: string }[] };
      expect(body.errors[0]!.code).toBe("UNAVAILABLE");
      // The plain-HTTP upstream never saw a request from it: the TLS handshake failed first.
      await up.logged();
      expect(manifestRequests()).toBe(before);
    } finally {
      await strict.stop();
    }
  });
});
