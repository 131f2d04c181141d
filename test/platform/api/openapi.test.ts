/**
 * api/openapi.yaml is the API's contract: every route the server has is
 * documented, every documented operation exists, and the server (over the
 * fake backend) answers each one — happy path, unknown object, bad body,
 * wrong media type, missing token — with a documented status and a body that
 * matches the documented schema.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { AgentStore } from "../../../platform/store/index.ts";
import { createRoutes, EventFeed } from "../../../platform/api/index.ts";
import { createMetrics } from "../../../platform/metrics.ts";
import { FakeBackend } from "./fake-backend.ts";
import { FakeRegistry } from "./registry-fake.ts";
import { FakeSecrets } from "./secrets-fake.ts";
import { secretsRoutes } from "../../../platform/api/routes-secrets.ts";
import { registryRoutes } from "../../../platform/api/routes-registry.ts";
import { ingressRoutes } from "../../../platform/api/routes-ingress.ts";
import { FAKE_INGRESS, fakeUserStops } from "./harness.ts";
import { userStopRoutes } from "../../../platform/api/routes-user-stops.ts";
import { meshRoutes } from "../../../platform/api/routes-mesh.ts";
import { fakeMeshStatus } from "./mesh-fake.ts";
import { raw, startTestServer, TOKEN, type RawResponse, type TestServer } from "./harness.ts";

type Schema = Record<string, unknown>;
interface Spec {
  paths: Record<string, Record<string, unknown>>;
  components: Record<string, Record<string, unknown>>;
}
const spec = parse(readFileSync(new URL("../../../api/openapi.yaml", import.meta.url), "utf8")) as Spec & { openapi: string };

function deref<T = Schema>(x: unknown): T {
  let cur = x as Schema;
  while (cur && typeof cur.$ref === "string") {
    const [, , group, name] = (cur.$ref as string).split("/");
    cur = spec.components[group!]![name!] as Schema;
    if (!cur) throw new Error(`dangling $ref ${String((x as Schema).$ref)}`);
  }
  return cur as T;
}

/** A small JSON Schema check (the subset the spec uses). Returns problems. */
function validate(schemaIn: unknown, v: unknown, at = "$"): string[] {
  const s = deref(schemaIn);
  const out: string[] = [];
  // OpenAPI 3.0's nullable: null is allowed besides the type.
  if (v === null && s.nullable === true) return out;
  if (s.allOf) for (const sub of s.allOf as unknown[]) out.push(...validate(sub, v, at));
  if ("const" in s && v !== s.const) out.push(`${at}: expected ${JSON.stringify(s.const)}`);
  if (s.enum && !(s.enum as unknown[]).includes(v)) out.push(`${at}: ${JSON.stringify(v)} not in enum`);
  const type = s.type as string | undefined;
  const actual = v === null ? "null" : Array.isArray(v) ? "array" : Number.isInteger(v) ? "integer" : typeof v;
  if (type && !(type === actual || (type === "number" && actual === "integer"))) return [...out, `${at}: expected ${type}, got ${actual}`];
  if (typeof v === "number") {
    if (typeof s.minimum === "number" && v < s.minimum) out.push(`${at}: below minimum`);
    if (typeof s.maximum === "number" && v > s.maximum) out.push(`${at}: above maximum`);
  }
  if (typeof v === "string" && typeof s.pattern === "string" && !new RegExp(s.pattern).test(v)) out.push(`${at}: does not match ${s.pattern}`);
  if (actual === "object") {
    const o = v as Record<string, unknown>;
    for (const r of (s.required as string[] | undefined) ?? []) if (!(r in o)) out.push(`${at}: missing ${r}`);
    const props = (s.properties ?? {}) as Record<string, unknown>;
    for (const [k, val] of Object.entries(o)) {
      if (k in props) out.push(...validate(props[k], val, `${at}.${k}`));
      else if (s.additionalProperties === false) out.push(`${at}: unexpected ${k}`);
      else if (typeof s.additionalProperties === "object") out.push(...validate(s.additionalProperties, val, `${at}.${k}`));
    }
  }
  if (actual === "array" && s.items) (v as unknown[]).forEach((x, i) => out.push(...validate(s.items, x, `${at}[${i}]`)));
  return out;
}

