// Stored blobs by sendfile (Bun): a blob GET from a loopback client is
// redirected to the side listener, which answers with the blob's bytes, its
// length, ranges and the spec's errors; HEADs, peers and blobs still being
// fetched are served by the main listener.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BlobFiles, listenRegistry, Registry, registryHandler, type RegistryListener } from "../../../platform/registry/index.ts";
import { errorCode, pushBlob, sha } from "./support.ts";

describe("stored blobs by sendfile", () => {
  const root = mkdtempSync(join(tmpdir(), "fizz-blobfiles-"));
  const registry = new Registry({ root });
  const files = BlobFiles.start(registry.store);
  let main: RegistryListener;
  let peer: RegistryListener;
  let base: string;
  const bytes = randomBytes(300_000);
  let digest: string;

  beforeAll(async () => {
    expect(files).toBeDefined();
    main = await listenRegistry(registryHandler(registry, { blobFiles: files! }), { host: "127.0.0.1", port: 0 });
    peer = await listenRegistry(registryHandler(registry, { blobFiles: files!, peer: true }), { host: "127.0.0.1", port: 0 });
    base = `http://127.0.0.1:${main.port}`;
    digest = await pushBlob(base, "team/app", bytes);
  });

  afterAll(async () => {
    await main.close();
    await peer.close();
    files?.close();
    registry.close();
    rmSync(root, { recursive: true, force: true });
  });

  test("a GET from loopback is redirected; the client gets every byte, with its length and digest", async () => {
    const r = await fetch(`${base}/v2/team/app/blobs/${digest}`, { redirect: "manual" });
    expect(r.status).toBe(307);
    const loc = r.headers.get("location")!;
    expect(loc).toStartWith("http://127.0.0.1:");
    expect(loc).toEndWith(`/blobs/${digest}`);
    expect(r.headers.get("docker-content-digest")).toBe(digest);
    const got = await fetch(loc);
    expect(got.status).toBe(200);
    expect(got.headers.get("content-length")).toBe(String(bytes.length));
    expect(got.headers.get("docker-content-digest")).toBe(digest);
    const body = Buffer.from(await got.arrayBuffer());
    expect(sha(body)).toBe(digest);
  });

  test("a range follows the redirect: 206 with Content-Range; beyond the end is 416", async () => {
    const r = await fetch(`${base}/v2/team/app/blobs/${digest}`, { headers: { range: "bytes=1000-1999" } });
    expect(r.status).toBe(206);
    expect(r.headers.get("content-range")).toBe(`bytes 1000-1999/${bytes.length}`);
    expect(Buffer.from(await r.arrayBuffer()).equals(bytes.subarray(1000, 2000))).toBe(true);
    const loc = (await fetch(`${base}/v2/team/app/blobs/${digest}`, { redirect: "manual" })).headers.get("location")!;
    const bad = await fetch(loc, { headers: { range: `bytes=${bytes.length + 5}-` } });
    expect(bad.status).toBe(416);
    expect(await errorCode(bad)).toBe("BLOB_UNKNOWN");
  });

  test("HEAD is answered by the main listener, with the length", async () => {
    const r = await fetch(`${base}/v2/team/app/blobs/${digest}`, { method: "HEAD", redirect: "manual" });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-length")).toBe(String(bytes.length));
  });

  test("the peer listener never redirects", async () => {
    const r = await fetch(`http://127.0.0.1:${peer.port}/v2/team/app/blobs/${digest}`, { redirect: "manual" });
    expect(r.status).toBe(200);
    expect(sha(Buffer.from(await r.arrayBuffer()))).toBe(digest);
  });

  test("the side listener serves only stored blobs under its token: unknown digest 404 BLOB_UNKNOWN, other paths 404, writes 405", async () => {
    const loc = (await fetch(`${base}/v2/team/app/blobs/${digest}`, { redirect: "manual" })).headers.get("location")!;
    const missing = await fetch(loc.replace(digest, sha("not stored")));
    expect(missing.status).toBe(404);
    expect(await errorCode(missing)).toBe("BLOB_UNKNOWN");
    const { origin } = new URL(loc);
    for (const p of [`/blobs/${digest}`, `/x/blobs/${digest}`, "/", `${new URL(loc).pathname}/../../etc/passwd`]) {
      const r = await fetch(`${origin}${p}`);
      expect(r.status).toBe(404);
      expect(await errorCode(r)).toBe("UNSUPPORTED");
    }
    const put = await fetch(loc, { method: "PUT", body: "x" });
    expect(put.status).toBe(405);
    expect(await errorCode(put)).toBe("UNSUPPORTED");
  });
});
