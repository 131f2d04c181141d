// The route table every node computes, conflicts named at both places,
// balancing, drain and ACME ownership decisions.
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { loadProject, type Project } from "../../../core/compose/index.ts";
import { certAction, certCovers, orderOwner, renewAt } from "../../../core/ingress/acme-plan.ts";
import { Balancer } from "../../../core/ingress/balancer.ts";
import { deploymentConflicts } from "../../../core/ingress/conflicts.ts";
import { drainState, replicaRole } from "../../../core/ingress/drain.ts";
import { buildRouteTable, matchHttpRoute, pathMatches } from "../../../core/ingress/routes.ts";

function load(yaml: string, name = "p"): { project: Project; errors: string[] } {
  const r = loadProject({ cwd: `/w/${name}`, projectName: name, env: {}, reader: { read: (f) => (f === `/w/${name}/compose.yaml` ? yaml : undefined) } });
  const errors = r.diagnostics.filter((d) => d.severity === "error").map((d) => `${d.line}:${d.column}: ${d.path}: ${d.message}`);
  return { project: r.project!, errors };
}

const SHOP = `
services:
  web:
    image: nginx
    ports: ["8080:80", "9000:9000/udp", {target: 22, published: "2222", mode: host}]
    x-fizz:
      ingress:
        - {host: shop.example.com, target: 80, tls: true}
        - {host: shop.example.com, path: /api, target: 81}
        - {port: 5432, target: 5432, protocol: tcp, proxy_protocol: 2}
  blog:
    image: nginx
    x-fizz:
      ingress: [{hosts: [blog.example.com, "*.blog.example.com"], target: 80}, {target: 8000, path: /}]
`;

describe("route table", () => {
  test("published ports, tcp and http ingress; mode: host stays node-local", () => {
    const { project, errors } = load(SHOP, "shop");
    expect(errors).toEqual([]);
    const t = buildRouteTable([{ id: "shop", created: "1", project }], true);
    expect(t.conflicts).toEqual([]);
    expect(t.l4.map((r) => `${r.port}/${r.kind}->${r.service.service}:${r.target}${r.proxyProtocol ? ` pp${r.proxyProtocol}` : ""}`)).toEqual(["5432/tcp->web:5432 pp2", "8080/tcp->web:80", "9000/udp->web:9000"]);
    expect(t.http.map((l) => `${l.port}${l.tls ? "s" : ""}`)).toEqual(["80", "443s"]);
    const routes = t.http[0]!.routes;
    const to = (host: string, path: string) => matchHttpRoute(routes, host, path)?.service.service + ":" + matchHttpRoute(routes, host, path)?.target;
    expect(to("shop.example.com", "/api/orders")).toBe("web:81");
    expect(to("SHOP.example.com:80", "/apix")).toBe("web:80");
    expect(to("blog.example.com", "/")).toBe("blog:80");
    expect(to("x.blog.example.com", "/a")).toBe("blog:80");
    expect(to("other.org", "/")).toBe("blog:8000");
    // Single node: published ports stay the engine's.
    expect(buildRouteTable([{ id: "shop", created: "1", project }], false).l4.map((r) => r.port)).toEqual([5432]);
  });
  test("path prefixes match on segment boundaries", () => {
    expect(pathMatches("/api", "/api")).toBe(true);
    expect(pathMatches("/api", "/api/x")).toBe(true);
    expect(pathMatches("/api", "/api?x")).toBe(true);
    expect(pathMatches("/api", "/apix")).toBe(false);
    expect(pathMatches("/api/", "/api/x")).toBe(true);
  });
  test("two projects claiming a host+path or a port: the first keeps it on every node, both named", () => {
    const a = load(`services:\n  web:\n    image: x\n    ports: ["8080:80"]\n    x-fizz: {ingress: {host: a.example.com, target: 80}}\n`, "a").project;
    const b = load(`services:\n  api:\n    image: x\n    ports: ["8080:80"]\n    x-fizz: {ingress: {host: a.example.com, target: 80}}\n`, "b").project;
    const t1 = buildRouteTable([{ id: "a", created: "1", project: a }, { id: "b", created: "2", project: b }], true);
    const t2 = buildRouteTable([{ id: "b", created: "2", project: b }, { id: "a", created: "1", project: a }], true);
    expect(t1).toEqual(t2);
    expect(t1.l4.map((r) => r.service.deployment)).toEqual(["a"]);
    expect(t1.conflicts).toHaveLength(2);
    const reports = deploymentConflicts([{ id: "a", created: "1", project: a }], "b", b, true);
    expect(reports.map((r) => r.message)).toEqual([
      "port 8080/tcp is already claimed by services.web.ports[0] of project a",
      "host and path a.example.com/ on port 80 is already claimed by services.web.x-fizz.ingress[0] of project a",
    ]);
    expect(reports.map((r) => r.path.join("."))).toEqual(["services.api.ports.0", "services.api.x-fizz.ingress.0"]);
    // Re-deploying the same project is not a conflict with itself.
    expect(deploymentConflicts([{ id: "a", created: "1", project: a }], "a", a, true)).toEqual([]);
  });
  test("fizz validate names both places inside one project", () => {
    const { errors } = load(`services:
  a:
    image: x
    ports: ["5432:5432"]
    x-fizz: {ingress: [{host: s.example.com, target: 80}]}
  b:
    image: x
    x-fizz:
      ingress:
        - {host: s.example.com, target: 80}
        - {port: 5432, target: 1, protocol: tcp}
        - {port: 80, target: 1, protocol: tcp}
`);
    expect(errors).toEqual([
      "10:11: services.b.x-fizz.ingress[0]: host and path s.example.com/ on port 80 is already claimed by services.a.x-fizz.ingress[0]",
      "11:11: services.b.x-fizz.ingress[1]: port 5432/tcp is already claimed by services.a.ports[0]",
      "12:11: services.b.x-fizz.ingress[2]: port 80/tcp is already claimed by services.a.x-fizz.ingress[0]",
    ]);
  });
  test("bad x-fizz.ingress values are located errors", () => {
    const { errors } = load(`services:
  a:
    image: x
    x-fizz:
      ingress:
        - {host: "Shop Example", target: 80, proxy_protocol: 2}
        - {protocol: tcp, target: 1}
        - {port: 70000, target: 1, protocol: tcp, path: /x}
`);
    expect(errors.map((e) => e.replace(/^\d+:\d+: /, ""))).toEqual([
      'services.a.x-fizz.ingress[0].host: "Shop Example" is not a host name',
      "services.a.x-fizz.ingress[0].proxy_protocol: proxy_protocol applies to tcp ingress only (HTTP backends get X-Forwarded-For and Forwarded)",
      "services.a.x-fizz.ingress[1].port: a tcp ingress needs a port",
      "services.a.x-fizz.ingress[2].port: port 70000 is not a port (1-65535)",
      "services.a.x-fizz.ingress[2].path: path applies to http ingress only",
    ]);
  });
});

