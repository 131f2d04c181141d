import { describe, expect, test } from "bun:test";
import { encodeHlc } from "../../../core/crdt/index.ts";
import { emptyState, putDeployment, recordContainer, type ClusterState } from "../../../core/state/index.ts";
import { decodeState, encodeState } from "../../../core/state/codec.ts";
import { parseIp } from "../../../core/net/cidr.ts";
import { buildDnsTable, lookupName } from "../../../core/net/dns-records.ts";
import { dnsEndpointsFromState } from "../../../core/net/dns-from-state.ts";

let wall = 1;
const ts = () => ({ wall: wall++, logical: 0, node: "n1" });

function state(): ClusterState {
  let s = emptyState();
  const spec = { name: "shop", services: { api: { networks: { default: { aliases: ["backend"] } }, expose: ["8080"], ports: [] }, db: { networks: { default: null }, ports: [{ target: 5432 }] } } };
  const d = putDeployment(s, ts(), "shop", "shop", spec);
  if (!d.ok) throw d.error;
  s = d.state;
  const rec = (service: string, index: number, nodeId: string, status: "running" | "healthy" | "unhealthy", ip: string) => {
    const r = recordContainer(s, ts(), { deploymentId: "shop", service, index, nodeId, status, containerId: "x", health: status === "running" ? "none" : status, addresses: { default: ip } });
    if (!r.ok) throw r.error;
    s = r.state;
  };
  rec("api", 0, "n1", "healthy", "10.208.4.20");
  rec("api", 1, "n2", "unhealthy", "10.208.4.37");
  rec("db", 0, "n3", "running", "10.208.4.52");
  return s;
}

describe("DNS endpoints from the replicated state", () => {
  test("names, aliases, ports and readiness come from records and the deployment spec, across nodes", () => {
    const s = state();
    // The addresses survive the store/wire codec.
    const round = decodeState(encodeState(s));
    expect(round.ok).toBe(true);
    const eps = dnsEndpointsFromState(round.ok ? round.value : s);
    const t = buildDnsTable(eps);
    const asker = parseIp("10.208.4.52")!;
    const api = lookupName(t, "api", asker);
    expect(api.kind === "found" && api.records.map((r) => r.containerName)).toEqual(["shop-api-1"]);
    expect(api.kind === "found" && api.records[0]!.port).toBe(8080);
    const alias = lookupName(t, "backend", asker);
    // api-2 carries the alias too, but is unhealthy: only api-1 answers.
    expect(alias.kind === "found" && alias.records.map((r) => r.containerName)).toEqual(["shop-api-1"]);
    const db = lookupName(t, "db.shop", undefined);
    expect(db.kind === "found" && db.records[0]!.port).toBe(5432);
  });

  test("the records of a dead or departed node are not answered (its replicas are moving)", () => {
    const s = state();
    const asker = parseIp("10.208.4.52")!;
    expect(lookupName(buildDnsTable(dnsEndpointsFromState(s)), "api", asker)).toMatchObject({ kind: "found", records: [{ containerName: "shop-api-1" }] });
    const t = buildDnsTable(dnsEndpointsFromState(s, undefined, new Set(["n1"])));
    expect(lookupName(t, "api", asker)).toEqual({ kind: "found", records: [] });
    // Still known (PTR, scoping), just not answered.
    expect(lookupName(t, "db", parseIp("10.208.4.20"))).toMatchObject({ kind: "found", records: [{ containerName: "shop-db-1" }] });
  });

  test("a bad address in a record is refused by the decoder", () => {
    const s = state();
    const text = new TextDecoder().decode(encodeState(s)).replace("10.208.4.20", "10.208.4.300");
    expect(decodeState(text).ok).toBe(false);
  });
});