interface Operation {
  method: string;
  path: string;
  params: Schema[];
  requestBody?: Schema;
  responses: Record<string, Schema>;
  security?: unknown[];
}

const METHODS = ["get", "put", "post", "delete", "patch", "head"];
const operations: Operation[] = Object.entries(spec.paths).flatMap(([path, item]) =>
  METHODS.filter((m) => m in item).map((m) => {
    const op = item[m] as Schema;
    return {
      method: m.toUpperCase(),
      path,
      params: [...((item.parameters as unknown[]) ?? []), ...((op.parameters as unknown[]) ?? [])].map((p) => deref(p)),
      ...(op.requestBody ? { requestBody: deref(op.requestBody) } : {}),
      responses: Object.fromEntries(Object.entries(op.responses as Record<string, unknown>).map(([k, r]) => [k, deref(r)])),
      ...(op.security ? { security: op.security as unknown[] } : {}),
    };
  }),
);

const pattern = (p: string) => p.replace(/\{([^}]+)\}/g, ":$1");
const fill = (op: Operation, values: (p: Schema) => string) =>
  op.path.replace(/\{([^}]+)\}/g, (_, n: string) => encodeURIComponent(values(op.params.find((p) => p.name === n && p.in === "path")!)));

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ tcp: true });
  const b = t.backend;
  b.deployments.set("shop", { name: "shop", generation: 1, createdAt: 1, updatedAt: 1, input: { project: { services: { web: {} } } }, replicas: new Map() });
  const c = b.addContainer({ deployment: "shop", service: "web", number: 1, name: "shop-web-1" });
  b.emitLog({ container: c.id, service: "web", stream: "stdout", line: "hello", time: 5 });
  t.events.append({ at: 1, type: "deployment.created", deployment: "shop", message: "created" });
});
afterAll(() => t.stop());

function checkAnswer(op: Operation, r: RawResponse, what: string): void {
  const doc = op.responses[String(r.status)];
  expect({ op: `${op.method} ${op.path}`, what, status: r.status, documented: doc !== undefined }).toEqual({ op: `${op.method} ${op.path}`, what, status: r.status, documented: true });
  const content = (doc!.content ?? {}) as Record<string, { schema?: unknown; "x-line-schema"?: unknown; "x-event-schema"?: unknown }>;
  const ct = String(r.headers["content-type"] ?? "").split(";")[0]!;
  if (r.status === 204 || op.method === "HEAD") return;
  expect([`${op.method} ${op.path} ${what}`, Object.keys(content)]).toEqual([`${op.method} ${op.path} ${what}`, expect.arrayContaining([ct])]);
  const media = content[ct]!;
  if (ct === "application/json") expect([`${op.method} ${op.path} ${what}`, validate(media.schema, JSON.parse(r.body))]).toEqual([`${op.method} ${op.path} ${what}`, []]);
  if (ct === "application/x-ndjson") {
    for (const line of r.body.split("\n").filter(Boolean)) expect(validate(media["x-line-schema"], JSON.parse(line))).toEqual([]);
  }
  if (ct === "text/event-stream") {
    for (const l of r.body.split("\n").filter((x) => x.startsWith("data: "))) expect(validate(media["x-event-schema"], JSON.parse(l.slice(6)))).toEqual([]);
  }
}

