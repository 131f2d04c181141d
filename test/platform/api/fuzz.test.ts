/**
 * API fuzz: well over 1,000 malformed or hostile requests (bad JSON, wrong
 * types, huge bodies, path tricks, header abuse, missing/wrong tokens on TCP)
 * written as raw bytes to a running server. Every answer must be a 4xx (or a
 * 2xx where the request happens to be valid); never a 5xx, never silence;
 * and the server must still answer /healthz afterwards.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect, type Socket } from "node:net";
import fc from "fast-check";
import { createLogger } from "../../../platform/log.ts";
import { startTestServer, TOKEN, type TestServer } from "./harness.ts";

const SEED = Number(process.env.FIZZ_FUZZ_SEED ?? 20261122);
const LIMIT = 64 * 1024;

let t: TestServer;
const errorLogs: string[] = [];
beforeAll(async () => {
  const logger = createLogger({ level: "error", format: "json", write: (l) => void errorLogs.push(l) });
  t = await startTestServer({ tcp: true, limits: { maxBodyBytes: LIMIT, bodyTimeoutMs: 2000, headersTimeoutMs: 2000 }, logger });
  // Something to find, so valid requests reach deeper code.
  t.backend.deployments.set("shop", { name: "shop", generation: 1, createdAt: 0, updatedAt: 0, input: { project: { services: { web: {} } } }, replicas: new Map() });
  t.backend.addContainer({ deployment: "shop", service: "web", number: 1 });
});
afterAll(() => t.stop());

interface Target {
  unix?: string;
  port?: number;
}

/** Writes raw bytes, resolves with the status code of the first response (0 if the server closed without one). */
function rawStatus(target: Target, bytes: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const s: Socket = target.unix ? connect({ path: target.unix }) : connect({ host: "127.0.0.1", port: target.port! });
    let buf = "";
    let done = false;
    const finish = (code: number) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(code);
    };
    const timer = setTimeout(() => finish(-1), 8000);
    // The final status: skips interim 1xx answers (e.g. 100 Continue).
    const final = () => {
      for (const m of buf.matchAll(/HTTP\/1\.[01] (\d{3})[^\r\n]*\r\n/g)) if (!m[1]!.startsWith("1")) return Number(m[1]);
      return 0;
    };
    s.on("data", (c: Buffer) => {
      buf += c.toString("latin1");
      const code = final();
      if (code && buf.slice(buf.indexOf(`HTTP/1.1 ${code}`)).includes("\r\n\r\n")) finish(code);
    });
    s.on("error", () => finish(final()));
    s.on("close", () => finish(final()));
    s.on("connect", () => {
      s.write(bytes, () => undefined);
    });
  });
}

function req(method: string, path: string, headers: [string, string][], body?: Buffer | string): Buffer {
  const b = body === undefined ? undefined : Buffer.isBuffer(body) ? body : Buffer.from(body, "utf8");
  const hs = [...headers];
  if (b && !hs.some(([k]) => k.toLowerCase() === "content-length" || k.toLowerCase() === "transfer-encoding")) hs.push(["Content-Length", String(b.length)]);
  const head = `${method} ${path} HTTP/1.1\r\nHost: fizz\r\nConnection: close\r\n${hs.map(([k, v]) => `${k}: ${v}\r\n`).join("")}\r\n`;
  return b ? Buffer.concat([Buffer.from(head, "latin1"), b]) : Buffer.from(head, "latin1");
}

