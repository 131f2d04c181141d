/**
 * Generated API requests for the agent fuzz: deployment bodies (compose files
 * and normalised projects, each with hostile values at random places), scale
 * bodies, raw garbage (deep, huge, not JSON), and the reads that follow them
 * (a stored deployment must stay readable: issue 18 saw a 40k-level project
 * stored and every later GET answer 500).
 */
import fc from "fast-check";
import { stringify } from "yaml";
import { deepText, hostileDocument, hostileName, hostileScalar, hostileValue, hugeText } from "./hostile.ts";

export interface ApiRequest {
  readonly method: "GET" | "PUT" | "POST" | "DELETE";
  readonly path: string;
  readonly body?: string;
  readonly contentType?: string;
}

/** A few deployment names, so bodies overwrite each other instead of piling up deployments. */
const DEPLOYMENTS = ["shop", "app", "web", "x", "fuzz-1", "fuzz-2"];
const deployment = fc.oneof({ arbitrary: fc.constantFrom(...DEPLOYMENTS), weight: 12 }, { arbitrary: hostileName, weight: 1 });
const service = fc.oneof({ arbitrary: fc.constantFrom("web", "db", "api"), weight: 6 }, { arbitrary: hostileName, weight: 1 });
/** Path segments: lone surrogates (which encodeURIComponent refuses) become U+FFFD first. */
const enc = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"));

