// ACME against Debian's pebble on loopback: an HTTP-01 order answered by the
// ingress's HTTP listener from a token map, the certificate served by the
// HTTPS listener and verified against pebble's root; an unreachable
// directory fails fast with the cause. pebble-challtestsrv answers pebble's
// DNS lookups with 127.0.0.1.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import https from "node:https";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { loadProject } from "../../../core/compose/index.ts";
import { buildRouteTable } from "../../../core/ingress/routes.ts";
import { createAccountKey, orderCertificate } from "../../../platform/ingress/acme.ts";
import { CertStore } from "../../../platform/ingress/certs.ts";
import { IngressServer } from "../../../platform/ingress/server.ts";

const have = (c: string) => spawnSync("sh", ["-c", `command -v ${c}`]).status === 0;
const ready = have("pebble") && have("pebble-challtestsrv") && have("openssl");
if (!ready && process.env.CI === "true") throw new Error("pebble, pebble-challtestsrv and openssl are needed (bash test/setup-engines.sh installs them)");

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<net.Server>((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => resolve(s));
  })));
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

function getText(url: string, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    https.get(url, { ca }, (res) => {
      let b = "";
      res.on("data", (d) => (b += d));
      res.on("end", () => resolve(b));
    }).on("error", reject);
  });
}

async function waitPort(port: number, ms: number): Promise<void> {
  const stop = Date.now() + ms;
  while (Date.now() < stop) {
    const ok = await new Promise<boolean>((r) => {
      const c = net.connect(port, "127.0.0.1", () => {
        c.destroy();
        r(true);
      });
      c.on("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on ${port} after ${ms} ms`);
}

describe.skipIf(!ready)("ACME with pebble", () => {
  const dir = mkdtempSync(join(tmpdir(), "fizz-acme-"));
  const procs: ChildProcess[] = [];
  const tokens = new Map<string, string>();
  let server: IngressServer;
  const certs = new CertStore();
  let P: { acme: number; mgmt: number; dns: number; chall: number; http: number; https: number; tlsAlpn: number };
  let tlsCa: string;

  beforeAll(async () => {
    const [a, b, c, d, e, f, g] = await freePorts(7);
    P = { acme: a!, mgmt: b!, dns: c!, chall: d!, http: e!, https: f!, tlsAlpn: g! };
    // pebble's own HTTPS certificate, from a throwaway CA.
    const o = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
    o(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=fizz test CA"]);
    o(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "pebble.key", "-out", "pebble.csr", "-subj", "/CN=localhost"]);
    writeFileSync(join(dir, "san.ext"), "subjectAltName=DNS:localhost,IP:127.0.0.1\n");
    o(["x509", "-req", "-in", "pebble.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-out", "pebble.pem", "-days", "2", "-extfile", "san.ext"]);
    tlsCa = readFileSync(join(dir, "ca.pem"), "utf8");
    writeFileSync(join(dir, "pebble.json"), JSON.stringify({ pebble: { listenAddress: `127.0.0.1:${P.acme}`, managementListenAddress: `127.0.0.1:${P.mgmt}`, certificate: join(dir, "pebble.pem"), privateKey: join(dir, "pebble.key"), httpPort: P.http, tlsPort: P.tlsAlpn, ocspResponderURL: "", externalAccountBindingRequired: false } }));
    const chall = spawn("pebble-challtestsrv", ["-defaultIPv4", "127.0.0.1", "-defaultIPv6", "", "-dns01", `127.0.0.1:${P.dns}`, "-http01", "", "-https01", "", "-tlsalpn01", "", "-management", `127.0.0.1:${P.chall}`], { stdio: "ignore" });
    procs.push(chall);
    const pebble = spawn("pebble", ["-config", join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${P.dns}`], { stdio: "ignore", env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" } });
    procs.push(pebble);
    await waitPort(P.acme, 15_000);
    await waitPort(P.chall, 15_000);
    const yaml = `services:\n  web:\n    image: x\n    x-fizz:\n      ingress: [{host: shop.test, port: ${P.http}, target: 80, tls: true, tls_port: ${P.https}}]\n`;
    const project = loadProject({ cwd: "/w/shop", projectName: "shop", env: {}, reader: { read: (f) => (f === "/w/shop/compose.yaml" ? yaml : undefined) } }).project!;
    server = new IngressServer({ bind: "127.0.0.1", trustedProxies: [], acceptProxyFrom: [], certs, acmeChallenge: (t) => tokens.get(t), now: () => performance.now() });
    expect(await server.apply({ table: buildRouteTable([{ id: "shop", created: "1", project }], true), backends: new Map() })).toEqual([]);
  }, 60_000);

  afterAll(() => {
    server?.close();
    for (const p of procs) p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  });

  test("a certificate is issued over HTTP-01 answered by the ingress, and served by SNI, verified against pebble's root", async () => {
    const accountKeyPem = await createAccountKey();
    const issued = await orderCertificate({
      directoryUrl: `https://127.0.0.1:${P.acme}/dir`,
      directoryCa: tlsCa,
      accountKeyPem,
      domain: "shop.test",
      publish: async (t, k) => void tokens.set(t, k),
      unpublish: async (t) => void tokens.delete(t),
      timeoutMs: 60_000,
    });
    expect(issued.certPem).toContain("BEGIN CERTIFICATE");
    expect(tokens.size).toBe(0); // withdrawn after the order
    const info = certs.put("shop.test", issued.certPem, issued.keyPem);
    expect(info.names).toEqual(["shop.test"]);
    const root = await getText(`https://127.0.0.1:${P.mgmt}/roots/0`, tlsCa);
    const authorized = await new Promise<boolean>((resolve, reject) => {
      const s = tls.connect({ host: "127.0.0.1", port: P.https, servername: "shop.test", ca: root }, () => {
        resolve(s.authorized);
        s.destroy();
      });
      s.on("error", reject);
    });
    expect(authorized).toBe(true);
  }, 90_000);

  test("an unreachable directory fails with the cause", async () => {
    const [dead] = await freePorts(1);
    const t0 = Date.now();
    const err = await orderCertificate({
      directoryUrl: `https://127.0.0.1:${dead}/dir`,
      accountKeyPem: await createAccountKey(),
      domain: "shop.test",
      publish: async () => {},
      unpublish: async () => {},
      timeoutMs: 20_000,
    }).then(() => undefined, (e: Error) => e.message);
    expect(err).toMatch(/ECONNREFUSED/);
    expect(err).toContain("shop.test");
    expect(Date.now() - t0).toBeLessThan(20_000);
  }, 30_000);
});
