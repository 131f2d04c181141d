import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, existsSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { Inflight } from "../../../platform/registry/index.ts";
import type { Digest } from "../../../core/registry/index.ts";
import { errorCode, imageManifest, pushBlob, pushImage, sha, startTestRegistry, type TestRegistry } from "./support.ts";

let t: TestRegistry;
beforeAll(async () => {
  t = await startTestRegistry();
});
afterAll(async () => {
  await t.stop();
});

const enc = (s: string) => new TextEncoder().encode(s);

function raw(port: number, method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, method, path }, (res) => {
      let b = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => (b += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("base and blobs", () => {
  test("/v2/ answers 200 with the API version header", async () => {
    const r = await fetch(`${t.base}/v2/`);
    expect(r.status).toBe(200);
    expect(r.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
  });

  test("monolithic upload (POST then PUT), then GET, HEAD and ranges", async () => {
    const bytes = enc("0123456789abcdefghij");
    const d = await pushBlob(t.base, "a/b", bytes);
    const get = await fetch(`${t.base}/v2/a/b/blobs/${d}`);
    expect(get.status).toBe(200);
    expect(get.headers.get("docker-content-digest")).toBe(d);
    expect(await get.text()).toBe("0123456789abcdefghij");
    const head = await fetch(`${t.base}/v2/a/b/blobs/${d}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("content-length")).toBe("20");
    const part = await fetch(`${t.base}/v2/a/b/blobs/${d}`, { headers: { range: "bytes=5-9" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("content-range")).toBe("bytes 5-9/20");
    expect(await part.text()).toBe("56789");
    const tail = await fetch(`${t.base}/v2/a/b/blobs/${d}`, { headers: { range: "bytes=-3" } });
    expect(await tail.text()).toBe("hij");
    const bad = await fetch(`${t.base}/v2/a/b/blobs/${d}`, { headers: { range: "bytes=20-" } });
    expect(bad.status).toBe(416);
    expect(bad.headers.get("content-range")).toBe("bytes */20");
  });

  test("single-POST monolithic upload", async () => {
    const bytes = enc("single post");
    const r = await fetch(`${t.base}/v2/a/b/blobs/uploads/?digest=${sha(bytes)}`, { method: "POST", body: bytes });
    expect(r.status).toBe(201);
    expect(r.headers.get("location")).toBe(`/v2/a/b/blobs/${sha(bytes)}`);
  });

  test("an unknown blob is 404 BLOB_UNKNOWN", async () => {
    const r = await fetch(`${t.base}/v2/a/b/blobs/${sha("nope")}`);
    expect(r.status).toBe(404);
    expect(await errorCode(r)).toBe("BLOB_UNKNOWN");
  });
});

describe("chunked uploads", () => {
  test("PATCH in order, 416 out of order with the range to resume from, status, final chunk in PUT", async () => {
    const data = enc("A".repeat(10) + "B".repeat(10) + "C".repeat(5));
    const start = await fetch(`${t.base}/v2/c/blobs/uploads/`, { method: "POST", headers: { "content-length": "0" } });
    expect(start.status).toBe(202);
    expect(start.headers.get("range")).toBe("0-0");
    const loc = start.headers.get("location")!;
    const p1 = await fetch(`${t.base}${loc}`, { method: "PATCH", body: data.slice(0, 10), headers: { "content-range": "0-9", "content-type": "application/octet-stream" } });
    expect(p1.status).toBe(202);
    expect(p1.headers.get("range")).toBe("0-9");
    const wrong = await fetch(`${t.base}${loc}`, { method: "PATCH", body: data.slice(0, 10), headers: { "content-range": "0-9" } });
    expect(wrong.status).toBe(416);
    expect(wrong.headers.get("range")).toBe("0-9");
    const status = await fetch(`${t.base}${loc}`);
    expect(status.status).toBe(204);
    expect(status.headers.get("range")).toBe("0-9");
    const p2 = await fetch(`${t.base}${p1.headers.get("location")}`, { method: "PATCH", body: data.slice(10, 20), headers: { "content-range": "10-19" } });
    expect(p2.status).toBe(202);
    const done = await fetch(`${t.base}${p2.headers.get("location")}?digest=${sha(data)}`, { method: "PUT", body: data.slice(20), headers: { "content-range": "20-24", "content-length": "5" } });
    expect(done.status).toBe(201);
    expect(await (await fetch(`${t.base}/v2/c/blobs/${sha(data)}`)).text()).toBe(new TextDecoder().decode(data));
    // the session is over
    expect((await fetch(`${t.base}${loc}`)).status).toBe(404);
  });

  test("PATCH without Content-Range streams at the current offset (docker's way)", async () => {
    const data = enc("streamed ".repeat(1000));
    const loc = (await fetch(`${t.base}/v2/c/blobs/uploads/`, { method: "POST" })).headers.get("location")!;
    const p = await fetch(`${t.base}${loc}`, { method: "PATCH", body: data });
    expect(p.headers.get("range")).toBe(`0-${data.byteLength - 1}`);
    expect((await fetch(`${t.base}${p.headers.get("location")}?digest=${sha(data)}`, { method: "PUT" })).status).toBe(201);
  });

  test("a wrong digest is DIGEST_INVALID and stores nothing", async () => {
    const data = enc("some bytes");
    const claimed = sha("other bytes");
    const loc = (await fetch(`${t.base}/v2/c/blobs/uploads/`, { method: "POST" })).headers.get("location")!;
    const r = await fetch(`${t.base}${loc}?digest=${claimed}`, { method: "PUT", body: data });
    expect(r.status).toBe(400);
    expect(await errorCode(r)).toBe("DIGEST_INVALID");
    expect((await fetch(`${t.base}/v2/c/blobs/${claimed}`, { method: "HEAD" })).status).toBe(404);
    expect((await fetch(`${t.base}/v2/c/blobs/${sha(data)}`, { method: "HEAD" })).status).toBe(404);
    expect(readdirSync(join(t.root, "tmp"))).toEqual([]);
  });

  test("a declared length that the body does not match is SIZE_INVALID and the session keeps its range", async () => {
    const loc = (await fetch(`${t.base}/v2/c/blobs/uploads/`, { method: "POST" })).headers.get("location")!;
    await fetch(`${t.base}${loc}`, { method: "PATCH", body: enc("12345"), headers: { "content-range": "0-4" } });
    const r = await fetch(`${t.base}${loc}`, { method: "PATCH", body: enc("67"), headers: { "content-range": "5-9" } });
    expect([400, 416]).toContain(r.status);
    expect((await fetch(`${t.base}${loc}`)).headers.get("range")).toBe("0-4");
  });

  test("cancel ends the session", async () => {
    const loc = (await fetch(`${t.base}/v2/c/blobs/uploads/`, { method: "POST" })).headers.get("location")!;
    expect((await fetch(`${t.base}${loc}`, { method: "DELETE" })).status).toBe(204);
    const r = await fetch(`${t.base}${loc}`);
    expect(r.status).toBe(404);
    expect(await errorCode(r)).toBe("BLOB_UPLOAD_UNKNOWN");
  });

  test("cross-repository mount: 201 for a stored blob, 202 (a new session) otherwise", async () => {
    const d = await pushBlob(t.base, "src/repo", enc("mount me"));
    const ok = await fetch(`${t.base}/v2/dst/repo/blobs/uploads/?mount=${d}&from=src/repo`, { method: "POST" });
    expect(ok.status).toBe(201);
    expect(ok.headers.get("location")).toBe(`/v2/dst/repo/blobs/${d}`);
    const miss = await fetch(`${t.base}/v2/dst/repo/blobs/uploads/?mount=${sha("absent")}&from=src/repo`, { method: "POST" });
    expect(miss.status).toBe(202);
    expect(miss.headers.get("location")).toMatch(/^\/v2\/dst\/repo\/blobs\/uploads\/[a-f0-9]{32}$/);
  });
});

describe("manifests", () => {
  test("PUT by tag, GET by tag and digest byte for byte, HEAD, the right media type", async () => {
    const img = await pushImage(t.base, "m/app", "v1", "one");
    expect(img.manifest).toBe(sha(img.bytes));
    for (const ref of ["v1", img.manifest]) {
      const r = await fetch(`${t.base}/v2/m/app/manifests/${ref}`, { headers: { accept: "application/vnd.oci.image.manifest.v1+json" } });
      expect(r.status).toBe(200);
      expect(r.headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
      expect(r.headers.get("docker-content-digest")).toBe(img.manifest);
      expect(await r.text()).toBe(img.bytes);
    }
    const head = await fetch(`${t.base}/v2/m/app/manifests/v1`, { method: "HEAD" });
    expect(head.headers.get("content-length")).toBe(String(img.bytes.length));
  });

  test("bytes are kept exactly (whitespace and key order are part of the digest)", async () => {
    const c = await pushBlob(t.base, "m/raw", enc("{}"));
    const odd = `{\n  "schemaVersion":2,   "config": {"size": 2, "digest": "${c}", "mediaType": "application/vnd.oci.image.config.v1+json"},\n"layers":[] ,"mediaType":"application/vnd.oci.image.manifest.v1+json"}\n\n`;
    const r = await fetch(`${t.base}/v2/m/raw/manifests/${sha(odd)}`, { method: "PUT", body: odd, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
    expect(r.status).toBe(201);
    expect(await (await fetch(`${t.base}/v2/m/raw/manifests/${sha(odd)}`)).text()).toBe(odd);
  });

  test("a multi-arch index needs its manifests and is served as an index", async () => {
    const a = await pushImage(t.base, "m/multi", "amd64", "amd64");
    const b = await pushImage(t.base, "m/multi", "arm64", "arm64");
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: a.manifest, size: a.bytes.length, platform: { architecture: "amd64", os: "linux" } },
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: b.manifest, size: b.bytes.length, platform: { architecture: "arm64", os: "linux" } },
      ],
    });
    const missing = index.replace(a.manifest, sha("absent manifest"));
    const bad = await fetch(`${t.base}/v2/m/multi/manifests/latest`, { method: "PUT", body: missing, headers: { "content-type": "application/vnd.oci.image.index.v1+json" } });
    expect(bad.status).toBe(400);
    expect(await errorCode(bad)).toBe("MANIFEST_BLOB_UNKNOWN");
    const ok = await fetch(`${t.base}/v2/m/multi/manifests/latest`, { method: "PUT", body: index, headers: { "content-type": "application/vnd.oci.image.index.v1+json" } });
    expect(ok.status).toBe(201);
    const g = await fetch(`${t.base}/v2/m/multi/manifests/latest`);
    expect(g.headers.get("content-type")).toBe("application/vnd.oci.image.index.v1+json");
  });

  test("bad manifests are refused with the spec's codes and nothing is stored", async () => {
    const c = await pushBlob(t.base, "m/bad", enc("cfg"));
    const cases: [string, Record<string, string>, number, string][] = [
      ["{not json", { "content-type": "application/vnd.oci.image.manifest.v1+json" }, 400, "MANIFEST_INVALID"],
      [imageManifest(c, 3, [{ digest: sha("missing layer"), size: 4 }]), { "content-type": "application/vnd.oci.image.manifest.v1+json" }, 400, "MANIFEST_BLOB_UNKNOWN"],
      [imageManifest(c, 3, []), { "content-type": "application/vnd.docker.distribution.manifest.v2+json" }, 400, "MANIFEST_INVALID"],
      [JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: { mediaType: "x", digest: "sha256:../../../etc/passwd", size: 1 }, layers: [] }), {}, 400, "MANIFEST_INVALID"],
    ];
    for (const [body, headers, status, code] of cases) {
      const r = await fetch(`${t.base}/v2/m/bad/manifests/t`, { method: "PUT", body, headers });
      expect(r.status).toBe(status);
      expect(await errorCode(r)).toBe(code);
    }
    const big = " ".repeat(4 * 1024 * 1024 + 1);
    const r = await fetch(`${t.base}/v2/m/bad/manifests/t`, { method: "PUT", body: big, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
    expect(r.status).toBe(413);
    expect((await fetch(`${t.base}/v2/m/bad/manifests/t`)).status).toBe(404);
    expect((await fetch(`${t.base}/v2/m/bad/tags/list`)).status).toBe(404);
  });

  test("PUT by digest must match the bytes", async () => {
    const img = await pushImage(t.base, "m/dig", "x", "dig");
    const r = await fetch(`${t.base}/v2/m/dig/manifests/${sha("other")}`, { method: "PUT", body: img.bytes, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
    expect(r.status).toBe(400);
    expect(await errorCode(r)).toBe("DIGEST_INVALID");
  });

  test("tags list with n, last and Link; NAME_UNKNOWN for an unknown repository", async () => {
    for (const tag of ["c", "a", "b"]) await pushImage(t.base, "m/tags", tag, "tags");
    const all = await (await fetch(`${t.base}/v2/m/tags/tags/list`)).json();
    expect(all).toEqual({ name: "m/tags", tags: ["a", "b", "c"] });
    const p1 = await fetch(`${t.base}/v2/m/tags/tags/list?n=2`);
    expect(((await p1.json()) as { tags: string[] }).tags).toEqual(["a", "b"]);
    expect(p1.headers.get("link")).toBe('</v2/m/tags/tags/list?n=2&last=b>; rel="next"');
    expect(((await (await fetch(`${t.base}/v2/m/tags/tags/list?n=2&last=b`)).json()) as { tags: string[] }).tags).toEqual(["c"]);
    const unknown = await fetch(`${t.base}/v2/no/such/tags/list`);
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe("NAME_UNKNOWN");
  });

  test("referrers: OCI-Subject on push, listed and filtered by artifactType", async () => {
    const img = await pushImage(t.base, "m/ref", "v1", "subject");
    const subject = { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: img.manifest, size: img.bytes.length };
    const empty = await pushBlob(t.base, "m/ref", enc("{}"));
    const sig = JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", artifactType: "application/vnd.example.sig", config: { mediaType: "application/vnd.oci.empty.v1+json", digest: empty, size: 2 }, layers: [], subject, annotations: { who: "me" } });
    const r = await fetch(`${t.base}/v2/m/ref/manifests/${sha(sig)}`, { method: "PUT", body: sig, headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } });
    expect(r.status).toBe(201);
    expect(r.headers.get("oci-subject")).toBe(img.manifest);
    const list = await fetch(`${t.base}/v2/m/ref/referrers/${img.manifest}`);
    expect(list.headers.get("content-type")).toBe("application/vnd.oci.image.index.v1+json");
    expect(((await list.json()) as { manifests: unknown[] }).manifests).toEqual([{ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: sha(sig), size: sig.length, artifactType: "application/vnd.example.sig", annotations: { who: "me" } }]);
    const filtered = await fetch(`${t.base}/v2/m/ref/referrers/${img.manifest}?artifactType=application/vnd.example.sbom`);
    expect(filtered.headers.get("oci-filters-applied")).toBe("artifactType");
    expect(((await filtered.json()) as { manifests: unknown[] }).manifests).toEqual([]);
    expect(((await (await fetch(`${t.base}/v2/m/ref/referrers/${sha("nothing")}`)).json()) as { manifests: unknown[] }).manifests).toEqual([]);
  });

  test("delete tag, delete manifest, then the blobs (refused while referenced)", async () => {
    const img = await pushImage(t.base, "m/del", "v1", "delete");
    const busy = await fetch(`${t.base}/v2/m/del/blobs/${img.layer}`, { method: "DELETE" });
    expect(busy.status).toBe(403);
    expect(await errorCode(busy)).toBe("DENIED");
    expect((await fetch(`${t.base}/v2/m/del/manifests/v1`, { method: "DELETE" })).status).toBe(202);
    expect((await fetch(`${t.base}/v2/m/del/manifests/v1`)).status).toBe(404);
    expect((await fetch(`${t.base}/v2/m/del/manifests/${img.manifest}`)).status).toBe(200);
    expect((await fetch(`${t.base}/v2/m/del/manifests/${img.manifest}`, { method: "DELETE" })).status).toBe(202);
    expect((await fetch(`${t.base}/v2/m/del/manifests/${img.manifest}`)).status).toBe(404);
    expect((await fetch(`${t.base}/v2/m/del/blobs/${img.layer}`, { method: "DELETE" })).status).toBe(202);
    expect((await fetch(`${t.base}/v2/m/del/blobs/${img.layer}`)).status).toBe(404);
  });
});

describe("hostile input", () => {
  test("path traversal in names, digests, tags and sessions: spec errors, nothing outside the store", async () => {
    const attempts: [string, string, string][] = [
      ["GET", "/v2/../../etc/passwd/manifests/latest", "NAME_INVALID"],
      ["GET", "/v2/a/%2e%2e/%2e%2e/manifests/latest", "NAME_INVALID"],
      ["GET", "/v2/a/blobs/sha256:..%2F..%2F..%2Fetc%2Fpasswd", "DIGEST_INVALID"],
      ["GET", `/v2/a/blobs/sha256:${"../".repeat(21)}a`, "UNSUPPORTED"], // no endpoint at all: 404
      ["PUT", "/v2/a/manifests/..%2F..%2Fevil", "TAG_INVALID"],
      ["PATCH", "/v2/a/blobs/uploads/..%2F..%2Fevil", "BLOB_UPLOAD_UNKNOWN"],
      ["PUT", `/v2/a/blobs/uploads/${"0".repeat(32)}?digest=sha256:../../x`, "DIGEST_INVALID"],
      ["POST", "/v2/a/blobs/uploads/?mount=sha256:..%2f..&from=b", "DIGEST_INVALID"],
    ];
    for (const [method, path, code] of attempts) {
      // node:http sends the path as written (fetch would normalise the dots away).
      const r = await raw(t.listener.port, method, path, method === "PUT" || method === "PATCH" ? "x" : undefined);
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
      expect(`${path} ${JSON.parse(r.body).errors[0].code}`).toBe(`${path} ${code}`);
    }
    expect(existsSync(join(t.root, "..", "evil"))).toBe(false);
  });

  test("a huge n on the catalog is PAGINATION_NUMBER_INVALID, not an allocation", async () => {
    const r = await fetch(`${t.base}/v2/_catalog?n=2147483647`);
    expect(r.status).toBe(400);
    expect(await errorCode(r)).toBe("PAGINATION_NUMBER_INVALID");
    const ok = await fetch(`${t.base}/v2/_catalog?n=2`);
    expect(ok.headers.get("link")).toMatch(/rel="next"/);
  });

  test("writes into a mirror namespace are DENIED", async () => {
    const r = await fetch(`${t.base}/v2/docker.io/library/busybox/blobs/uploads/`, { method: "POST" });
    expect(r.status).toBe(403);
    expect(await errorCode(r)).toBe("DENIED");
  });

  test("unsupported methods are 405 with Allow", async () => {
    const r = await fetch(`${t.base}/v2/_catalog`, { method: "DELETE" });
    expect(r.status).toBe(405);
    expect(r.headers.get("allow")).toBe("GET");
  });
});

describe("a listener that requires authentication (a node's cluster address)", () => {
  test("without credentials every endpoint is 401 UNAUTHORIZED with a Basic challenge, and nothing is stored", async () => {
    const good = `Basic ${Buffer.from("fizz:right").toString("base64")}`;
    const locked = await startTestRegistry({ http: { authorize: (req) => req.headers.authorization === good } });
    try {
      const data = enc("a layer nobody may push");
      const attempts: [string, string, RequestInit][] = [
        ["GET", "/v2/", {}],
        ["GET", "/v2/_catalog", {}],
        ["POST", `/v2/team/app/blobs/uploads/?digest=${sha(data)}`, { body: data }],
        ["PUT", "/v2/team/app/manifests/1", { body: imageManifest(sha("c"), 1, []), headers: { "content-type": "application/vnd.oci.image.manifest.v1+json" } }],
        ["DELETE", "/v2/team/app/manifests/1", {}],
      ];
      for (const [method, path, init] of attempts) {
        for (const auth of [undefined, `Basic ${Buffer.from("fizz:wrong").toString("base64")}`]) {
          const headers = { ...(init.headers as Record<string, string> | undefined), ...(auth ? { authorization: auth } : {}) };
          const r = await fetch(`${locked.base}${path}`, { ...init, method, headers });
          expect(`${method} ${path} ${r.status} ${await errorCode(r)}`).toBe(`${method} ${path} 401 UNAUTHORIZED`);
          expect(r.headers.get("www-authenticate")).toBe('Basic realm="fizz"');
        }
      }
      expect(locked.registry.store.list()).toEqual([]);
      const catalog = await fetch(`${locked.base}/v2/_catalog`, { headers: { authorization: good } });
      expect(catalog.status).toBe(200);
      expect(await catalog.json()).toEqual({ repositories: [] });
    } finally {
      await locked.stop();
    }
  });
});

describe("a blob whose fetch fails", () => {
  test("before its first byte: a registry error (503 UNAVAILABLE), not a 200 cut short", async () => {
    const broken = await startTestRegistry({
      setup: (r) => {
        r.remote = {
          resolveTag: async () => undefined,
          fetchManifest: async () => false,
          fetchBlob: async (_repo, digest: Digest) => {
            const inf = new Inflight(r.store, digest);
            // The source announced 1000 bytes, then broke before sending any.
            const body = (async function* (): AsyncGenerator<Uint8Array> {
              await new Promise((res) => setTimeout(res, 20));
              throw new Error("the upstream went away");
            })();
            void inf.fill(body, 1000).catch(() => {});
            return inf;
          },
        };
      },
    });
    try {
      const r = await raw(broken.listener.port, "GET", `/v2/team/app/blobs/${sha("never arrives")}`);
      expect(r.status).toBe(503);
      const e = JSON.parse(r.body).errors[0];
      expect(e.code).toBe("UNAVAILABLE");
      expect(e.message).toContain("the upstream went away");
    } finally {
      await broken.stop();
    }
  });
});