/** Every path (key sequence) in a JSON value, to aim a mutation at. */
function paths(v: unknown, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (typeof v === "object" && v !== null) for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function setAt(root: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value === undefined ? root : value;
  if (typeof root !== "object" || root === null) return root;
  const copy: unknown = structuredClone(root);
  let cur = copy as Record<string | number, unknown>;
  for (const k of path.slice(0, -1)) {
    const next = cur[k];
    if (typeof next !== "object" || next === null) return root; // an earlier mutation replaced this branch
    cur = next as Record<string | number, unknown>;
  }
  const last = path[path.length - 1]!;
  if (value === undefined) delete cur[last];
  else cur[last] = value;
  return copy;
}

/** Marker replaced, in the serialised body, by deeply nested JSON (too deep to build as an object). */
const DEEP = "\u0000DEEP\u0000";

/** The requests, given a valid normalised project to start mutations from. */
export function apiRequest(baseProject: Record<string, unknown>, special: readonly string[]): fc.Arbitrary<ApiRequest> {
  const deepJson = fc
  // Around the nesting limit (64) and far past it; under it, a wrong-typed value.
  .tuple(fc.constantFrom(10, 63, 64, 65, 1000, 40_000, 100_000), fc.boolean())
  .map(([n, arrays]) => (arrays ? `${"[".repeat(n)}${"]".repeat(n)}` : `${'{"a":'.repeat(n)}1${"}".repeat(n)}`));
  const basePaths = paths(baseProject);
  const mutation = fc.oneof(hostileValue, fc.constant(undefined), fc.constant(DEEP));
  const mutated = fc
    .tuple(fc.array(fc.tuple(fc.nat(basePaths.length - 1), mutation), { minLength: 0, maxLength: 3 }), deepJson)
    .map(([muts, deep]) => {
      let p: unknown = baseProject;
      for (const [i, v] of muts) p = setAt(p, basePaths[i]!, v);
      return JSON.stringify({ project: p }).replace(JSON.stringify(DEEP), deep);
    });
  // Replica counts over the limit (18.2): refused at once, never planned.
  const replicaPaths = basePaths.filter((p) => p.at(-1) === "replicas");
  const overLimit = fc.tuple(fc.constantFrom(...(replicaPaths.length ? replicaPaths : [["replicas"]])), fc.constantFrom(1001, 65_536, 100_000, 1e9)).map(([p, n]) => JSON.stringify({ project: setAt(baseProject, p, n) }));
  const composeText = fc.tuple(hostileDocument(special), fc.oneof({ arbitrary: fc.constant(""), weight: 8 }, { arbitrary: deepText.map((t) => `x-deep: ${t}\n`), weight: 1 }, { arbitrary: hugeText.map((h) => `x-big: "${h.slice(0, 500_000)}"\n`), weight: 1 })).map(([d, extra]) => {
    try {
      return stringify(d, { aliasDuplicateObjects: false }) + extra;
    } catch {
      return JSON.stringify(d) + extra;
    }
  });
  const files = fc
    .record(
      {
        files: fc.oneof(
          { arbitrary: composeText.map((content) => [{ name: "compose.yaml", content }]), weight: 8 },
          { arbitrary: fc.array(fc.record({ name: fc.oneof(fc.constantFrom("compose.yaml", "/etc/shadow", "../x.yaml", "a\u0000b"), hostileScalar), content: fc.oneof(composeText, hostileScalar) }), { maxLength: 3 }), weight: 2 },
        ),
        env: fc.oneof(fc.dictionary(hostileName, hostileScalar, { maxKeys: 3 }), hostileValue),
        profiles: fc.oneof(fc.array(hostileName, { maxLength: 2 }), hostileValue),
        workingDir: fc.oneof(fc.constantFrom("/", "/p", "/etc", "relative", "/dev/zero"), hostileScalar),
        options: fc.oneof(fc.record({ pull: fc.constantFrom("never", "missing", "always", "sometimes"), timeoutSeconds: fc.oneof(fc.integer({ min: -1, max: 100_000 }), hostileScalar) }, { requiredKeys: [] }), hostileValue),
      },
      { requiredKeys: ["files"] },
    )
    .map((b) => JSON.stringify(b));
  const garbage = fc.oneof(
    { arbitrary: deepText, weight: 4 },
    { arbitrary: fc.constantFrom("", "null", "[]", "{}", "0", '"x"', "{", '{"files":', '{"project":{}}', '{"files":[]}', "\u0000", '{"files":[{"name":"c","content":"\u0000"}]}', '{"__proto__":{"x":1}}'), weight: 4 },
    { arbitrary: hostileValue.map((v) => JSON.stringify(v) ?? "null"), weight: 4 },
    // Over the body limit: refused from Content-Length, drained, answered 413.
    { arbitrary: fc.constantFrom(9 * 1024 * 1024).map((n) => `{"x":"${"9".repeat(n)}"}`), weight: 1 },
  );
  const put = (body: fc.Arbitrary<string>) => fc.tuple(deployment, body).map(([d, b]): ApiRequest => ({ method: "PUT", path: `/v1/deployments/${enc(d)}`, body: b, contentType: "application/json" }));
  return fc.oneof(
    { arbitrary: put(files), weight: 8 },
    { arbitrary: put(mutated), weight: 8 },
    { arbitrary: put(overLimit), weight: 1 },
    { arbitrary: put(garbage), weight: 2 },
    {
      arbitrary: fc.tuple(deployment, service, fc.oneof(fc.record({ replicas: fc.oneof(fc.integer({ min: -10, max: 1_000_000 }), hostileScalar) }), hostileValue)).map(([d, s, b]): ApiRequest => ({
        method: "POST",
        path: `/v1/deployments/${enc(d)}/services/${enc(s)}/scale`,
        body: JSON.stringify(b) ?? "null",
        contentType: "application/json",
      })),
      weight: 2,
    },
    { arbitrary: fc.tuple(deployment, fc.constantFrom("", "/services", "/services/web", "/services/db")).map(([d, rest]): ApiRequest => ({ method: "GET", path: `/v1/deployments/${enc(d)}${rest}` })), weight: 2 },
    { arbitrary: fc.constantFrom<ApiRequest>({ method: "GET", path: "/v1/deployments" }, { method: "GET", path: "/v1/services" }, { method: "GET", path: "/v1/containers" }, { method: "GET", path: "/v1/events?follow=false" }), weight: 1 },
    { arbitrary: deployment.map((d): ApiRequest => ({ method: "DELETE", path: `/v1/deployments/${enc(d)}` })), weight: 1 },
  );
}
