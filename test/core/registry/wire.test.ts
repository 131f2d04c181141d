import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import {
  checkChunkLength,
  checkClose,
  MAX_PAGE,
  nextLink,
  paginate,
  parseChunkRange,
  planChunk,
  RegistryError,
  resolveRange,
  sessionIdFrom,
  isSessionId,
  uploadRangeHeader,
} from "../../../core/registry/index.ts";

function failure(f: () => unknown): RegistryError {
  try {
    f();
  } catch (e) {
    if (e instanceof RegistryError) return e;
    throw e;
  }
  throw new Error("expected a RegistryError");
}

describe("Range on blob GET", () => {
  test("the forms of RFC 9110", () => {
    expect(resolveRange(undefined, 100)).toEqual({ kind: "full" });
    expect(resolveRange("bytes=0-9", 100)).toEqual({ kind: "partial", start: 0, end: 9 });
    expect(resolveRange("bytes=90-", 100)).toEqual({ kind: "partial", start: 90, end: 99 });
    expect(resolveRange("bytes=-10", 100)).toEqual({ kind: "partial", start: 90, end: 99 });
    expect(resolveRange("bytes=-1000", 100)).toEqual({ kind: "partial", start: 0, end: 99 });
    expect(resolveRange("bytes=50-1000", 100)).toEqual({ kind: "partial", start: 50, end: 99 });
    expect(resolveRange("bytes=100-", 100)).toEqual({ kind: "unsatisfiable" });
    expect(resolveRange("bytes=0-1,5-6", 100)).toEqual({ kind: "full" });
    expect(resolveRange("items=0-1", 100)).toEqual({ kind: "full" });
    expect(resolveRange("bytes=9-1", 100)).toEqual({ kind: "full" });
  });
  test("a partial answer always lies inside the blob (property)", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 30 }), fc.nat(1_000_000), (h, size) => {
        const r = resolveRange(h, size);
        if (r.kind === "partial") {
          expect(r.start).toBeGreaterThanOrEqual(0);
          expect(r.end).toBeLessThan(size);
          expect(r.start).toBeLessThanOrEqual(r.end);
        }
      }),
    );
    fc.assert(
      fc.property(fc.nat(1000), fc.nat(1000), fc.integer({ min: 1, max: 2000 }), (a, b, size) => {
        const r = resolveRange(`bytes=${a}-${b}`, size);
        if (a > b) expect(r.kind).toBe("full");
        else if (a >= size) expect(r.kind).toBe("unsatisfiable");
        else expect(r).toEqual({ kind: "partial", start: a, end: Math.min(b, size - 1) });
      }),
    );
  });
});

describe("upload sessions", () => {
  test("ids are 128 random bits in hex, nothing else passes", () => {
    const id = sessionIdFrom(new Uint8Array(16).fill(171));
    expect(id).toBe("ab".repeat(16));
    expect(isSessionId(id)).toBe(true);
    expect(isSessionId("../" + "a".repeat(29))).toBe(false);
  });
  test("chunks must start where the upload stands, else 416", () => {
    expect(planChunk(0, {})).toEqual({});
    expect(planChunk(0, { contentLength: 10 })).toEqual({ expect: 10 });
    expect(planChunk(10, { contentRange: "10-19", contentLength: 10 })).toEqual({ expect: 10 });
    expect(planChunk(10, { contentRange: "bytes 10-19/*" })).toEqual({ expect: 10 });
    const e = failure(() => planChunk(10, { contentRange: "0-9" }));
    expect(e.status).toBe(416);
    expect(e.spec).toBe("BLOB_UPLOAD_INVALID");
    expect(failure(() => planChunk(0, { contentRange: "0-9", contentLength: 5 })).status).toBe(416);
    expect(failure(() => planChunk(0, { contentRange: "x" })).status).toBe(416);
    expect(parseChunkRange("5-4")).toBeUndefined();
  });
  test("a short or long chunk is SIZE_INVALID; a wrong digest is DIGEST_INVALID", () => {
    expect(failure(() => checkChunkLength({ expect: 10 }, 9)).spec).toBe("SIZE_INVALID");
    checkChunkLength({}, 9);
    expect(failure(() => checkClose("sha256:a", "sha256:b", 3)).spec).toBe("DIGEST_INVALID");
    expect(uploadRangeHeader(0)).toBe("0-0");
    expect(uploadRangeHeader(10)).toBe("0-9");
  });
});

describe("paged lists", () => {
  const tags = ["b", "A", "a", "c", "B", "10", "9"];
  test("lexical order, case-insensitive, total", () => {
    expect(paginate(tags, {}).items).toEqual(["10", "9", "A", "a", "B", "b", "c"]);
  });
  test("n, last and the next page", () => {
    expect(paginate(tags, { n: "2" })).toEqual({ items: ["10", "9"], next: "9" });
    expect(paginate(tags, { n: "2", last: "9" })).toEqual({ items: ["A", "a"], next: "a" });
    expect(paginate(tags, { n: "10", last: "b" })).toEqual({ items: ["c"] });
    expect(paginate(tags, { last: "B" })).toEqual({ items: ["b", "c"] });
    expect(paginate(tags, { n: "0" })).toEqual({ items: [] });
    expect(paginate(tags, { last: "zzz" })).toEqual({ items: [] });
    expect(nextLink("/v2/a/tags/list", 2, "x y")).toBe('</v2/a/tags/list?n=2&last=x%20y>; rel="next"');
  });
  test("a huge or negative n is PAGINATION_NUMBER_INVALID, not an allocation", () => {
    for (const n of ["1000001", "-1", "1e9", "abc", String(MAX_PAGE + 1), "99999999999999999999"]) {
      expect(failure(() => paginate(tags, { n })).spec).toBe("PAGINATION_NUMBER_INVALID");
    }
    expect(paginate(tags, { n: String(MAX_PAGE) }).items).toHaveLength(tags.length);
  });
  test("walking the pages visits every item once, in order (property)", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.stringMatching(/^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,5}$/), { maxLength: 40 }), fc.integer({ min: 1, max: 7 }), (all, n) => {
        const seen: string[] = [];
        let last: string | undefined;
        for (let i = 0; i < 100; i++) {
          const p = paginate(all, { n: String(n), ...(last !== undefined ? { last } : {}) });
          seen.push(...p.items);
          if (!p.next) break;
          last = p.next;
        }
        expect(seen).toEqual(paginate(all, {}).items);
      }),
    );
  });
});
