import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/index.ts";
import { orderOwner } from "../../../core/ingress/acme-plan.ts";
import { buildRouteTable } from "../../../core/ingress/routes.ts";
import { tlsHosts, tlsPlan } from "../../../core/ingress/tls-plan.ts";
import type { CertRecord, IngressRecord } from "../../../core/state/index.ts";

const yaml = `services:
  web:
    image: x
    x-fizz:
      ingress:
        - {host: shop.test, tls: true, target: 80}
        - {hosts: [a.test, "*.wild.test"], path: /a, tls: true, target: 80}
  plain:
    image: x
    x-fizz:
      ingress: [{host: plain.test, target: 80}]
  any:
    image: x
    x-fizz:
      ingress: [{port: 8443, tls: true, tls_port: 9443, target: 80}]
`;
const project = loadProject({ cwd: "/w/p", projectName: "p", env: {}, reader: { read: (f) => (f === "/w/p/compose.yaml" ? yaml : undefined) } }).project!;
const table = buildRouteTable([{ id: "p", created: "1", project }], true);
const DAY = 86_400_000;
const NOW = 1_000 * DAY;
const nodes = ["n1", "n2", "n3"];
const cert = (names: string[], notAfter: number, notBefore = notAfter - 90 * DAY): CertRecord => ({ kind: "cert", names, chain: "x", key: { kid: "k", box: "AA==" }, notBefore, notAfter, by: "n1", directory: null });

describe("TLS plan", () => {
  test("the hosts of TLS routes; a TLS route for any host has no name to certify", () => {
    expect(tlsHosts(table)).toEqual({ hosts: ["*.wild.test", "a.test", "shop.test"], hostless: [9443] });
  });

  test("exactly one node orders each missing name; the others say who does", () => {
    const plans = nodes.map((self) => tlsPlan({ table, records: [], self, alive: nodes, now: NOW, directory: "https://ca/dir" }));
    for (const d of ["a.test", "shop.test"]) {
      const orderers = plans.filter((p) => p.orders.some((o) => o.domain === d));
      expect(orderers.length).toBe(1);
      const owner = orderOwner(d, nodes)!;
      for (const [i, p] of plans.entries()) {
        const s = p.domains.find((x) => x.domain === d)!;
        expect(s.owner).toBe(owner);
        expect(s.state).toBe(nodes[i] === owner ? "ordering" : "elsewhere");
      }
    }
    expect(plans[0]!.domains.find((d) => d.domain === "*.wild.test")!.state).toBe("wildcard");
  });

  test("a user's certificate covers names (wildcards one label deep) and stops ACME for them", () => {
    const records: [string, IngressRecord][] = [["user/mine", cert(["*.wild.test", "shop.test"], NOW + 30 * DAY)]];
    for (const self of nodes) {
      const p = tlsPlan({ table, records, self, alive: nodes, now: NOW, directory: "https://ca/dir" });
      expect(p.orders.map((o) => o.domain).filter((d) => d !== "a.test")).toEqual([]);
      expect(p.domains.find((d) => d.domain === "shop.test")).toMatchObject({ state: "user", servedBy: "user/mine" });
      expect(p.domains.find((d) => d.domain === "*.wild.test")).toMatchObject({ state: "user" });
    }
    // An expired one covers nothing.
    const expired: [string, IngressRecord][] = [["user/mine", cert(["shop.test"], NOW - 1)]];
    const owner = orderOwner("shop.test", nodes)!;
    expect(tlsPlan({ table, records: expired, self: owner, alive: nodes, now: NOW, directory: "https://ca/dir" }).orders.map((o) => o.domain)).toContain("shop.test");
  });

  test("valid ACME certificates wait for renewal at two thirds; failures back off and say why everywhere", () => {
    const owner = orderOwner("shop.test", nodes)!;
    const other = nodes.find((n) => n !== owner)!;
    const valid: [string, IngressRecord][] = [["acme/shop.test", cert(["shop.test"], NOW + 60 * DAY)]];
    const p = tlsPlan({ table, records: valid, self: owner, alive: nodes, now: NOW, directory: "https://ca/dir" });
    expect(p.orders.map((o) => o.domain)).not.toContain("shop.test");
    expect(p.domains.find((d) => d.domain === "shop.test")).toMatchObject({ state: "valid", servedBy: "acme/shop.test" });
    const due: [string, IngressRecord][] = [["acme/shop.test", cert(["shop.test"], NOW + 29 * DAY)]];
    expect(tlsPlan({ table, records: due, self: owner, alive: nodes, now: NOW, directory: "https://ca/dir" }).orders).toContainEqual({ domain: "shop.test", why: "renewal" });
    const failed: [string, IngressRecord][] = [["order/shop.test", { kind: "failure", at: NOW - 1000, failures: 2, error: "ECONNREFUSED", by: owner }]];
    const f = tlsPlan({ table, records: failed, self: owner, alive: nodes, now: NOW, directory: "https://ca/dir" });
    expect(f.orders.map((o) => o.domain)).not.toContain("shop.test");
    expect(f.domains.find((d) => d.domain === "shop.test")!.why).toContain("ECONNREFUSED");
    expect(tlsPlan({ table, records: failed, self: other, alive: nodes, now: NOW, directory: "https://ca/dir" }).domains.find((d) => d.domain === "shop.test")).toMatchObject({ state: "failed" });
    // After the backoff (2 failures: 2 minutes) the owner tries again.
    expect(tlsPlan({ table, records: failed, self: owner, alive: nodes, now: NOW + 2 * 60_000, directory: "https://ca/dir" }).orders.map((o) => o.domain)).toContain("shop.test");
  });

  test("no directory: nothing is ordered, and each host says why; expired tokens and stale notes are tidied", () => {
    const records: [string, IngressRecord][] = [
      ["token/old", { kind: "token", domain: "shop.test", keyAuthorization: "k", expires: NOW - 1 }],
      ["token/new", { kind: "token", domain: "shop.test", keyAuthorization: "k", expires: NOW + 1 }],
      ["acme/gone.test", cert(["gone.test"], NOW - 1)],
      ["acme/kept.test", cert(["kept.test"], NOW + DAY)],
      ["order/gone.test", { kind: "failure", at: 1, failures: 1, error: "x", by: "n1" }],
    ];
    const p = tlsPlan({ table, records, self: "n1", alive: nodes, now: NOW, directory: "" });
    expect(p.orders).toEqual([]);
    expect(p.domains.find((d) => d.domain === "shop.test")).toMatchObject({ state: "no-directory", why: expect.stringContaining("ingress.acme.directory") });
    expect([...p.tidy].sort()).toEqual(["acme/gone.test", "order/gone.test", "token/old"]);
  });
});