describe("balancer", () => {
  const specs = (n: number, draining: number[] = []) => Array.from({ length: n }, (_, i) => ({ key: `r${i}`, state: draining.includes(i) ? ("draining" as const) : ("ready" as const), target: i }));
  test("least outstanding requests; ties rotate", () => {
    const b = new Balancer<number>();
    b.setBackends(specs(3));
    const first = [b.pick(0)!, b.pick(0)!, b.pick(0)!].map((x) => x.key);
    expect(new Set(first).size).toBe(3);
    const busy = b.get("r0")!;
    b.start(busy);
    b.start(busy);
    b.start(b.get("r1")!);
    for (let i = 0; i < 5; i++) expect(b.pick(0)!.key).toBe("r2");
  });
  test("never picks a draining, excluded or (while others exist) ejected replica", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(fc.integer({ min: 0, max: 5 })), fc.array(fc.integer({ min: 0, max: 5 })), fc.array(fc.integer({ min: 0, max: 5 })), (n, dr, ex, ej) => {
        const b = new Balancer<number>();
        b.setBackends(specs(n, dr));
        for (const e of ej) if (b.get(`r${e}`)) b.finish(b.get(`r${e}`)!, "refused", 0);
        const exclude = ex.map((e) => `r${e}`);
        const p = b.pick(1, exclude);
        const eligible = specs(n, dr).filter((s) => s.state === "ready" && !exclude.includes(s.key));
        if (eligible.length === 0) return p === undefined;
        if (!p) return false;
        if (p.state !== "ready" || exclude.includes(p.key)) return false;
        const healthy = eligible.filter((s) => !ej.includes(s.target));
        return healthy.length === 0 || !ej.includes(p.target);
      }),
    );
  });
  test("ejection: refused at once, failures after 3 in a row, back after the period, doubling", () => {
    const b = new Balancer<number>({ failuresToEject: 3, ejectBaseMs: 1000, ejectMaxMs: 10_000 });
    b.setBackends(specs(2));
    const r0 = b.get("r0")!;
    b.finish(r0, "failed", 0);
    b.finish(r0, "failed", 0);
    expect(b.available(0)).toBe(2);
    b.finish(r0, "failed", 0);
    expect(b.available(1)).toBe(1);
    expect(b.available(1001)).toBe(2);
    b.finish(r0, "refused", 1001);
    expect(r0.ejectedUntil).toBe(3001);
    b.finish(r0, "ok", 3002);
    expect(r0.ejections).toBe(0);
  });
  test("a removed replica with requests in flight is kept (draining) until they finish", () => {
    const b = new Balancer<number>();
    b.setBackends(specs(2));
    const r1 = b.get("r1")!;
    b.start(r1);
    b.setBackends(specs(1));
    expect(b.get("r1")?.state).toBe("draining");
    expect(b.outstanding("r1")).toBe(1);
    for (let i = 0; i < 4; i++) expect(b.pick(0)!.key).toBe("r0");
    b.finish(r1, "ok", 0);
    expect(b.get("r1")).toBeUndefined();
  });
});

