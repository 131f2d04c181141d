// The ingress's metrics at /metrics, from real exchanges on loopback: per
// route requests by status class, the latency histogram, upstream errors and
// retries (a refused replica, then the live one), TCP connections by outcome.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http from "node:http";
import net from "node:net";
import { Registry } from "prom-client";
import { loadProject } from "../../../core/compose/index.ts";
import { buildRouteTable } from "../../../core/ingress/routes.ts";
import { CertStore } from "../../../platform/ingress/certs.ts";
import { createIngressMetrics } from "../../../platform/ingress/metrics.ts";
import { IngressServer, targetKey } from "../../../platform/ingress/server.ts";
import { freeTcpPorts, openOnFreePorts } from "./free-ports.ts";

describe("ingress metrics", () => {
  const registry = new Registry();
  let ingress: IngressServer;
  let backend: http.Server;
  let echo: net.Server;
  let P: { http: number; tcp: number; dead: number };

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      res.statusCode = req.url === "/boom" ? 500 : 200;
      res.end("ok");
    });
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", () => r()));
    echo = net.createServer((s) => s.pipe(s));
    await new Promise<void>((r) => echo.listen(0, "127.0.0.1", () => r()));
    const ref = { deployment: "shop", project: "shop", service: "web" };
    const metrics = createIngressMetrics(registry); // once: a registry takes each metric name once
    const opened = await openOnFreePorts(
      async () => {
        const [http, tcp, dead] = (await freeTcpPorts(3)) as [number, number, number];
        return { http, tcp, dead };
      },
      () => new IngressServer({ bind: "127.0.0.1", trustedProxies: [], acceptProxyFrom: [], certs: new CertStore(), acmeChallenge: () => undefined, metrics, connectTimeoutMs: 1_000, now: () => performance.now() }),
      (P) => {
        const yaml = `services:\n  web:\n    image: x\n    x-fizz:\n      ingress: [{host: web.test, port: ${P.http}, target: 80}, {port: ${P.tcp}, target: 9000, protocol: tcp}]\n`;
        const project = loadProject({ cwd: "/w/shop", projectName: "shop", env: {}, reader: { read: (f) => (f === "/w/shop/compose.yaml" ? yaml : undefined) } }).project!;
        const backends = new Map([
          // The dead replica sorts first: the first request tries it, is refused, and is retried on the live one.
          [targetKey(ref, 80), [{ key: "a-dead", state: "ready" as const, target: { host: "127.0.0.1", port: P.dead } }, { key: "b-live", state: "ready" as const, target: { host: "127.0.0.1", port: (backend.address() as net.AddressInfo).port } }]],
          [targetKey(ref, 9000), [{ key: "echo", state: "ready" as const, target: { host: "127.0.0.1", port: (echo.address() as net.AddressInfo).port } }]],
        ]);
        return { table: buildRouteTable([{ id: "shop", created: "1", project }], true), backends };
      },
    );
    ingress = opened.ingress;
    P = opened.ports;
  });

  afterAll(() => {
    ingress?.close();
    backend?.close();
    echo?.close();
  });

  const get = (path: string) =>
    new Promise<number>((resolve, reject) => {
      http.get({ host: "127.0.0.1", port: P.http, path, headers: { host: "web.test" }, agent: false }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      }).on("error", reject);
    });

  test("per-route requests, latency, upstream errors and retries; TCP connections", async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push(await get("/"));
    statuses.push(await get("/boom"));
    expect(statuses).toEqual([200, 200, 200, 200, 500]);
    const c = net.connect(P.tcp, "127.0.0.1");
    await new Promise<void>((resolve) => {
      c.on("data", () => c.end());
      c.on("close", () => resolve());
      c.write("hi");
    });
    await new Promise((r) => setTimeout(r, 50));
    const text = await registry.metrics();
    const value = (line: string) => Number(new RegExp(`^${line.replace(/[{}"/.]/g, "\\$&")} (\\S+)$`, "m").exec(text)?.[1]);
    expect(value('fizz_ingress_requests_total{route="shop/web:80",code="2xx"}')).toBe(4);
    expect(value('fizz_ingress_requests_total{route="shop/web:80",code="5xx"}')).toBe(1);
    expect(value('fizz_ingress_request_duration_seconds_count{route="shop/web:80"}')).toBe(5);
    expect(value('fizz_ingress_request_duration_seconds_bucket{le="10",route="shop/web:80"}')).toBe(5);
    // The refused replica: one upstream error and one retry (then it is ejected, and no more are tried on it).
    expect(value('fizz_ingress_upstream_errors_total{route="shop/web:80"}')).toBe(1);
    expect(value('fizz_ingress_retries_total{route="shop/web:80"}')).toBe(1);
    expect(value('fizz_ingress_tcp_connections_total{route="shop/web:9000",result="ok"}')).toBe(1);
  });
});

