import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  MAX_MANIFEST_BYTES,
  MT,
  parseManifest,
  referencedDigests,
  referrerDescriptor,
  referrersIndex,
  RegistryError,
  requiredBlobs,
  type Digest,
} from "../../../core/registry/index.ts";

const d = (c: string) => ("sha256:" + c.repeat(64)) as Digest;
const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

function image(extra: Record<string, unknown> = {}) {
  return {
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: d("a"), size: 10 },
    layers: [{ mediaType: MT.ociLayerTarGzip, digest: d("b"), size: 20 }],
    ...extra,
  };
}

function failure(f: () => unknown): { spec: string; status: number; message: string } {
  try {
    f();
  } catch (e) {
    if (e instanceof RegistryError) return { spec: e.spec, status: e.status, message: e.message };
    throw e;
  }
  throw new Error("expected a RegistryError");
}

describe("manifest validation", () => {
  test("an OCI image manifest: blobs it needs and digests it keeps alive", () => {
    const m = parseManifest(enc(image()), MT.ociManifest);
    expect(m.kind).toBe("image");
    expect(requiredBlobs(m).map((x) => x.digest)).toEqual([d("a"), d("b")]);
    expect(referencedDigests(m)).toEqual([d("a"), d("b")]);
  });
  test("Docker schema 2 and a manifest list (multi-arch)", () => {
    const dm = parseManifest(enc({ ...image(), mediaType: MT.dockerManifest }), MT.dockerManifest);
    expect(dm.mediaType).toBe(MT.dockerManifest);
    const list = parseManifest(
      enc({
        schemaVersion: 2,
        mediaType: MT.dockerList,
        manifests: [
          { mediaType: MT.dockerManifest, digest: d("c"), size: 5, platform: { architecture: "amd64", os: "linux" } },
          { mediaType: MT.dockerManifest, digest: d("e"), size: 5, platform: { architecture: "arm64", os: "linux", variant: "v8" } },
        ],
      }),
      MT.dockerList,
    );
    expect(list.kind).toBe("index");
    expect(requiredBlobs(list)).toEqual([]);
    expect(referencedDigests(list)).toEqual([d("c"), d("e")]);
  });
  test("type from the Content-Type when the document has no mediaType, from the shape when neither says", () => {
    const { mediaType: _, ...bare } = image();
    expect(parseManifest(enc(bare), MT.ociManifest).mediaType).toBe(MT.ociManifest);
    expect(parseManifest(enc(bare), "application/json").mediaType).toBe(MT.ociManifest);
    expect(parseManifest(enc({ schemaVersion: 2, manifests: [] }), undefined).kind).toBe("index");
  });
  test("foreign layers need not be stored", () => {
    const m = parseManifest(enc(image({ layers: [{ mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", digest: d("f"), size: 1, urls: ["https://x/y"] }] })));
    expect(requiredBlobs(m).map((x) => x.digest)).toEqual([d("a")]);
  });
  test("malformed manifests are MANIFEST_INVALID with a reason", () => {
    const cases: [unknown, string | undefined, RegExp][] = [
      ["not json{", undefined, /not valid UTF-8 JSON/],
      [[], undefined, /JSON object/],
      [{ ...image(), schemaVersion: 3 }, undefined, /schemaVersion must be 2/],
      [{ ...image(), schemaVersion: 1 }, undefined, /schema 1/],
      [image(), MT.dockerManifest, /does not match its Content-Type/],
      [{ ...image(), mediaType: "text/plain" }, undefined, /unsupported manifest media type/],
      [image({ config: { mediaType: MT.ociConfig, digest: "sha256:../../etc/passwd", size: 1 } }), undefined, /config.digest is not a valid digest/],
      [image({ layers: [{ mediaType: MT.ociLayerTarGzip, digest: d("b"), size: -1 }] }), undefined, /layers\[0\].size/],
      [image({ layers: [{ mediaType: MT.ociLayerTarGzip, digest: d("b"), size: 1.5 }] }), undefined, /layers\[0\].size/],
      [image({ annotations: { a: 1 } }), undefined, /annotations.a must be a string/],
      [{ schemaVersion: 2, mediaType: MT.ociIndex, manifests: [], layers: [] }, undefined, /an index has manifests/],
      [{ schemaVersion: 2 }, undefined, /cannot tell the manifest's type/],
    ];
    for (const [doc, ct, re] of cases) {
      const bytes = typeof doc === "string" ? new TextEncoder().encode(doc) : enc(doc);
      const f = failure(() => parseManifest(bytes, ct));
      expect(f.spec).toBe("MANIFEST_INVALID");
      expect(f.message).toMatch(re);
    }
  });
  test("an oversized manifest is refused with 413 before it is parsed", () => {
    const f = failure(() => parseManifest(new Uint8Array(MAX_MANIFEST_BYTES + 1)));
    expect(f.status).toBe(413);
    expect(f.message).toBe(`the manifest is ${MAX_MANIFEST_BYTES + 1} bytes, over the manifest size limit (4 MiB)`);
  });
  test("arbitrary bytes never crash the parser (property)", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.json().map((s) => new TextEncoder().encode(s))), (bytes) => {
        try {
          parseManifest(bytes, MT.ociManifest);
        } catch (e) {
          expect(e).toBeInstanceOf(RegistryError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe("referrers", () => {
  test("artifactType from the manifest, else its config's media type; filter sets OCI-Filters-Applied", () => {
    const sig = parseManifest(enc(image({ artifactType: "application/vnd.example.sig", subject: { mediaType: MT.ociManifest, digest: d("1"), size: 1 }, annotations: { k: "v" } })));
    const sbom = parseManifest(enc(image({ config: { mediaType: "application/vnd.example.sbom", digest: d("a"), size: 1 } })));
    const a = referrerDescriptor(sig, d("2"), 100);
    const b = referrerDescriptor(sbom, d("3"), 50);
    expect(a.artifactType).toBe("application/vnd.example.sig");
    expect(a.annotations).toEqual({ k: "v" });
    expect(b.artifactType).toBe("application/vnd.example.sbom");
    const all = JSON.parse(referrersIndex([b, a]).body);
    expect(all.mediaType).toBe(MT.ociIndex);
    expect(all.manifests.map((x: { digest: string }) => x.digest)).toEqual([d("2"), d("3")]);
    const only = referrersIndex([a, b], "application/vnd.example.sbom");
    expect(only.filtersApplied).toBe("artifactType");
    expect(JSON.parse(only.body).manifests).toHaveLength(1);
    expect(JSON.parse(referrersIndex([]).body).manifests).toEqual([]);
  });
});