describe("drain", () => {
  test("replica roles", () => {
    const r = { status: "running" as const, health: "none" as const, draining: false, nodeAlive: true };
    expect(replicaRole(r)).toBe("ready");
    expect(replicaRole({ ...r, health: "starting" })).toBe("out");
    expect(replicaRole({ ...r, status: "healthy", health: "healthy" })).toBe("ready");
    expect(replicaRole({ ...r, draining: true })).toBe("draining");
    expect(replicaRole({ ...r, nodeAlive: false })).toBe("out");
    expect(replicaRole({ ...r, status: "stopped" })).toBe("out");
  });
  test("waits for the mark to spread and in-flight requests, bounded", () => {
    const p = { settleMs: 2000, timeoutMs: 10_000 };
    expect(drainState(0, 1000, 0, p)).toMatchObject({ kind: "wait", until: 2000 });
    expect(drainState(0, 2000, 0, p)).toEqual({ kind: "done", why: "drained" });
    expect(drainState(0, 3000, 2, p)).toMatchObject({ kind: "wait", until: 10_000 });
    expect(drainState(0, 10_000, 2, p)).toEqual({ kind: "done", why: "timeout" });
  });
});

describe("ACME ownership", () => {
  test("one owner per domain, the same on every node; a leaving node moves only its own domains", () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.string({ minLength: 1, maxLength: 8 }), { minLength: 2, maxLength: 8 }), fc.array(fc.domain(), { minLength: 1, maxLength: 20 }), (nodes, domains) => {
        const before = new Map(domains.map((d) => [d, orderOwner(d, nodes)]));
        const shuffled = [...nodes].reverse();
        if (domains.some((d) => orderOwner(d, shuffled) !== before.get(d))) return false;
        const gone = nodes[0]!;
        const rest = nodes.slice(1);
        return domains.every((d) => before.get(d) === gone || orderOwner(d, rest) === before.get(d));
      }),
    );
  });
  test("order, renew at two thirds, back off after failures", () => {
    const day = 86_400_000;
    const owner = orderOwner("a.example.com", ["n1", "n2"])!;
    const other = owner === "n1" ? "n2" : "n1";
    const base = { domain: "a.example.com", cert: undefined, userProvided: false, lastFailure: undefined };
    expect(certAction(base, owner, ["n1", "n2"], 0)).toEqual({ kind: "order", why: "missing" });
    expect(certAction(base, other, ["n1", "n2"], 0).kind).toBe("none");
    const cert = { notBefore: 0, notAfter: 90 * day };
    expect(renewAt(cert)).toBe(60 * day);
    expect(certAction({ ...base, cert }, owner, ["n1", "n2"], 59 * day).kind).toBe("wait");
    expect(certAction({ ...base, cert }, owner, ["n1", "n2"], 60 * day)).toEqual({ kind: "order", why: "renewal" });
    const failed = { ...base, lastFailure: { at: 1000, failures: 3, error: "connect ECONNREFUSED" } };
    expect(certAction(failed, owner, ["n1", "n2"], 2000)).toMatchObject({ kind: "wait", until: 1000 + 4 * 60_000 });
    expect(certAction(failed, owner, ["n1", "n2"], 1000 + 4 * 60_000).kind).toBe("order");
    expect(certAction({ ...base, userProvided: true }, owner, ["n1"], 0).kind).toBe("none");
    expect(certCovers(["*.example.com"], "a.example.com")).toBe(true);
    expect(certCovers(["*.example.com"], "a.b.example.com")).toBe(false);
  });
});
