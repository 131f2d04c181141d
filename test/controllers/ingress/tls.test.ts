/**
 * The ingress's TLS records on one agent (real store, real ClusterAgent on
 * loopback, no ACME directory): a user's certificate is stored with its key
 * sealed, loaded into the node's CertStore and served by name, survives a
 * restart (the store), refused when the key does not match; a TLS host with
 * no certificate and no directory says why in one event; when the node
 * creates a cluster its certificate is carried in, sealed under the cluster
 * key.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { defaults, type AgentConfig } from "../../../core/agent-config/schema.ts";
import { loadProject } from "../../../core/compose/index.ts";
import { buildRouteTable } from "../../../core/ingress/routes.ts";
import { getIngressRecord, userCertKey } from "../../../core/state/index.ts";
import { ClusterAgent } from "../../../controllers/cluster/membership.ts";
import type { AgentContext } from "../../../controllers/context.ts";
import { IngressRecords } from "../../../controllers/ingress/records.ts";
import { TlsManager } from "../../../controllers/ingress/tls.ts";
import { CertStore } from "../../../platform/ingress/certs.ts";
import { createLogger } from "../../../platform/log.ts";
import { createMetrics } from "../../../platform/metrics.ts";
import { AgentStore, type NewEvent } from "../../../platform/store/index.ts";
import { systemClock } from "../../../platform/clock.ts";

const dir = mkdtempSync(join(tmpdir(), "fizz-ingress-tls-"));
const logger = createLogger({ level: "warn", format: "json", write: () => undefined });

function pair(name: string, cn: string): { cert: string; key: string } {
  const o = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  o(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", `${name}.key`, "-out", `${name}.pem`, "-days", "2", "-subj", `/CN=${cn}`, "-addext", `subjectAltName=DNS:${cn}`]);
  return { cert: readFileSync(join(dir, `${name}.pem`), "utf8"), key: readFileSync(join(dir, `${name}.key`), "utf8") };
}

const yaml = `services:\n  web:\n    image: x\n    x-fizz:\n      ingress: [{host: shop.test, tls: true, target: 80}, {host: other.test, tls: true, target: 80}]\n`;
const table = buildRouteTable([{ id: "p", created: "1", project: loadProject({ cwd: "/w/p", projectName: "p", env: {}, reader: { read: (f) => (f === "/w/p/compose.yaml" ? yaml : undefined) } }).project! }], true);

describe("ingress TLS records on one agent", () => {
  const base = defaults({ uid: 1000, env: {}, home: dir });
  const config: AgentConfig = { ...base, cluster: { ...base.cluster, bind: "127.0.0.1:0" } };
  const events: NewEvent[] = [];
  let store: AgentStore;
  let cluster: ClusterAgent;
  const ctxOf = (s: AgentStore): AgentContext => ({ config, node: s.nodeId(), fizzVersion: "test", store: s, events: { append: (e) => events.push(e) }, metrics: createMetrics({ processMetrics: false }), logger, notify: () => {}, clock: systemClock, now: () => systemClock.now() });
  let shop: { cert: string; key: string };
  const made: IngressRecords[] = [];
  const recordsOf = (ctx: AgentContext) => {
    const r = new IngressRecords(ctx.node, store, cluster, ctx.now);
    made.push(r);
    return r;
  };

  beforeAll(async () => {
    store = AgentStore.open(join(dir, "a.db"));
    cluster = new ClusterAgent({ config, store, nodeId: store.nodeId(), logger, env: { FIZZ_SWIM_PROFILE: "test" } });
    await cluster.resume();
    shop = pair("shop", "shop.test");
  });

  afterAll(async () => {
    // Pending persists write to the store: done before it closes.
    for (const r of made) r.flush();
    await cluster?.stop();
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a user's certificate: stored sealed, served by name, kept across a restart; a mismatched key is refused", () => {
    const certs = new CertStore();
    const ctx = ctxOf(store);
    const records = recordsOf(ctx);
    const tls = new TlsManager(ctx, records, certs, { wake: () => {} });
    const other = pair("other", "other.test");
    expect(() => tls.addUserCert("bad", shop.cert, other.key)).toThrow(/cannot be used/);
    expect(() => tls.addUserCert("../x", shop.cert, shop.key)).toThrow(/not a certificate name/);
    const v = tls.addUserCert("shop", shop.cert, shop.key);
    expect(v).toMatchObject({ id: "user/shop", source: "user", names: ["shop.test"] });
    const rec = records.get(userCertKey("shop"));
    expect(rec?.kind === "cert" && rec.key.box).not.toContain("PRIVATE");
    expect(JSON.stringify(rec)).not.toContain(shop.key.split("\n")[1]!);
    tls.pass(table, [ctx.node]);
    expect(certs.covers("shop.test")).toBe(true);
    expect(tls.status().domains.find((d) => d.domain === "shop.test")).toMatchObject({ state: "user", servedBy: "user/shop" });
    // No directory and no certificate: said once, in an event.
    expect(tls.status().domains.find((d) => d.domain === "other.test")).toMatchObject({ state: "no-directory" });
    tls.pass(table, [ctx.node]);
    expect(events.filter((e) => e.type === "ingress.tls_unavailable").map((e) => e.message)).toEqual([expect.stringContaining("TLS for other.test: no certificate")]);
    records.flush();
    // A restarted agent reads them back from the store and opens the key with its own key file.
    const again = new CertStore();
    const tls2 = new TlsManager(ctx, recordsOf(ctx), again, { wake: () => {} });
    tls2.pass(table, [ctx.node]);
    expect(again.covers("shop.test")).toBe(true);
    expect(tls2.certificates()).toEqual([expect.objectContaining({ id: "user/shop", loaded: true, problem: null })]);
    // Removed: no longer served after the next pass.
    expect(tls2.removeUserCert("shop")).toBe(true);
    expect(tls2.removeUserCert("shop")).toBe(false);
    tls2.pass(table, [ctx.node]);
    expect(again.covers("shop.test")).toBe(false);
  });

  test("an unreachable ACME directory: the order fails with the cause in an event, is backed off, and says why", async () => {
    const net = await import("node:net");
    const srv = net.createServer();
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
    const port = (srv.address() as { port: number }).port;
    await new Promise((r) => srv.close(r));
    const cfg: AgentConfig = { ...config, ingress: { ...config.ingress, acme: { ...config.ingress.acme, directory: `https://127.0.0.1:${port}/dir` } } };
    const ctx = { ...ctxOf(store), config: cfg };
    const records = recordsOf(ctx);
    let woken = 0;
    const tls = new TlsManager(ctx, records, new CertStore(), { wake: () => void woken++ });
    events.length = 0;
    tls.pass(table, [ctx.node]);
    expect(tls.status().ordering).not.toBeNull();
    const stop = Date.now() + 15_000;
    while (woken === 0 && Date.now() < stop) await new Promise((r) => setTimeout(r, 50));
    const failed = events.find((e) => e.type === "ingress.acme_failed");
    expect(failed?.message).toMatch(/no certificate for (shop|other)\.test \(attempt 1\); its route keeps serving HTTP: .*unreachable.*ECONNREFUSED/);
    tls.pass(table, [ctx.node]);
    tls.pass(table, [ctx.node]);
    // The other host is tried on the next pass; the failed one waits for its backoff.
    const states = tls.status().domains.map((d) => d.state).sort();
    expect(states).toContain("failed");
    expect(tls.status().domains.find((d) => d.state === "failed")!.why).toContain("next try at");
  }, 30_000);

  test("creating a cluster carries the node's certificates in, sealed under the cluster key", async () => {
    const ctx = ctxOf(store);
    const records = recordsOf(ctx);
    const tls = new TlsManager(ctx, records, new CertStore(), { wake: () => {} });
    tls.addUserCert("shop", shop.cert, shop.key);
    const localKid = (records.get(userCertKey("shop")) as { key: { kid: string } }).key.kid;
    expect(localKid).toBe("local");
    await cluster.init({});
    expect(records.adoptIntoCluster()).toEqual(["user/shop"]);
    const rec = getIngressRecord(cluster.current!.state, userCertKey("shop"));
    expect(rec?.kind).toBe("cert");
    const ring = cluster.currentKeyring!;
    expect((rec as { key: { kid: string } }).key.kid).toBe(ring.primary);
    const certs = new CertStore();
    new TlsManager(ctx, records, certs, { wake: () => {} }).pass(table, [ctx.node]);
    expect(certs.covers("shop.test")).toBe(true);
  });
});
