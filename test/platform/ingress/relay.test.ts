// The node-to-node relay on loopback: a member's connection naming a routed
// replica is spliced to it and counted per replica (what a drain waits on); a
// non-member or an unknown replica is refused. An ingress sending through the
// relay keeps its keep-alive connection pooled while the replica is ready,
// and once the replica is draining closes it after the exchange in flight
// (so the replica's node sees its relayed connections go to zero).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import http from "node:http";
import net from "node:net";
import { loadProject } from "../../../core/compose/index.ts";
import { relayTarget } from "../../../core/ingress/plan.ts";
import { buildRouteTable } from "../../../core/ingress/routes.ts";
import { CertStore } from "../../../platform/ingress/certs.ts";
import { Relay } from "../../../platform/ingress/relay.ts";
import { IngressServer, targetKey } from "../../../platform/ingress/server.ts";
import { connectUpstream } from "../../../platform/ingress/upstream-pool.ts";
import { freeTcpPorts, openOnFreePorts } from "./free-ports.ts";

async function until(what: string, f: () => boolean, ms = 5_000): Promise<void> {
  const stop = Date.now() + ms;
  while (!f()) {
    if (Date.now() > stop) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("relay", () => {
  let backend: http.Server;
  let backendConns = 0;
  /** Answers the /slow request the backend holds (set once it has arrived). */
  let answerSlow: (() => void) | undefined;
  let relay: Relay;
  let ingress: IngressServer;
  let httpPort = 0;
  const refused: string[] = [];

  beforeAll(async () => {
    backend = http.createServer((req, res) => {
      // /slow is held until the test answers it: in flight at the replica while the test changes the replica's state.
      if (req.url === "/slow") answerSlow = () => res.end(`hello ${req.url}`);
      else res.end(`hello ${req.url}`);
    });
    backend.keepAliveTimeout = 30_000;
    backend.on("connection", () => backendConns++);
    await new Promise<void>((r) => backend.listen(0, "127.0.0.1", () => r()));
    const backendPort = (backend.address() as net.AddressInfo).port;
    relay = await Relay.open({
      host: "127.0.0.1",
      port: 0,
      allowed: (a) => a === "127.0.0.1",
      resolve: (t) => (t.deployment === "shop" && t.service === "web" && t.index === 0 && t.port === 80 ? { host: "127.0.0.1", port: backendPort } : undefined),
      connectTimeoutMs: 1_000,
      refused: (peer, why) => refused.push(`${peer}: ${why}`),
    });
  });

  afterAll(() => {
    ingress?.close();
    relay?.close();
    backend?.close();
  });

  test("a member's connection to a routed replica is spliced and counted; others are refused", async () => {
    const c = await connectUpstream({ host: "127.0.0.1", port: relay.port, relay: relayTarget("shop", "web", 0, 80) }, 1_000);
    const answer = new Promise<string>((resolve) => {
      let out = "";
      c.setHandlers({ onData: (d) => (out += Buffer.from(d).toString()), onDrain() {}, onEnd: () => resolve(out), onClose: () => resolve(out) });
    });
    c.write(new TextEncoder().encode("GET /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n"));
    await until("the relayed connection is counted", () => relay.connectionsTo("shop/web/0") === 1);
    expect(await answer).toContain("hello /x");
    c.end();
    await until("the count drops when it closes", () => relay.connectionsTo("shop/web/0") === 0);
    // An unknown replica is refused (the connection closes without a byte).
    const bad = await connectUpstream({ host: "127.0.0.1", port: relay.port, relay: relayTarget("shop", "web", 7, 80) }, 1_000);
    await new Promise<void>((resolve) => bad.setHandlers({ onData() {}, onDrain() {}, onEnd() {}, onClose: () => resolve() }));
    expect(refused.at(-1)).toContain("no such replica routed here");
    // A peer that is not a member never gets as far as naming a replica.
    const stranger = net.connect({ host: "127.0.0.1", port: relay.port, localAddress: "127.0.0.2" });
    await new Promise((r) => stranger.on("close", r));
    expect(refused.at(-1)).toContain("127.0.0.2: not a cluster member");
  });

  test("through the ingress: pooled while ready; once draining, closed after the exchange in flight", async () => {
    const key = targetKey({ deployment: "shop", project: "shop", service: "web" }, 80);
    const spec = (state: "ready" | "draining") => new Map([[key, [{ key: "shop/web/0@other", state, target: { host: "127.0.0.1", port: relay.port, relay: relayTarget("shop", "web", 0, 80) } }]]]);
    let table!: ReturnType<typeof buildRouteTable>;
    const opened = await openOnFreePorts(
      async () => (await freeTcpPorts(1))[0]!,
      () => new IngressServer({ bind: "127.0.0.1", trustedProxies: [], acceptProxyFrom: [], certs: new CertStore(), acmeChallenge: () => undefined, now: () => performance.now() }),
      (port) => {
        const yaml = `services:\n  web:\n    image: x\n    x-fizz:\n      ingress: [{host: web.test, port: ${port}, target: 80}]\n`;
        const project = loadProject({ cwd: "/w/shop", projectName: "shop", env: {}, reader: { read: (f) => (f === "/w/shop/compose.yaml" ? yaml : undefined) } }).project!;
        table = buildRouteTable([{ id: "shop", created: "1", project }], true);
        return { table, backends: spec("ready") };
      },
    );
    ingress = opened.ingress;
    httpPort = opened.ports;
    const get = (path: string) =>
      new Promise<string>((resolve, reject) => {
        http.get({ host: "127.0.0.1", port: httpPort, path, headers: { host: "web.test" }, agent: false }, (res) => {
          let b = "";
          res.on("data", (d) => (b += d));
          res.on("end", () => resolve(b));
        }).on("error", reject);
      });
    const before = backendConns;
    expect(await get("/1")).toBe("hello /1");
    expect(await get("/2")).toBe("hello /2");
    // One upstream connection, kept between the two requests.
    expect(backendConns - before).toBe(1);
    expect(relay.connectionsTo("shop/web/0")).toBe(1);
    // A request in flight while the replica turns draining still completes; its connection is then closed.
    // (It must have reached the replica first: a fixed 100 ms wait lost that race under load, and the request, arriving
    // after the replica turned draining, waited for a ready one and got 503.)
    const slow = get("/slow");
    await until("the slow request is at the replica", () => answerSlow !== undefined);
    await ingress.apply({ table, backends: spec("draining") });
    answerSlow!();
    expect(await slow).toBe("hello /slow");
    await until("no relayed connection left", () => relay.connectionsTo("shop/web/0") === 0);
    // An idle pooled connection is closed as soon as its replica is draining.
    await ingress.apply({ table, backends: spec("ready") });
    expect(await get("/3")).toBe("hello /3");
    expect(relay.connectionsTo("shop/web/0")).toBe(1);
    await ingress.apply({ table, backends: spec("draining") });
    await until("the idle connection is closed", () => relay.connectionsTo("shop/web/0") === 0);
  });
});