describe("api/openapi.yaml", () => {
  test("is OpenAPI 3.1 and every $ref resolves", () => {
    expect(spec.openapi).toMatch(/^3\.1\./);
    const walk = (x: unknown): void => {
      if (Array.isArray(x)) x.forEach(walk);
      else if (x && typeof x === "object") {
        if (typeof (x as Schema).$ref === "string") deref(x);
        Object.values(x).forEach(walk);
      }
    };
    walk(spec);
  });

  test("documents exactly the routes the server has", () => {
    const store = AgentStore.open(":memory:");
    const routes = createRoutes({ backend: new FakeBackend(), events: new EventFeed(store), metrics: createMetrics({ processMetrics: false }), extra: [registryRoutes(new FakeRegistry()), secretsRoutes(new FakeSecrets()), ingressRoutes(FAKE_INGRESS), meshRoutes(fakeMeshStatus), userStopRoutes(fakeUserStops({ deployments: new Map() }))] }).routes();
    store.close();
    const served = routes.map((r) => `${r.method} ${r.pattern}`).sort();
    const documented = operations.map((o) => `${o.method} ${pattern(o.path)}`).sort();
    expect(documented).toEqual(served);
  });

  test("every operation answers its happy path with a documented status and schema", async () => {
    // Deleting goes last, so the other operations still find the deployment.
    for (const op of [...operations].sort((a, b) => Number(a.method === "DELETE") - Number(b.method === "DELETE"))) {
      const path = fill(op, (p) => String(p.example ?? "shop"));
      const q = op.path === "/v1/events" ? "?follow=false" : "";
      const example = op.requestBody ? (Object.values(op.requestBody.content as Record<string, { example?: unknown }>)[0]!.example) : undefined;
      const r = await raw({
        socketPath: t.socket,
        method: op.method,
        path: path + q,
        ...(example !== undefined ? { headers: { "content-type": "application/json" }, body: JSON.stringify(example) } : {}),
      });
      expect([`${op.method} ${op.path}`, r.status < 300]).toEqual([`${op.method} ${op.path}`, true]);
      checkAnswer(op, r, "happy path");
    }
  });

  test("unknown objects, bad bodies, wrong media types and missing tokens get documented answers", async () => {
    for (const op of operations) {
      const hasPathParams = op.params.some((p) => p.in === "path");
      if (hasPathParams) {
        const r = await raw({ socketPath: t.socket, method: op.method, path: fill(op, () => "nothere"), ...(op.requestBody ? { headers: { "content-type": "application/json" }, body: '{"replicas":1}' } : {}) });
        if (op.method === "PUT") expect(r.status).toBe(400);
        else expect([`${op.method} ${op.path}`, r.status]).toEqual([`${op.method} ${op.path}`, 404]);
        checkAnswer(op, r, "unknown object");
        const bad = await raw({ socketPath: t.socket, method: op.method, path: fill(op, () => "BAD NAME") });
        expect(bad.status).toBe(400);
        checkAnswer(op, bad, "invalid name");
      }
      if (op.requestBody) {
        const path = fill(op, (p) => String(p.example ?? "shop"));
        const r = await raw({ socketPath: t.socket, method: op.method, path, headers: { "content-type": "application/json" }, body: "{oops" });
        expect(r.status).toBe(400);
        checkAnswer(op, r, "malformed JSON");
        const r2 = await raw({ socketPath: t.socket, method: op.method, path, headers: { "content-type": "text/plain" }, body: "{}" });
        expect(r2.status).toBe(415);
        checkAnswer(op, r2, "wrong media type");
      }
      const q = await raw({ socketPath: t.socket, method: op.method, path: `${fill(op, (p) => String(p.example ?? "shop"))}?bogus=1` });
      if (op.method !== "PUT" && op.method !== "POST") {
        expect(q.status).toBe(400);
        checkAnswer(op, q, "unknown query parameter");
      }
      const anon = await raw({ port: t.port!, method: op.method, path: fill(op, (p) => String(p.example ?? "shop")) + (op.path === "/v1/events" ? "?follow=false" : "") });
      if (op.security && op.security.length === 0) expect(anon.status).toBe(200);
      else expect([`${op.method} ${op.path}`, anon.status]).toEqual([`${op.method} ${op.path}`, 401]);
      checkAnswer(op, anon, "no token on TCP");
      const authed = await raw({ port: t.port!, method: op.method, path: fill(op, (p) => String(p.example ?? "shop")) + (op.path === "/v1/events" ? "?follow=false" : ""), headers: { authorization: `Bearer ${TOKEN}` } });
      checkAnswer(op, authed, "token on TCP");
    }
  });
});
