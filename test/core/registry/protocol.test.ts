import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  digestRelPath,
  errorBody,
  isRepoName,
  parseDigest,
  parseReference,
  parseRepoName,
  parseRoute,
  RegistryError,
  referrersTag,
  type Digest,
} from "../../../core/registry/index.ts";

const D = ("sha256:" + "ab".repeat(32)) as Digest;

function specCode(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    if (e instanceof RegistryError) return e.spec;
    throw e;
  }
  return undefined;
}

describe("digests", () => {
  test("accepts sha256 and sha512 of the exact length, lower-case hex", () => {
    expect(parseDigest(D)).toBe(D);
    expect(parseDigest("sha512:" + "0".repeat(128)) as string).toBe("sha512:" + "0".repeat(128));
  });
  test("refuses malformed digests with DIGEST_INVALID and unknown algorithms with UNSUPPORTED", () => {
    expect(specCode(() => parseDigest("sha256:" + "AB".repeat(32)))).toBe("DIGEST_INVALID");
    expect(specCode(() => parseDigest("sha256:abc"))).toBe("DIGEST_INVALID");
    expect(specCode(() => parseDigest("sha256:../../../../etc/passwd"))).toBe("DIGEST_INVALID");
    expect(specCode(() => parseDigest("md5:" + "a".repeat(32)))).toBe("UNSUPPORTED");
    expect(specCode(() => parseDigest(""))).toBe("DIGEST_INVALID");
  });
  test("every accepted digest makes a path with no traversal (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 140 }), (s) => {
        let d: Digest;
        try {
          d = parseDigest(s);
        } catch (e) {
          expect(e).toBeInstanceOf(RegistryError);
          return;
        }
        const p = digestRelPath(d);
        expect(p.split("/").every((c) => c !== ".." && c !== "." && c !== "")).toBe(true);
        expect(p.startsWith("/")).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });
  test("fan-out path and referrers tag", () => {
    expect(digestRelPath(D)).toBe(`sha256/ab/${"ab".repeat(32)}`);
    expect(referrersTag(D)).toBe(`sha256-${"ab".repeat(32)}`);
  });
});

describe("repository names", () => {
  test("accepts the spec's grammar", () => {
    for (const n of ["a", "library/busybox", "a.b_c__d--e/f", "docker.io/library/busybox", "127.0.0.1_5000/x", "a/b/c/d/e"]) expect(isRepoName(n)).toBe(true);
  });
  test("refuses traversal, upper case, empty components and separators at the ends", () => {
    for (const n of ["", "..", "a/../b", "a/./b", "/a", "a/", "a//b", "A", "a/B", "a..b", "-a", "a-", "a/b%2f..", "a\\b", "a b", "_a", "a___b", "x".repeat(256)]) {
      expect(specCode(() => parseRepoName(n))).toBe("NAME_INVALID");
    }
  });
  test("no accepted name has a component a file system treats specially (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), (s) => {
        if (!isRepoName(s)) return;
        for (const c of s.split("/")) {
          expect(c === "" || c === "." || c === "..").toBe(false);
          expect(/[^a-z0-9._-]/.test(c)).toBe(false);
        }
      }),
      { numRuns: 3000 },
    );
  });
  test("references are a tag or a digest, nothing else", () => {
    expect(parseReference("latest")).toEqual({ kind: "tag", tag: "latest" } as never);
    expect(parseReference(D)).toEqual({ kind: "digest", digest: D } as never);
    expect(specCode(() => parseReference(".hidden"))).toBe("TAG_INVALID");
    expect(specCode(() => parseReference("x".repeat(129)))).toBe("TAG_INVALID");
    expect(specCode(() => parseReference("sha256:zz"))).toBe("DIGEST_INVALID");
  });
});

describe("routes", () => {
  test("every endpoint of the spec", () => {
    expect(parseRoute("/v2/")).toEqual({ kind: "base" });
    expect(parseRoute("/v2")).toEqual({ kind: "base" });
    expect(parseRoute("/v2/_catalog")).toEqual({ kind: "catalog" });
    expect(parseRoute("/v2/a/b/tags/list")).toEqual({ kind: "tags", name: "a/b" } as never);
    expect(parseRoute("/v2/a/manifests/v1")).toEqual({ kind: "manifest", name: "a", reference: { kind: "tag", tag: "v1" } } as never);
    expect(parseRoute(`/v2/a/blobs/${D}`)).toEqual({ kind: "blob", name: "a", digest: D } as never);
    expect(parseRoute("/v2/a/blobs/uploads/")).toEqual({ kind: "uploads", name: "a" } as never);
    expect(parseRoute("/v2/a/blobs/uploads")).toEqual({ kind: "uploads", name: "a" } as never);
    expect(parseRoute(`/v2/a/blobs/uploads/${"0".repeat(32)}`)).toEqual({ kind: "upload", name: "a", session: "0".repeat(32) } as never);
    expect(parseRoute(`/v2/a/referrers/${D}`)).toEqual({ kind: "referrers", name: "a", digest: D } as never);
    // a repository may be called "blobs" or "manifests"
    expect(parseRoute("/v2/x/manifests/manifests/latest")).toEqual({ kind: "manifest", name: "x/manifests", reference: { kind: "tag", tag: "latest" } } as never);
  });
  test("path traversal in names, digests and sessions is a spec error, never a route", () => {
    expect(specCode(() => parseRoute("/v2/../../etc/manifests/latest"))).toBe("NAME_INVALID");
    expect(specCode(() => parseRoute("/v2/a/%2e%2e/manifests/latest"))).toBe("NAME_INVALID");
    expect(specCode(() => parseRoute("/v2/a/blobs/sha256:..%2f..%2fetc"))).toBe("DIGEST_INVALID");
    expect(specCode(() => parseRoute("/v2/a/blobs/uploads/..%2f..%2fx"))).toBe("BLOB_UPLOAD_UNKNOWN");
    expect(specCode(() => parseRoute("/v2/a/manifests/..%2f..%2fx"))).toBe("TAG_INVALID");
    expect(parseRoute("/v3/")).toBeUndefined();
    expect(parseRoute("/v2/a/nothing")).toBeUndefined();
  });
  test("any path either parses to a route with safe parts, is no route, or is a spec error (property)", () => {
    const seg = fc.constantFrom("a", "b.c", "..", ".", "%2e", "blobs", "uploads", "manifests", "tags", "list", "referrers", D, "x:y", "", "_catalog", "0".repeat(32));
    fc.assert(
      fc.property(fc.array(seg, { maxLength: 7 }), (segs) => {
        const p = "/v2/" + segs.join("/");
        try {
          const r = parseRoute(p);
          if (r && "name" in r) expect(isRepoName(r.name)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(RegistryError);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe("error bodies", () => {
  test("the spec's JSON shape with the right status", () => {
    const e = new RegistryError("BLOB_UNKNOWN", undefined, { detail: { digest: D } });
    expect(e.status).toBe(404);
    expect(JSON.parse(errorBody(e))).toEqual({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown to registry", detail: { digest: D } }] });
    expect(new RegistryError("UNAUTHORIZED").status).toBe(401);
  });
});
