/** fizz validate on networks that may span nodes: precise errors with file:line and the fix. */
import { describe, expect, test } from "bun:test";
import { loadProject, type LoadResult } from "../../../core/compose/load.ts";

function load(yaml: string): LoadResult {
  const files: Record<string, string> = { "/p/compose.yaml": yaml };
  return loadProject({ cwd: "/p", env: { HOME: "/home/u" }, reader: { read: (p) => files[p] } });
}
const diags = (r: LoadResult, code: string) => r.diagnostics.filter((d) => d.code === code);

describe("compose networks across nodes", () => {
  test("ipv4_address outside the subnet, on the gateway, or on a scaled service; overlapping subnets", () => {
    const r = load(`services:
  db:
    image: x
    networks:
      back:
        ipv4_address: 10.50.1.9
  api:
    image: x
    deploy: { replicas: 2 }
    networks:
      back:
        ipv4_address: 10.50.0.7
  gw:
    image: x
    networks:
      front:
        ipv4_address: 10.50.0.1
networks:
  back:
    ipam: { config: [{ subnet: 10.50.0.0/24 }] }
  front:
    ipam: { config: [{ subnet: 10.50.0.0/23 }] }
`);
    const outside = diags(r, "net.address_outside_subnet");
    expect(outside.length).toBe(1);
    expect(outside[0]!.message).toContain("ipv4_address 10.50.1.9 of service db is outside network back's subnet 10.50.0.0/24");
    expect([outside[0]!.file, outside[0]!.line]).toEqual(["/p/compose.yaml", 6]);
    expect(diags(r, "net.address_in_use")[0]!.message).toContain("service api has 2 replicas but one ipv4_address");
    expect(diags(r, "net.address_reserved")[0]!.message).toContain("10.50.0.1 of service gw is the network, gateway or broadcast address");
    expect(diags(r, "net.subnet_overlap")[0]!.message).toBe("subnet 10.50.0.0/23 of network front overlaps 10.50.0.0/24 of network back");
  });

  test("a /31 or /32 subnet on a network Fizz spans is refused at its line; another driver's is the engine's business", () => {
    const r = load("services:\n  a:\n    image: x\n    networks: [tiny, mac]\nnetworks:\n  tiny:\n    ipam: { config: [{ subnet: 10.9.0.0/31 }] }\n  mac:\n    driver: macvlan\n    ipam: { config: [{ subnet: 10.9.1.0/32 }] }\n");
    const small = diags(r, "net.subnet_too_small");
    expect(small.length).toBe(1);
    expect(small[0]!.message).toContain("subnet 10.9.0.0/31 of network tiny is too small");
    expect(small[0]!.hint).toContain("/29 or larger");
    expect([small[0]!.file, small[0]!.line]).toEqual(["/p/compose.yaml", 7]);
    const ok = load("services:\n  a:\n    image: x\n    networks: [n]\nnetworks:\n  n:\n    ipam: { config: [{ subnet: 10.9.0.0/30 }] }\n");
    expect(diags(ok, "net.subnet_too_small")).toEqual([]);
  });

  test("an external network is warned about as node-local; a clean file has no network diagnostics", () => {
    const r = load("services:\n  a:\n    image: x\n    networks: [shared]\nnetworks:\n  shared:\n    external: true\n");
    expect(diags(r, "net.external_node_local").map((d) => d.severity)).toEqual(["warning"]);
    const ok = load("services:\n  a:\n    image: x\n    networks:\n      n:\n        ipv4_address: 10.9.0.5\nnetworks:\n  n:\n    ipam: { config: [{ subnet: 10.9.0.0/24 }] }\n");
    expect(ok.diagnostics.filter((d) => d.code.startsWith("net."))).toEqual([]);
  });
});
