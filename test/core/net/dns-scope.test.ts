import { describe, expect, test } from "bun:test";
import { cidr, parseIp } from "../../../core/net/cidr.ts";
import { buildDnsTable, lookupAddress, lookupName, type DnsEndpoint } from "../../../core/net/dns-records.ts";

const ip = (s: string) => parseIp(s)!;
const ep = (project: string, service: string, n: number, address: string): DnsEndpoint => ({
  project,
  service,
  containerName: `${project}-${service}-${n}`,
  ready: true,
  port: 80,
  networks: [{ network: "default", address: ip(address), aliases: [] }],
});

const table = buildDnsTable(
  [ep("shop", "api", 1, "10.208.4.20"), ep("blog", "db", 1, "10.208.9.20")],
  [
    { project: "shop", network: "default", subnet: cidr("10.208.4.0/24") },
    { project: "blog", network: "default", subnet: cidr("10.208.9.0/24") },
  ],
  new Set([ip("10.223.252.7")]),
);
const found = (name: string, asker: string | undefined) => {
  const r = lookupName(table, name, asker === undefined ? undefined : ip(asker));
  return r.kind === "found" ? r.records.map((x) => x.address) : r.kind;
};

describe("who asks decides what the resolver answers", () => {
  test("a container whose own record has not arrived yet is scoped to the network its address is on", () => {
    expect(found("api", "10.208.4.77")).toEqual([ip("10.208.4.20")]);
    expect(found("db", "10.208.4.77")).toBe("not-ours");
    expect(found("db.blog", "10.208.4.77")).toBe("not-ours");
    expect(lookupAddress(table, ip("10.208.9.20"), ip("10.208.4.77"))).toBeUndefined();
    expect(lookupAddress(table, ip("10.208.4.20"), ip("10.208.4.77"))).toBe("shop-api-1");
  });

  test("the node itself (loopback, its own addresses) sees qualified names only", () => {
    for (const a of ["127.0.0.1", "10.223.252.7"]) {
      expect(found("api.shop", a)).toEqual([ip("10.208.4.20")]);
      expect(found("api", a)).toBe("not-ours");
    }
  });

  test("a container on a network that does not span the cluster sees nothing of it", () => {
    expect(found("api.shop", "172.17.0.5")).toBe("not-ours");
    expect(found("shop-api-1", "172.17.0.5")).toBe("not-ours");
    expect(lookupAddress(table, ip("10.208.4.20"), ip("172.17.0.5"))).toBeUndefined();
  });
});
