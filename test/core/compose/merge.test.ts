import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { canonicalJson } from "../../../core/compose/hash.ts";
import { mergeDocuments, mergeService } from "../../../core/compose/merge.ts";

// Property runs and corpus loads are CPU-bound; the shared test machine can be slow.
setDefaultTimeout(60_000);

const key = fc.constantFrom("A", "B", "C");
const service = fc.record(
  {
    image: fc.constantFrom("a", "b", "c"),
    command: fc.array(fc.constantFrom("x", "y"), { maxLength: 3 }),
    environment: fc.oneof(fc.dictionary(key, fc.constantFrom("1", "2")), fc.array(fc.tuple(key, fc.constantFrom("1", "2")).map(([k, v]) => `${k}=${v}`), { maxLength: 3 })),
    // Within one file a list has no duplicate identities (Compose rejects duplicate mount points/ports).
    ports: fc.uniqueArray(fc.constantFrom("80", "8080:80", "8081:80", "443:443/udp"), { maxLength: 3 }),
    volumes: fc.uniqueArray(fc.constantFrom("./a:/a", "./b:/a", "data:/data", "/x"), { maxLength: 3, selector: (v) => v.split(":")[1] ?? v }),
    dns: fc.uniqueArray(fc.constantFrom("1.1.1.1", "8.8.8.8"), { maxLength: 2 }),
    healthcheck: fc.record({ test: fc.array(fc.constantFrom("CMD", "true"), { maxLength: 2 }), retries: fc.nat(5) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);

describe("merge", () => {
  test("service merge is associative (the spec's rules compose)", () => {
    fc.assert(
      fc.property(service, service, service, (a, b, c) => {
        expect(canonicalJson(mergeService(mergeService(a, b), c))).toBe(canonicalJson(mergeService(a, mergeService(b, c))));
      }),
    );
  });
  test("document merge is associative", () => {
    const doc = fc.record({ services: fc.dictionary(fc.constantFrom("web", "db"), service) }, { requiredKeys: [] });
    fc.assert(
      fc.property(doc, doc, doc, (a, b, c) => {
        expect(canonicalJson(mergeDocuments(mergeDocuments(a, b), c))).toBe(canonicalJson(mergeDocuments(a, mergeDocuments(b, c))));
      }),
    );
  });
  test("command is replaced, environment merges, ports/volumes merge by identity, other lists append", () => {
    const m = mergeService(
      { command: ["a", "b"], environment: ["A=1", "B=2"], ports: ["8080:80"], volumes: ["./x:/data", "./y:/y"], dns: ["1.1.1.1"] },
      { command: ["c"], environment: { B: "3" }, ports: ["8080:80", "9090:90"], volumes: ["./z:/data"], dns: ["8.8.8.8"] },
    );
    expect(m).toEqual({
      command: ["c"],
      environment: { A: "1", B: "3" },
      ports: ["8080:80", "9090:90"],
      volumes: ["./y:/y", "./z:/data"],
      dns: ["1.1.1.1", "8.8.8.8"],
    });
  });
});