describe("ingress metrics as prom-client would have written them", () => {
  // The hot path keeps plain numbers and hands them over on /metrics; the text must be
  // what prom-client's own Counter and Histogram give for the same records.
  test("requests, latency buckets, upstream errors and retries match prom-client fed the same records", async () => {
    const fc = (await import("fast-check")).default;
    const { Counter, Histogram } = await import("prom-client");
    const { LATENCY_BUCKETS } = await import("../../../platform/ingress/metrics.ts");
    const record = fc.record({
      route: fc.constantFrom("a/web:80", "b/api:8080", 'c/"q":1'),
      status: fc.constantFrom(101, 200, 204, 302, 404, 499, 502, 503, 0),
      seconds: fc.oneof(fc.double({ min: 0, max: 20, noNaN: true }), fc.constantFrom(...LATENCY_BUCKETS)),
      retries: fc.nat(3),
      upstreamErrors: fc.nat(3),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(record, { maxLength: 60 }), fc.integer({ min: 0, max: 60 }), async (records, scrapeAt) => {
        const ours = new Registry();
        const m = createIngressMetrics(ours);
        const theirs = new Registry();
        const req = new Counter({ name: "fizz_ingress_requests_total", help: "x", labelNames: ["route", "code"], registers: [theirs] });
        const dur = new Histogram({ name: "fizz_ingress_request_duration_seconds", help: "x", labelNames: ["route"], buckets: LATENCY_BUCKETS, registers: [theirs] });
        const up = new Counter({ name: "fizz_ingress_upstream_errors_total", help: "x", labelNames: ["route"], registers: [theirs] });
        const re = new Counter({ name: "fizz_ingress_retries_total", help: "x", labelNames: ["route"], registers: [theirs] });
        const cls = (s: number) => (s >= 100 && s < 600 ? `${Math.floor(s / 100)}xx` : "other");
        for (const [i, r] of records.entries()) {
          // A scrape in the middle: what was handed over is not handed over twice.
          if (i === scrapeAt) await ours.metrics();
          m.recordHttp(r);
          req.labels(r.route, cls(r.status)).inc();
          dur.labels(r.route).observe(r.seconds);
          if (r.upstreamErrors > 0) up.labels(r.route).inc(r.upstreamErrors);
          if (r.retries > 0) re.labels(r.route).inc(r.retries);
        }
        const lines = async (reg: Registry) => {
          const out: string[] = [];
          for (const name of ["fizz_ingress_requests_total", "fizz_ingress_request_duration_seconds", "fizz_ingress_upstream_errors_total", "fizz_ingress_retries_total"]) {
            const text = await reg.getSingleMetricAsString(name);
            out.push(...text.split("\n").filter((l) => l && !l.startsWith("#")));
          }
          return out.sort();
        };
        const a = await lines(ours);
        const b = await lines(theirs);
        expect(a).toEqual(b);
      }),
      { numRuns: 150 },
    );
  });
});
