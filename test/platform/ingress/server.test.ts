// The ingress listeners on loopback against real sockets: HTTP routing by
// host and path with the client's address in the forwarding headers, keep-
// alive reuse, chunked and POST bodies, retry on a refused replica, waiting
// for a ready replica, 404/503, TCP with PROXY protocol both ways, UDP flows,
// HTTPS by SNI. Runs on Bun's native sockets and (FIZZ_INGRESS_SOCKETS=node)
// on node:net, the path Deno takes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import dgram from "node:dgram";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { parseCidr } from "../../../core/ingress/address.ts";
import { decodeProxyHeader } from "../../../core/ingress/proxy-protocol.ts";
import { buildRouteTable } from "../../../core/ingress/routes.ts";
import { loadProject } from "../../../core/compose/index.ts";
import { CertStore } from "../../../platform/ingress/certs.ts";
import { IngressServer, targetKey } from "../../../platform/ingress/server.ts";
import type { BackendSpec } from "../../../core/ingress/balancer.ts";
import type { Upstream } from "../../../platform/ingress/upstream-pool.ts";
import { freeTcpPorts, freeUdpPort, openOnFreePorts } from "./free-ports.ts";

interface Ports {
  readonly http: number;
  readonly https: number;
  readonly tcp: number;
  readonly udp: number;
  readonly pub: number;
}

/** The ports the route table asks for, picked free before each describe's ingress opens (free-ports.ts). */
async function pickPorts(): Promise<Ports> {
  const [http, https, tcp, pub] = (await freeTcpPorts(4)) as [number, number, number, number];
  return { http, https, tcp, pub, udp: await freeUdpPort() };
}

function project(yaml: string) {
  const r = loadProject({ cwd: "/w/shop", projectName: "shop", env: {}, reader: { read: (f) => (f === "/w/shop/compose.yaml" ? yaml : undefined) } });
  const errs = r.diagnostics.filter((d) => d.severity === "error");
  if (errs.length) throw new Error(JSON.stringify(errs));
  return r.project!;
}

const compose = (P: Ports) => `
services:
  web:
    image: x
    x-fizz:
      ingress:
        - {host: web.test, port: ${P.http}, target: 80, tls: true, tls_port: ${P.https}}
  api:
    image: x
    x-fizz:
      ingress:
        - {host: web.test, path: /api, port: ${P.http}, target: 80}
        - {port: ${P.tcp}, target: 9000, protocol: tcp, proxy_protocol: 2}
  later:
    image: x
    x-fizz:
      ingress: [{host: later.test, port: ${P.http}, target: 80}]
  dns:
    image: x
    ports: ["${P.udp}:53/udp"]
  site:
    image: x
    ports: ["${P.pub}:80"]
`;

interface Seen {
  name: string;
  xff: string | undefined;
  forwarded: string | undefined;
  proto: string | undefined;
  body: string;
}

function httpBackend(name: string, seen: Seen[]): Promise<http.Server> {
  const s = http.createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      seen.push({ name, xff: req.headers["x-forwarded-for"] as string, forwarded: req.headers.forwarded, proto: req.headers["x-forwarded-proto"] as string, body });
      if (req.url === "/chunked") {
        res.write("part1-");
        res.end("part2");
        return;
      }
      res.setHeader("x-backend", name);
      res.end(`${name}:${req.method}:${req.url}:${body}`);
    });
  });
  s.keepAliveTimeout = 30_000;
  return new Promise((resolve) => s.listen(0, "127.0.0.1", () => resolve(s)));
}

function portOf(s: net.Server | http.Server): number {
  return (s.address() as net.AddressInfo).port;
}

