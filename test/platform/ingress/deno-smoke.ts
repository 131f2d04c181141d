/**
 * The ingress data path outside bun:test, for Deno (node:net sockets there):
 * `deno run -A test/platform/ingress/deno-smoke.ts <cert.pem> <key.pem>`
 * (also runs under Bun). An HTTP route with the client in X-Forwarded-For,
 * HTTPS by SNI, and HTTPS from a load balancer whose PROXY header arrives in
 * one segment with the ClientHello. Prints one line per check; exits non-zero
 * on any failure.
 */
import http from "node:http";
import net from "node:net";
import { Duplex } from "node:stream";
import tls from "node:tls";
import { readFileSync } from "node:fs";
import { parseCidr } from "../../../core/ingress/address.ts";
import { encodeProxyHeader } from "../../../core/ingress/proxy-protocol.ts";
import { buildRouteTable } from "../../../core/ingress/routes.ts";
import { loadProject } from "../../../core/compose/index.ts";
import { CertStore } from "../../../platform/ingress/certs.ts";
import { IngressServer, targetKey } from "../../../platform/ingress/server.ts";

const [certFile, keyFile] = process.argv.slice(2);
if (!certFile || !keyFile) throw new Error("usage: deno-smoke.ts <cert.pem> <key.pem> (a certificate for web.test)");
const cert = readFileSync(certFile, "utf8");
const failures: string[] = [];
const check = (name: string, ok: boolean, got: string) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${name}${ok ? "" : `: ${got.slice(0, 200)}`}`);
  if (!ok) failures.push(name);
};
const free = async () => {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  const p = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return p;
};

const seen: string[] = [];
const backend = http.createServer((req, res) => {
  seen.push(`${req.headers["x-forwarded-for"]} ${req.headers["x-forwarded-proto"]}`);
  res.end(`hello ${req.url}`);
});
await new Promise<void>((r) => backend.listen(0, "127.0.0.1", () => r()));
const [httpPort, httpsPort] = [await free(), await free()];
const yaml = `services:\n  web:\n    image: x\n    x-fizz:\n      ingress: [{host: web.test, port: ${httpPort}, target: 80, tls: true, tls_port: ${httpsPort}}]\n`;
const project = loadProject({ cwd: "/w/shop", projectName: "shop", env: {}, reader: { read: (f) => (f === "/w/shop/compose.yaml" ? yaml : undefined) } }).project!;
const certs = new CertStore();
certs.put("web.test", cert, readFileSync(keyFile, "utf8"));
const ingress = new IngressServer({ bind: "127.0.0.1", trustedProxies: [], acceptProxyFrom: [parseCidr("127.0.0.3")!], certs, acmeChallenge: () => undefined, now: () => performance.now() });
const ref = { deployment: "shop", project: "shop", service: "web" };
await ingress.apply({ table: buildRouteTable([{ id: "shop", created: "1", project }], true), backends: new Map([[targetKey(ref, 80), [{ key: "w", state: "ready" as const, target: { host: "127.0.0.1", port: (backend.address() as net.AddressInfo).port } }]]]) });

const plain = await new Promise<string>((resolve) => {
  http.get({ host: "127.0.0.1", port: httpPort, path: "/p", headers: { host: "web.test" }, agent: false }, (res) => {
    let b = "";
    res.on("data", (d) => (b += d));
    res.on("end", () => resolve(b));
  }).on("error", (e) => resolve(String(e)));
});
check("HTTP route, client address forwarded", plain === "hello /p" && seen.at(-1) === "127.0.0.1 http", `${plain} / ${seen.at(-1)}`);

function https(from: string, header?: Uint8Array): Promise<string> {
  return new Promise((resolve) => {
    const raw = net.connect({ host: "127.0.0.1", port: httpsPort, localAddress: from }, () => {
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
      const c = tls.connect({ socket: d as unknown as net.Socket, servername: "web.test", ca: cert }, () => c.write("GET /s HTTP/1.1\r\nHost: web.test\r\nConnection: close\r\n\r\n"));
      let out = "";
      c.on("data", (x) => (out += x));
      c.on("end", () => resolve(out));
      c.on("error", (e) => resolve(`${out} ${e}`));
    });
    raw.on("error", (e) => resolve(String(e)));
    setTimeout(() => resolve("timeout"), 5000);
  });
}
const direct = await https("127.0.0.1");
check("HTTPS by SNI", direct.includes("hello /s") && seen.at(-1) === "127.0.0.1 https", `${direct} / ${seen.at(-1)}`);
const viaLb = await https("127.0.0.3", encodeProxyHeader(2, { command: "proxy", transport: "tcp", source: { address: "203.0.113.9", port: 1 }, destination: { address: "127.0.0.1", port: httpsPort } }));
check("HTTPS from a load balancer with PROXY v2 in one segment with the ClientHello", viaLb.includes("hello /s") && seen.at(-1) === "203.0.113.9 https", `${viaLb} / ${seen.at(-1)}`);

ingress.close();
backend.close();
if (failures.length) {
  console.error(`${failures.length} check(s) failed`);
  process.exit(1);
}
process.exit(0);
