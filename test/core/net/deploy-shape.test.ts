import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import type { Project } from "../../../core/compose/model.ts";
import { desiredProject } from "../../../core/deploy/desired.ts";
import { instantiate } from "../../../core/deploy/container-spec.ts";
import { encodeHlc, type Dict } from "../../../core/crdt/index.ts";
import type { IpClaim } from "../../../core/state/schema.ts";
import { assignAddresses } from "../../../core/net/assign.ts";
import { cidr, containsIp, parseIp } from "../../../core/net/cidr.ts";
import { slicesOf } from "../../../core/net/claims.ts";
import { addressWants, CLUSTER_SUBNET_LABEL, shapeDeployment, spanningNetworks } from "../../../core/net/deploy-shape.ts";
import { defaultIpamConfig } from "../../../core/net/ipam-config.ts";
import type { ActualContainer } from "../../../core/reconcile/types.ts";

function load(text: string): Project {
  const r = loadProject({ cwd: "/p", projectName: "shop", env: {}, reader: { read: (p) => (p === "/p/compose.yaml" ? text : undefined) } });
  const errors = r.diagnostics.filter((d) => d.severity === "error");
  if (!r.project || errors.length > 0) throw new Error(JSON.stringify(r.diagnostics));
  return r.project;
}

const FILE = `
services:
  web:
    image: busybox
    deploy: { replicas: 3 }
    networks: { front: { aliases: [www] }, back: {} }
    dns: [9.9.9.9]
  db:
    image: busybox
    networks:
      back: { ipv4_address: 10.40.0.10 }
  tool:
    image: busybox
    network_mode: none
  legacy:
    image: busybox
    networks: [old]
networks:
  front: {}
  back:
    ipam: { config: [{ subnet: 10.40.0.0/24 }] }
  old: {}
  outside: { external: true }
`;

const cfg = defaultIpamConfig();
let tick = 0;
const stamp = () => encodeHlc({ wall: 1_000 + tick++, logical: 0, node: "a" });

function setup(share: Record<string, number[]>, running: ActualContainer[] = [], table: Dict<IpClaim> = Object.create(null)) {
  const { desired } = desiredProject(load(FILE), { share: Object.fromEntries(Object.entries(share).map(([k, v]) => [k, { numbers: v }])) });
  const actual = { containers: running, networks: [{ name: "shop_old", subnet: "172.20.0.0/16" }] };
  const span = spanningNetworks(desired, actual);
  const wants = addressWants("shop", desired, actual, span.spanning);
  const assigned = assignAddresses(table, cfg, "a", wants, stamp);
  return { desired, span, wants, assigned, table: { ...table, ...assigned.writes } as Dict<IpClaim> };
}

