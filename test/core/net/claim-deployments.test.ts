import { describe, expect, test } from "bun:test";
import { claimDeployments } from "../../../core/net/claim-deployments.ts";
import type { IpClaim } from "../../../core/state/index.ts";

const claim = (owner: string, released = false): IpClaim => ({ epoch: 0, owner, ts: "0000000000001:0000:n1", released });
const table: Record<string, IpClaim> = {
  "10.210.0.0/24": claim("net:shop/default"),
  "10.210.1.0/24": claim("net:blog/default"),
  "10.210.1.0/25": claim("net:late/default"),
  "10.210.0.0/28": claim("node:n1"),
  "10.210.1.16/28": claim("node:n2", true),
  "10.211.0.0/28": claim("node:n3"),
  "100.96.0.1": claim("node:n1"),
};

describe("claimDeployments", () => {
  test("a subnet claim concerns its deployment and those whose subnets it overlaps", () => {
    expect(claimDeployments(table, ["10.210.0.0/24"])).toEqual(["shop"]);
    expect(claimDeployments(table, ["10.210.1.0/25"])!.sort()).toEqual(["blog", "late"]);
  });

  test("a node's slice concerns the deployments whose subnets hold it, released or not", () => {
    expect(claimDeployments(table, ["10.210.0.0/28"])).toEqual(["shop"]);
    expect(claimDeployments(table, ["10.210.1.16/28"])!.sort()).toEqual(["blog", "late"]);
    expect(claimDeployments(table, ["10.210.0.0/28", "10.210.0.0/24"])).toEqual(["shop"]);
  });

  test("a claim no deployment accounts for concerns anything", () => {
    expect(claimDeployments(table, ["100.96.0.1"])).toBeUndefined();
    expect(claimDeployments(table, ["10.211.0.0/28"])).toBeUndefined();
    expect(claimDeployments(table, ["10.212.0.0/24"])).toBeUndefined();
    expect(claimDeployments(table, ["10.210.0.0/28", "100.96.0.1"])).toBeUndefined();
  });
});