/** One raw HTTP/1.1 exchange on a fresh connection from a chosen source address. */
function raw(port: number, request: string, from = "127.0.0.1"): Promise<string> {
  return new Promise((resolve) => {
    const c = net.connect({ host: "127.0.0.1", port, localAddress: from });
    let out = "";
    c.on("data", (d) => (out += d));
    c.on("end", () => resolve(out));
    // A reset (a connection Fizz cuts off) ends the answer like a close.
    c.on("error", () => resolve(out));
    c.write(request);
    setTimeout(() => {
      c.destroy();
      resolve(out);
    }, 3000);
  });
}

function get(port: number, path: string, host: string, agent?: http.Agent, headers: Record<string, string> = {}): Promise<{ status: number; body: string; backend: string | undefined }> {
  return new Promise((resolve, reject) => {
    const r = http.request({ host: "127.0.0.1", port, path, headers: { host, ...headers }, agent: agent ?? false }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, backend: res.headers["x-backend"] as string | undefined }));
    });
    r.on("error", reject);
    r.end();
  });
}

for (const impl of ["bun", "node"] as const) {
  describe(`ingress listeners (${impl} sockets)`, () => {
    const seen: Seen[] = [];
    const servers: (net.Server | http.Server)[] = [];
    let ingress: IngressServer;
    let webA: http.Server, webB: http.Server, api: http.Server;
    const pp: { header: ReturnType<typeof decodeProxyHeader>; payload: string }[] = [];
    let tcpBackend: net.Server;
    let udpBackend: dgram.Socket;
    const dir = mkdtempSync(join(tmpdir(), "fizz-ingress-"));
    const certs = new CertStore();
    const specs = new Map<string, BackendSpec<Upstream>[]>();
    let P: Ports;
    let table: ReturnType<typeof buildRouteTable>;
    const ref = (service: string) => ({ deployment: "shop", project: "shop", service });
    const up = (key: string, port: number, state: "ready" | "draining" = "ready"): BackendSpec<Upstream> => ({ key, state, target: { host: "127.0.0.1", port } });

    beforeAll(async () => {
      process.env.FIZZ_INGRESS_SOCKETS = impl;
      webA = await httpBackend("webA", seen);
      webB = await httpBackend("webB", seen);
      api = await httpBackend("api", seen);
      tcpBackend = net.createServer((c) => {
        let buf = Buffer.alloc(0);
        c.on("data", (d) => {
          buf = Buffer.concat([buf, d as Buffer]);
          const h = decodeProxyHeader(buf);
          if (h.kind === "ok" && buf.length > h.length) {
            pp.push({ header: h, payload: buf.subarray(h.length).toString() });
            c.end(`echo:${buf.subarray(h.length).toString()}`);
          }
        });
      });
      await new Promise<void>((r) => tcpBackend.listen(0, "127.0.0.1", () => r()));
      udpBackend = dgram.createSocket("udp4");
      udpBackend.on("message", (m, r) => udpBackend.send(Buffer.from(`udp:${m}`), r.port, r.address));
      await new Promise<void>((r) => udpBackend.bind(0, "127.0.0.1", () => r()));
      servers.push(webA, webB, api, tcpBackend);
      execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem"), "-days", "2", "-subj", "/CN=web.test", "-addext", "subjectAltName=DNS:web.test"], { stdio: "ignore" });
      certs.put("web.test", readFileSync(join(dir, "c.pem"), "utf8"), readFileSync(join(dir, "k.pem"), "utf8"));
      specs.set(targetKey(ref("web"), 80), [up("web/1", portOf(webA)), up("web/2", portOf(webB))]);
      specs.set(targetKey(ref("api"), 80), [up("api/1", portOf(api))]);
      specs.set(targetKey(ref("api"), 9000), [up("api/1", portOf(tcpBackend))]);
      specs.set(targetKey(ref("site"), 80), [up("site/1", portOf(api))]);
      specs.set(targetKey(ref("dns"), 53), [{ key: "dns/1", state: "ready", target: { host: "127.0.0.1", port: (udpBackend.address() as net.AddressInfo).port } }]);
      const opened = await openOnFreePorts(
        pickPorts,
        () =>
          new IngressServer({
            bind: "127.0.0.1",
            trustedProxies: [parseCidr("127.0.0.2")!],
            acceptProxyFrom: [parseCidr("127.0.0.3")!],
            certs,
            acmeChallenge: (t) => (t === "tok123" ? "tok123.thumb" : undefined),
            waitForReadyMs: 3_000,
            connectTimeoutMs: 1_000,
            now: () => performance.now(),
          }),
        (ports) => {
          table = buildRouteTable([{ id: "shop", created: "1", project: project(compose(ports)) }], true);
          return { table, backends: specs };
        },
      );
      ingress = opened.ingress;
      P = opened.ports;
    });

    afterAll(() => {
      ingress?.close();
      for (const s of servers) s.close();
      udpBackend?.close();
      rmSync(dir, { recursive: true, force: true });
      delete process.env.FIZZ_INGRESS_SOCKETS;
    });

    test("routes by host and path; the backend sees the client in X-Forwarded-For and Forwarded; forged headers dropped", async () => {
      seen.length = 0;
      const a = await get(P.http, "/api/orders", "web.test", undefined, { "x-forwarded-for": "6.6.6.6" });
      expect(a.body).toBe("api:GET:/api/orders:");
      const w = await get(P.http, "/index.html", "web.test:80");
      expect(w.body).toMatch(/^web[AB]:GET:\/index.html:$/);
      expect(seen[0]).toMatchObject({ name: "api", xff: "127.0.0.1", forwarded: 'for=127.0.0.1;host="web.test";proto=http', proto: "http" });
      expect((await get(P.http, "/", "unknown.test")).status).toBe(404);
      // A trusted proxy's chain is kept and extended.
      const viaLb = await raw(P.http, "GET /api HTTP/1.1\r\nHost: web.test\r\nX-Forwarded-For: 198.51.100.7\r\nConnection: close\r\n\r\n", "127.0.0.2");
      expect(viaLb).toContain("200 OK");
      expect(seen.at(-1)!.xff).toBe("198.51.100.7, 127.0.0.2");
    });

    test("least outstanding over two replicas, keep-alive upstream reuse, chunked and POST bodies", async () => {
      const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
      const backends = new Set<string>();
      const all = await Promise.all(Array.from({ length: 40 }, () => get(P.http, "/", "web.test", agent)));
      for (const r of all) backends.add(r.backend!);
      expect(backends).toEqual(new Set(["webA", "webB"]));
      expect((await get(P.http, "/chunked", "web.test", agent)).body).toBe("part1-part2");
      const post = await raw(P.http, "POST /api/x HTTP/1.1\r\nHost: web.test\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello");
      expect(post).toContain("api:POST:/api/x:hello");
      const chunkedPost = await raw(P.http, "POST /api/y HTTP/1.1\r\nHost: web.test\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
      expect(chunkedPost).toContain("api:POST:/api/y:abc");
      // Pipelined requests on one connection are answered in order.
      const piped = await raw(P.http, "GET /api/1 HTTP/1.1\r\nHost: web.test\r\n\r\nGET /api/2 HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n");
      expect(piped.indexOf("/api/1")).toBeLessThan(piped.indexOf("/api/2"));
      agent.destroy();
    });

    test("smuggling attempts and garbage get 400 and a closed connection", async () => {
      expect(await raw(P.http, "POST / HTTP/1.1\r\nHost: web.test\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")).toStartWith("HTTP/1.1 400");
      expect(await raw(P.http, "\u0016\u0003\u0001garbage\r\n\r\n")).toStartWith("HTTP/1.1 400");
    });

    test("a port another socket holds is reported with the system's reason, not only 'failed to listen'", async () => {
      const holder = net.createServer();
      await new Promise<void>((r) => holder.listen(0, "127.0.0.1", () => r()));
      const held = portOf(holder);
      const other = new IngressServer({ bind: "127.0.0.1", trustedProxies: [], acceptProxyFrom: [], certs: new CertStore(), acmeChallenge: () => undefined, now: () => performance.now() });
      try {
        const yaml = `services:\n  web:\n    image: x\n    x-fizz:\n      ingress: [{host: a.test, port: ${held}, target: 80}]\n`;
        const problems = await other.apply({ table: buildRouteTable([{ id: "held", created: "1", project: project(yaml) }], true), backends: new Map() });
        expect(problems).toEqual([{ port: held, kind: "http", code: "EADDRINUSE", error: expect.stringContaining("EADDRINUSE") }]);
      } finally {
        other.close();
        holder.close();
      }
    });

    test("HTTP-01 challenges are answered on every HTTP port from the cluster's tokens", async () => {
      expect((await get(P.http, "/.well-known/acme-challenge/tok123", "anything.test")).body).toBe("tok123.thumb");
      expect((await get(P.http, "/.well-known/acme-challenge/nope", "anything.test")).status).toBe(404);
    });

    test("a refused replica is retried on another and ejected; no replica ready: requests wait, then 503", async () => {
      const k = targetKey(ref("web"), 80);
      const dead = net.createServer();
      await new Promise<void>((r) => dead.listen(0, "127.0.0.1", () => r()));
      const deadPort = portOf(dead);
      dead.close();
      specs.set(k, [up("web/1", portOf(webA)), up("web/9", deadPort)]);
      await ingress.apply({ table, backends: specs });
      const rs = await Promise.all(Array.from({ length: 10 }, () => get(P.http, "/", "web.test")));
      expect(rs.every((r) => r.status === 200 && r.backend === "webA")).toBe(true);
      const st = ingress.status().targets.find((t) => t.key === k)!;
      expect(st.replicas.find((r) => r.key === "web/9")!.ejected).toBe(true);
      // Nothing ready: the request waits, and is served once a replica appears.
      specs.set(k, [up("web/1", portOf(webA), "draining")]);
      await ingress.apply({ table, backends: specs });
      const pending = get(P.http, "/", "web.test");
      await new Promise((r) => setTimeout(r, 300));
      specs.set(k, [up("web/2", portOf(webB))]);
      await ingress.apply({ table, backends: specs });
      expect(await pending).toMatchObject({ status: 200, backend: "webB" });
      specs.set(k, []);
      await ingress.apply({ table, backends: specs });
      const t0 = performance.now();
      expect((await get(P.http, "/", "web.test")).status).toBe(503);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(2_500);
      specs.set(k, [up("web/1", portOf(webA)), up("web/2", portOf(webB))]);
      await ingress.apply({ table, backends: specs });
    });

    test("TCP: the opted-in backend gets PROXY v2 naming the client; a trusted LB's PROXY header is believed", async () => {
      pp.length = 0;
      expect(await raw(P.tcp, "ping", "127.0.0.5")).toBe("echo:ping");
      expect(pp[0]!.header).toMatchObject({ kind: "ok", header: { command: "proxy", transport: "tcp", source: { address: "127.0.0.5" }, destination: { address: "127.0.0.1", port: P.tcp } } });
      // From 127.0.0.3 (configured to send PROXY), the header's client is the one passed on.
      expect(await raw(P.tcp, "PROXY TCP4 203.0.113.9 127.0.0.1 5555 80\r\nhello", "127.0.0.3")).toBe("echo:hello");
      expect(pp[1]!.header).toMatchObject({ kind: "ok", header: { source: { address: "203.0.113.9", port: 5555 } } });
      // A peer that must send PROXY but does not is cut off.
      expect(await raw(P.tcp, "no header here\r\n", "127.0.0.3")).toBe("");
    });

    test("a published port carrying HTTP is proxied as HTTP (sniffed): the backend gets X-Forwarded-For", async () => {
      seen.length = 0;
      const r = await raw(P.pub, "GET /pub HTTP/1.1\r\nHost: anything\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: close\r\n\r\n", "127.0.0.9");
      expect(r).toContain("api:GET:/pub:");
      expect(seen.at(-1)!.xff).toBe("127.0.0.9");
    });

    test("UDP: a client's datagrams and the replies flow through one replica", async () => {
      const c = dgram.createSocket("udp4");
      const reply = await new Promise<string>((resolve) => {
        c.on("message", (m) => resolve(String(m)));
        c.send("q1", P.udp, "127.0.0.1");
      });
      c.close();
      expect(reply).toBe("udp:q1");
    });

    test("HTTPS by SNI with the store's certificate", async () => {
      const body = await new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: "127.0.0.1", port: P.https, servername: "web.test", ca: readFileSync(join(dir, "c.pem")) }, () => {
          s.write("GET /x HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n");
        });
        let out = "";
        s.on("data", (d) => (out += d));
        s.on("end", () => resolve(out));
        s.on("error", reject);
      });
      expect(body).toContain("200 OK");
      expect(seen.at(-1)!.proto).toBe("https");
      const unknown = await new Promise<string>((resolve) => {
        const s = tls.connect({ host: "127.0.0.1", port: P.https, servername: "other.test", rejectUnauthorized: false });
        s.on("error", (e) => resolve(String(e.message)));
        s.on("secureConnect", () => resolve("connected"));
      });
      expect(unknown).not.toBe("connected");
    });

    test("HTTPS from a trusted load balancer: its PROXY header (v1 or v2) names the client, even in one segment with the ClientHello", async () => {
      const { encodeProxyHeader } = await import("../../../core/ingress/proxy-protocol.ts");
      const { Duplex } = await import("node:stream");
      /** A TLS client over a socket from `from` whose first write carries `header` too (one segment). */
      const viaLb = (header: Uint8Array | undefined, from: string, servername = "web.test") =>
        new Promise<string>((resolve) => {
          const raw = net.connect({ host: "127.0.0.1", port: P.https, localAddress: from }, () => {
            let first = header !== undefined;
            const d = new Duplex({
              read() {},
              write(chunk: Buffer, _e, cb) {
                raw.write(first ? Buffer.concat([header!, chunk]) : chunk, cb);
                first = false;
              },
            });
            raw.on("data", (c) => d.push(c));
            raw.on("end", () => d.push(null));
            raw.on("close", () => d.destroy());
            const c = tls.connect({ socket: d as unknown as net.Socket, servername, ca: readFileSync(join(dir, "c.pem")) }, () => c.write("GET /lb HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n"));
            let out = "";
            c.on("data", (x) => (out += x));
            c.on("end", () => resolve(out));
            c.on("close", () => resolve(out));
            c.on("error", () => resolve(out));
          });
          raw.on("error", () => resolve(""));
          setTimeout(() => resolve("timeout"), 5000);
        });
      const client = { command: "proxy" as const, transport: "tcp" as const, source: { address: "203.0.113.9", port: 4444 }, destination: { address: "127.0.0.1", port: P.https } };
      for (const v of [1, 2] as const) {
        seen.length = 0;
        expect(await viaLb(encodeProxyHeader(v, client), "127.0.0.3")).toContain("200 OK");
        expect(seen.at(-1)).toMatchObject({ xff: "203.0.113.9", proto: "https" });
      }
      // The load balancer must send the header; a name no certificate covers gets no handshake.
      expect(await viaLb(undefined, "127.0.0.3")).not.toContain("200 OK");
      expect(await viaLb(encodeProxyHeader(1, client), "127.0.0.3", "other.test")).not.toContain("200 OK");
      // Anyone else talks TLS directly (a header from them is not believed: it breaks their handshake).
      expect(await viaLb(undefined, "127.0.0.1")).toContain("200 OK");
      expect(await viaLb(encodeProxyHeader(1, client), "127.0.0.1")).not.toContain("200 OK");
    });
  });
}