describe("a deployment shaped for the mesh", () => {
  test("which networks span: bridge networks Fizz makes; not external ones, nor one that exists with another shape", () => {
    const { span } = setup({ web: [1, 2], db: [1], legacy: [1] });
    expect(span.spanning.map((n) => n.key).sort()).toEqual(["back", "front"]);
    expect(span.local.map((l) => l.key)).toEqual(["old"]);
    expect(span.local[0]!.why).toContain("fizz down");
  });

  test("one want per replica placed here and network; ipv4_address is fixed", () => {
    const { wants } = setup({ web: [1, 3], db: [1] });
    expect(wants.map((w) => `${w.key}@${w.network.name}`).sort()).toEqual(["shop/db/1@back", "shop/web/1@back", "shop/web/1@front", "shop/web/3@back", "shop/web/3@front"]);
    expect(wants.find((w) => w.key === "shop/db/1")!.fixed).toBe(parseIp("10.40.0.10"));
    expect(wants.find((w) => w.network.name === "back")!.network.subnet).toEqual(cidr("10.40.0.0/24"));
  });

  test("networks get the cluster subnet, this node's slice, Fizz's bridge; replicas get addresses in the node's slices; endpoints lose engine aliases; the resolver comes first", () => {
    const { desired, span, assigned } = setup({ web: [1, 3], db: [1] });
    expect([...assigned.errors.values()]).toEqual([]);
    const shaped = shapeDeployment(desired, span.spanning, assigned, { deploymentId: "shop", nodeId: "a", mtu: 1420 });
    const back = shaped.networks.find((n) => n.key === "back")!;
    expect(back.labels?.[CLUSTER_SUBNET_LABEL]).toBe("10.40.0.0/24");
    expect(back.driverOpts?.["com.docker.network.bridge.name"]).toMatch(/^fz[0-9a-f]{8}$/);
    expect(back.driverOpts?.["com.docker.network.bridge.enable_ip_masquerade"]).toBe("false");
    expect(back.driverOpts?.["com.docker.network.driver.mtu"]).toBe("1420");
    expect((back.ipam as { config: { gateway: string }[] }).config[0]!.gateway).toBe("10.40.0.1");
    expect(shaped.networks.find((n) => n.key === "old")).toEqual(desired.networks.find((n) => n.key === "old")!);

    const web = shaped.services.find((s) => s.name === "web")!;
    expect(Object.keys(web.addresses!).map(Number)).toEqual([1, 3]);
    const front = cidr(String((shaped.networks.find((n) => n.key === "front")!.labels ?? {})[CLUSTER_SUBNET_LABEL]));
    for (const n of [1, 3]) {
      const a = web.addresses![n]!;
      expect(slicesOf(assigned.plan, front, "a").some((s) => containsIp(s, parseIp(a["shop_front"]!)!))).toBe(true);
      expect(slicesOf(assigned.plan, cidr("10.40.0.0/24"), "a").some((s) => containsIp(s, parseIp(a["shop_back"]!)!))).toBe(true);
    }
    expect(web.addresses![1]!["shop_front"]).not.toBe(web.addresses![3]!["shop_front"]);
    expect(shaped.services.find((s) => s.name === "db")!.addresses![1]).toEqual({ shop_back: "10.40.0.10" });
    // Endpoints: no engine aliases; the replica's address is set as it is created.
    const t = web.create!;
    for (const a of t.networks) expect(a.endpoint.Aliases).toBeUndefined();
    const frontGw = (shaped.networks.find((n) => n.key === "front")!.ipam as { config: { gateway: string }[] }).config[0]!.gateway;
    const backGw = "10.40.0.1";
    expect(t.body.HostConfig?.Dns).toEqual([t.networks[0]!.name === "shop_front" ? frontGw : backGw, "9.9.9.9"]);
    const inst = instantiate(t, { number: 3, name: "shop-web-3", configHash: "h", addresses: web.addresses![3]! });
    const eps = { ...inst.body.NetworkingConfig!.EndpointsConfig, ...Object.fromEntries(inst.extraNetworks.map((x) => [x.name, x.endpoint])) };
    expect(eps["shop_front"]!.IPAMConfig!.IPv4Address).toBe(web.addresses![3]!["shop_front"]!);
    expect(eps["shop_back"]!.IPAMConfig!.IPv4Address).toBe(web.addresses![3]!["shop_back"]!);
    // Services on no spanning network are untouched.
    expect(shaped.services.find((s) => s.name === "legacy")).toBe(desired.services.find((s) => s.name === "legacy")!);
    expect(shaped.services.find((s) => s.name === "tool")).toBe(desired.services.find((s) => s.name === "tool")!);
  });

  test("an agent restart converges to the same addresses: running containers keep theirs, new ones get the same as before", () => {
    const first = setup({ web: [1, 2, 3], db: [1] });
    const shaped = shapeDeployment(first.desired, first.span.spanning, first.assigned, { deploymentId: "shop", nodeId: "a", mtu: 1420 });
    const web = shaped.services.find((s) => s.name === "web")!;
    // Replica 2 runs, the others are gone: the next pass gives every one the same address as before and claims nothing new.
    const running: ActualContainer[] = [{ id: "x", name: "shop-web-2", project: "shop", service: "web", number: 2, state: "running", health: "none", oneoff: false, addresses: web.addresses![2]! }];
    const again = setup({ web: [1, 2, 3], db: [1] }, running, first.table);
    expect(Object.keys(again.assigned.writes)).toEqual([]);
    const web2 = shapeDeployment(again.desired, again.span.spanning, again.assigned, { deploymentId: "shop", nodeId: "a", mtu: 1420 }).services.find((s) => s.name === "web")!;
    expect(web2.addresses).toEqual(web.addresses!);
  });

  test("a taken ipv4_address is an error for that replica, with the fix", () => {
    const other = setup({ db: [1] });
    // Node b holds the slice with 10.40.0.10; node a asks for it.
    const table: Record<string, IpClaim> = Object.create(null);
    for (const [k, v] of Object.entries(other.assigned.writes)) table[k] = v.owner === "node:a" ? { ...v, owner: "node:b" } : v;
    const r = setup({ db: [1] }, [], table);
    const e = r.assigned.errors.get("shop/db/1@back");
    expect(e?.code).toBe("net.address_unavailable");
    expect(e?.hint).toContain("pin the service");
  });
});

describe("a deployment's networks admitted against the claims", () => {
  test("a subnet another deployment holds, one in the node addresses, or a full range: refused, each with its network", async () => {
    const { networkAdmission } = await import("../../../core/net/admit.ts");
    const { ipamConfig } = await import("../../../core/net/ipam-config.ts");
    const project = load(FILE);
    const held = setup({ db: [1] }).table; // shop holds 10.40.0.0/24 for back
    expect(networkAdmission(held, cfg, "shop", project)).toEqual([]);
    const other = networkAdmission(held, cfg, "blog", project);
    expect(other.map((x) => [x.network, x.error.code])).toEqual([["back", "net.subnet_taken"]]);
    expect(other[0]!.error.message).toContain("deployment shop");
    // A /20 range has room for the node block and three /24s… minus what is taken.
    const small = ipamConfig("10.208.0.0/20", 22, 28);
    if (!small.ok) throw small.error;
    const full = networkAdmission(Object.create(null), small.value, "shop", load(FILE.replace("subnet: 10.40.0.0/24", "subnet: 10.208.12.0/24").replace("10.40.0.10", "10.208.12.10")));
    expect(full.map((x) => x.error.code)).toContain("net.subnet_reserved");
    // Three /22 networks fill it (the fourth /22 is the node block): a fourth network is refused, naming the fix.
    const four = load(`services:\n  a: { image: busybox, networks: [n1, n2, n3, n4] }\nnetworks: { n1: {}, n2: {}, n3: {}, n4: {} }\n`);
    const exhausted = networkAdmission(Object.create(null), small.value, "shop", four);
    expect(exhausted.map((x) => [x.network, x.error.code])).toEqual([["n4", "net.range_exhausted"]]);
    expect(exhausted[0]!.error.hint).toContain("mesh.range");
  });
});