// --- generators ----------------------------------------------------------------
const segment = fc.oneof(
  fc.constantFrom("v1", "deployments", "containers", "services", "events", "logs", "scale", "shop", "web", "healthz", "metrics", "info", "v2", ""),
  fc.constantFrom("..", ".", "%2e%2e", "%2E%2e", "%2f", "%5c", "%00", "%ff", "%", "%zz", "a%2Fb", "..%2f..", "%c0%ae", "~", "*", ";", "\\", "%0d%0a"),
  fc.stringMatching(/^[A-Za-z0-9._~%-]{1,40}$/),
  fc.string({ unit: "grapheme", maxLength: 10 }).map(encodeURIComponent),
);
const name = fc.oneof(fc.constantFrom("shop", "web", "nope", "a", "x-1", "UPPER", "a_b"), fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,70}$/));
const knownRoute = fc.oneof(
  fc.constantFrom("/healthz", "/metrics", "/v1/info", "/v1/deployments", "/v1/services", "/v1/containers", "/v1/events?follow=false", "/v1/containers?state=running&deployment=shop"),
  name.map((n) => `/v1/deployments/${n}`),
  fc.tuple(name, name).map(([d, sv]) => `/v1/deployments/${d}/services/${sv}`),
  fc.tuple(name, name).map(([d, sv]) => `/v1/deployments/${d}/services/${sv}/scale`),
  fc.tuple(name, fc.constantFrom("", "?follow=false", "?tail=5", "?tail=-1", "?since=yesterday", "?service=web&service=db")).map(([d, q]) => `/v1/deployments/${d}/logs${q}`),
  fc.tuple(name, fc.constantFrom("", "?tail=1", "?follow=0")).map(([c, q]) => `/v1/containers/${c}/logs${q}`),
  fc.tuple(fc.constantFrom("type", "deployment", "service", "container", "since", "follow"), fc.stringMatching(/^[a-z0-9.*,%-]{0,12}$/)).map(([k, v]) => `/v1/events?follow=false&${k}=${v}`),
);
const path = fc.oneof(
  { arbitrary: knownRoute, weight: 3 },
  fc.array(segment, { minLength: 0, maxLength: 7 }).map((s) => `/${s.join("/")}`),
  fc.tuple(fc.array(segment, { maxLength: 4 }), fc.array(fc.tuple(fc.stringMatching(/^[a-z%&=]{0,12}$/), fc.stringMatching(/^[a-zA-Z0-9%.,*=-]{0,20}$/)), { maxLength: 4 })).map(
    ([s, q]) => `/${s.join("/")}?${q.map(([k, v]) => `${k}=${v}`).join("&")}`,
  ),
  fc.constantFrom("*", "http://evil/v1/containers", "v1/containers", "/v1/containers#x", `/${"a".repeat(5000)}`, "/v1/deployments/" + "x".repeat(70)),
);
const method = fc.constantFrom("GET", "GET", "PUT", "PUT", "POST", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "CONNECT", "FOO", "get");
const jsonish = fc.oneof(
  fc.json(),
  fc.string(),
  fc.jsonValue().map((v) => JSON.stringify({ files: v })),
  fc.jsonValue().map((v) => JSON.stringify({ project: v, env: v })),
  fc.jsonValue().map((v) => JSON.stringify({ replicas: v })),
  fc.record({ files: fc.array(fc.record({ name: fc.oneof(fc.string(), fc.integer()), content: fc.oneof(fc.string(), fc.constant(null)) })), options: fc.dictionary(fc.string(), fc.jsonValue()) }).map((v) => JSON.stringify(v)),
  fc.json().map((j) => j.slice(0, Math.max(0, j.length - 1))),
  fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a).toString("latin1")),
  fc.constantFrom('{"__proto__":{"polluted":1}}', '{"constructor":{"prototype":{"x":1}}}', "[".repeat(5000), '{"a":' .repeat(3000), "1e999999", '"\\ud800"', "\ufeff{}"),
);
const contentType = fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/x-www-form-urlencoded", "application/merge-patch+json", "", "application/json\x00", "multipart/form-data; boundary=x");
const authHeader: fc.Arbitrary<[string, string][]> = fc.oneof(
  fc.constant([] as [string, string][]),
  fc.constantFrom(`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, "Bearer ", "Basic dXNlcjpwYXNz", `bearer ${TOKEN}\t`, "Bearer " + "A".repeat(4000), TOKEN).map((v) => [["Authorization", v]] as [string, string][]),
  fc.constant([["Authorization", `Bearer ${TOKEN}`]] as [string, string][]),
  fc.constant([["Authorization", `Bearer ${TOKEN}`]] as [string, string][]),
);
const extraHeaders: fc.Arbitrary<[string, string][]> = fc.array(
  fc.oneof(
    { arbitrary: fc.constant<[string, string]>(["X-Big", "h".repeat(20_000)]), weight: 1 },
    { arbitrary: fc.constantFrom<[string, string]>(["Last-Event-ID", "abc"], ["Last-Event-ID", "-1"], ["Last-Event-ID", "99999999999999999999"], ["Content-Length", "abc"], ["Content-Length", "-5"], ["Transfer-Encoding", "gzip"], ["Expect", "100-continue"], ["X-Forwarded-For", "1.2.3.4"]), weight: 6 },
    { arbitrary: fc.tuple(fc.stringMatching(/^[A-Za-z-]{1,20}$/), fc.stringMatching(/^[ -~]{0,60}$/)), weight: 6 },
  ),
  { maxLength: 3 },
);

const request = fc.record({
  method,
  path,
  contentType,
  body: fc.option(jsonish, { nil: undefined, freq: 3 }),
  auth: authHeader,
  extra: extraHeaders,
  tcp: fc.boolean(),
});

test("≥1,000 hostile requests: only 2xx/4xx answers, and the agent still serves", async () => {
  const statuses = new Map<number, number>();
  const bad: string[] = [];
  let sent = 0;
  const note = (code: number, what: string) => {
    statuses.set(code, (statuses.get(code) ?? 0) + 1);
    sent++;
    if (!((code >= 200 && code < 300) || (code >= 400 && code < 500))) bad.push(`${code}: ${what.slice(0, 200)}`);
  };

  // 1. Generated requests.
  const cases = fc.sample(request, { seed: SEED, numRuns: 1000 });
  const queue = [...cases];
  const worker = async () => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      const headers: [string, string][] = [...c.auth, ...c.extra];
      if (c.contentType) headers.push(["Content-Type", c.contentType]);
      const bytes = req(c.method, c.path, headers, c.body);
      const code = await rawStatus(c.tcp ? { port: t.port! } : { unix: t.socket }, bytes);
      note(code, `${c.tcp ? "tcp" : "unix"} ${c.method} ${c.path} ${JSON.stringify(headers).slice(0, 80)} ${String(c.body).slice(0, 80)}`);
    }
  };
  await Promise.all(Array.from({ length: 12 }, worker));

  // 2. Huge bodies, declared and chunked, on both listeners.
  const huge = Buffer.alloc(LIMIT * 4 + 17, 0x7b);
  for (let i = 0; i < 20; i++) {
    const target = i % 2 ? { port: t.port! } : { unix: t.socket };
    const auth: [string, string][] = [["Authorization", `Bearer ${TOKEN}`], ["Content-Type", "application/json"]];
    note(await rawStatus(target, req("PUT", "/v1/deployments/shop", auth, huge)), "huge declared");
    const chunks = Buffer.concat([Buffer.from(`${(huge.length).toString(16)}\r\n`), huge, Buffer.from("\r\n0\r\n\r\n")]);
    note(await rawStatus(target, req("PUT", "/v1/deployments/shop", [...auth, ["Transfer-Encoding", "chunked"]], chunks)), "huge chunked");
    note(await rawStatus(target, req("POST", "/v1/deployments/shop/services/web/scale", [...auth, ["Content-Length", String(1 << 30)]])), "lying content-length");
  }

  // 3. Garbage that is not HTTP at all.
  const garbage = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 400 }), { seed: SEED + 1, numRuns: 40 });
  for (const g of garbage) note(await rawStatus({ unix: t.socket }, Buffer.concat([Buffer.from(g), Buffer.from("\r\n\r\n")])), "garbage");
  for (const line of ["GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab", "GET /v1/containers HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n", "GET /\x00 HTTP/1.1\r\n\r\n", "GET /v1/containers HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n"]) {
    note(await rawStatus({ unix: t.socket }, Buffer.from(line, "latin1")), JSON.stringify(line));
  }

  const summary = [...statuses.entries()].sort((a, b) => a[0] - b[0]).map(([k, v]) => `${k}×${v}`).join(" ");
  console.log(`fuzz: ${sent} requests (seed ${SEED}): ${summary}`);
  expect(sent).toBeGreaterThanOrEqual(1000);
  expect(bad).toEqual([]);
  expect(errorLogs.filter((l) => l.includes("handler failed"))).toEqual([]);
  // Still serving, on both listeners.
  expect(await rawStatus({ unix: t.socket }, req("GET", "/healthz", []))).toBe(200);
  expect(await rawStatus({ port: t.port! }, req("GET", "/v1/containers", [["Authorization", `Bearer ${TOKEN}`]]))).toBe(200);
}, 120_000);
