import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import { UpstreamClient } from "../../../platform/registry/index.ts";
import type { Digest } from "../../../core/registry/index.ts";

// An upstream's answers over plain HTTP, counting the TCP connections the client opens.
const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: {}, layers: [] }));
const blob = Buffer.alloc(300_000, 7);
const digestOf = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}` as Digest;

describe("the upstream client keeps its connections", () => {
  let server: Server;
  let connections = 0;
  let target: { endpoint: string; remote: string; host: string };
  beforeAll(async () => {
    server = createServer((req, res) => {
      const url = req.url ?? "";
      if (url.endsWith("/manifests/missing")) {
        const body = JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] });
        res.writeHead(404, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      } else if (url.includes("/manifests/")) {
        res.writeHead(200, { "content-type": "application/vnd.oci.image.manifest.v1+json", "content-length": manifest.length, "docker-content-digest": digestOf(manifest) });
        res.end(req.method === "HEAD" ? undefined : manifest);
      } else if (url.includes("/blobs/")) {
        res.writeHead(200, { "content-length": blob.length });
        res.end(blob);
      } else if (url.includes("/tags/list")) {
        const body = JSON.stringify({ name: "a/b", tags: ["1", "2"] });
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
        res.end(body);
      } else {
        res.writeHead(404, { "content-length": 0 });
        res.end();
      }
    });
    server.on("connection", () => connections++);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const a = server.address();
    const endpoint = `127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
    target = { endpoint, remote: "a/b", host: endpoint };
  });
  afterAll(() => server?.close());

  test("a tag's HEAD and GET, a tag list, a missing manifest and blobs go over one connection, one after the other", async () => {
    const up = new UpstreamClient({ insecure: [target.endpoint] });
    try {
      expect((await up.manifest(target, "1", "HEAD"))?.digest).toBe(digestOf(manifest));
      const got = await up.manifest(target, "1", "GET");
      expect(got?.bytes?.equals(manifest)).toBe(true);
      expect(await up.tags(target)).toEqual(["1", "2"]);
      for (let i = 0; i < 2; i++) {
        const b = await up.blob(target, digestOf(blob));
        const parts: Uint8Array[] = [];
        for await (const c of b!.body) parts.push(c);
        expect(Buffer.concat(parts).equals(blob)).toBe(true);
      }
      expect(await up.manifest(target, "missing", "GET")).toBeUndefined();
      expect((await up.manifest(target, "1", "HEAD"))?.size).toBe(manifest.length);
      // undici's Agent under Bun opened one connection per request (6 for the 8 requests).
      expect(connections).toBe(1);
    } finally {
      await up.close();
    }
  });
});
