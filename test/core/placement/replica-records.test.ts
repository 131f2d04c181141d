/**
 * What a change in a cluster waits for (core/placement/replica-records.ts
 * replicasNotRunning): every placed replica started from the current spec,
 * and no replica left running where placement no longer puts it.
 */
import { expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import { clusterPlacement, type PlacementNode } from "../../../core/placement/cluster-placement.ts";
import { replicaRecords, replicasNotRunning, unplaceableReplicas, sameRecord } from "../../../core/placement/replica-records.ts";
import { containerKey, type ContainerRecord } from "../../../core/state/index.ts";

const project = loadProject({ cwd: "/p/shop", env: {}, reader: { read: (p) => (p === "/p/shop/compose.yaml" ? "services:\n  web:\n    image: fizz-test/busybox:1\n    ports: ['8080:80']\n    deploy: { replicas: 2 }\n" : undefined) } }).project!;
const nodes: PlacementNode[] = [0, 1, 2].map((i) => ({ id: `n${i}`, name: `host${i}`, state: "alive", labels: {}, resources: { cpuMillis: 4000, memoryBytes: 8 << 30 } }));
const cp = clusterPlacement(nodes, [{ id: "shop", project, replicas: new Map() }], []);
const hash = cp.service("shop", "web")!.specHash;

function record(index: number, nodeId: string, o: Partial<ContainerRecord> = {}): [string, ContainerRecord] {
  return [containerKey("shop", "web", index, nodeId), { deploymentId: "shop", service: "web", index, nodeId, status: "running", containerId: `c${index}${nodeId}`, health: "none", specHash: hash, ...o }];
}
const placed = cp.placement.assignments.filter((a) => a.deploymentId === "shop");
const other = (nodeId: string) => nodes.find((n) => n.id !== nodeId && !placed.some((a) => a.nodeId === n.id))?.id ?? nodes.find((n) => n.id !== nodeId)!.id;

test("done: every placed replica started from the current spec", () => {
  const records = new Map(placed.map((a) => record(a.index, a.nodeId)));
  expect(replicasNotRunning("shop", project, cp, records, false)).toEqual([]);
});

test("created but not started, or of another spec: not done", () => {
  const [a, b] = placed;
  const records = new Map([record(a!.index, a!.nodeId, { status: "pending" }), record(b!.index, b!.nodeId, { specHash: "old" })]);
  expect(replicasNotRunning("shop", project, cp, records, false)).toHaveLength(2);
});

test("a record left by a node that is down does not hold the change", () => {
  const down: PlacementNode[] = [...nodes, { id: "n9", name: "gone", state: "dead", labels: {}, resources: { cpuMillis: 4000, memoryBytes: 8 << 30 } }];
  const cp2 = clusterPlacement(down, [{ id: "shop", project, replicas: new Map() }], []);
  const placed2 = cp2.placement.assignments.filter((a) => a.deploymentId === "shop");
  const records = new Map([...placed2.map((a) => record(a.index, a.nodeId)), record(0, "n9")]);
  expect(replicasNotRunning("shop", project, cp2, records, false)).toEqual([]);
});

test("a replica still running on a node it was moved away from: not done (two would run)", () => {
  const records = new Map([...placed.map((a) => record(a.index, a.nodeId)), record(placed[0]!.index, other(placed[0]!.nodeId))]);
  const left = replicasNotRunning("shop", project, cp, records, false);
  expect(left).toHaveLength(1);
  expect(left[0]).toContain("placed elsewhere");
});


test("a record carries the container's address on each of the project's networks, by compose key; a changed address is a changed record", () => {
  const c = (ip: string) => ({
    Id: "c1",
    State: "running",
    Status: "Up 2 seconds",
    Created: 100,
    Labels: { "com.docker.compose.project": "shop", "com.docker.compose.service": "web", "com.docker.compose.container-number": "1", "com.docker.compose.oneoff": "False" },
    NetworkSettings: { Networks: { shop_default: { IPAMConfig: { IPv4Address: ip }, IPAddress: ip }, bridge: { IPAddress: "172.17.0.2" } } },
  });
  const [rec] = [...replicaRecords("shop", "n1", project, [c("10.208.4.20")]).values()];
  expect(rec!.addresses).toEqual({ default: "10.208.4.20" });
  const [moved] = [...replicaRecords("shop", "n1", project, [c("10.208.4.21")]).values()];
  expect(sameRecord(rec, moved!)).toBe(false);
  expect(sameRecord(rec, rec!)).toBe(true);
});

test("up --wait (ready): a service with a healthcheck is done only when healthy; started is enough without --wait", () => {
  const checked = loadProject({ cwd: "/p/shop", env: {}, reader: { read: (p) => (p === "/p/shop/compose.yaml" ? "services:\n  web:\n    image: fizz-test/busybox:1\n    healthcheck: { test: ['CMD', 'true'] }\n    deploy: { replicas: 2 }\n" : undefined) } }).project!;
  const cpc = clusterPlacement(nodes, [{ id: "shop", project: checked, replicas: new Map() }], []);
  const h = cpc.service("shop", "web")!.specHash;
  const on = cpc.placement.assignments.filter((a) => a.deploymentId === "shop");
  const recs = (status: ContainerRecord["status"], health: ContainerRecord["health"]) => new Map(on.map((a) => record(a.index, a.nodeId, { status, health, specHash: h })));
  expect(replicasNotRunning("shop", checked, cpc, recs("running", "starting"), true)).toHaveLength(2);
  expect(replicasNotRunning("shop", checked, cpc, recs("unhealthy", "unhealthy"), true)).toHaveLength(2);
  expect(replicasNotRunning("shop", checked, cpc, recs("healthy", "healthy"), true)).toEqual([]);
  expect(replicasNotRunning("shop", checked, cpc, recs("running", "starting"), false)).toEqual([]);
  // Without a healthcheck, running is ready.
  expect(replicasNotRunning("shop", project, cp, new Map(placed.map((a) => record(a.index, a.nodeId))), true)).toEqual([]);
});

test("a replica that fits no node is named as pending; a failed or stopped stray does not hold the change", () => {
  const tiny: PlacementNode[] = [{ ...nodes[0]!, resources: { cpuMillis: 4000, memoryBytes: 1 << 20 } }];
  const big = loadProject({ cwd: "/p/shop", env: {}, reader: { read: (p) => (p === "/p/shop/compose.yaml" ? "services:\n  web:\n    image: fizz-test/busybox:1\n    deploy: { replicas: 1, resources: { reservations: { memory: 1g } } }\n" : undefined) } }).project!;
  const cpt = clusterPlacement(tiny, [{ id: "shop", project: big, replicas: new Map() }], []);
  expect(replicasNotRunning("shop", big, cpt, new Map(), false)).toEqual(["web #1 (pending: fits no node)"]);
  // What `fizz up` says of it rather than wait: the replica and why each node refused it, grouped.
  expect(replicasNotRunning("shop", big, cpt, new Map(), false, { pending: false })).toEqual([]);
  expect(unplaceableReplicas("shop", cpt)).toEqual([`web #1 (InsufficientMemory: needs 1 GiB, 1 MiB free: 1 node)`]);
  const strays = new Map([...placed.map((a) => record(a.index, a.nodeId)), record(placed[0]!.index, other(placed[0]!.nodeId), { status: "failed" }), record(placed[1]!.index, other(placed[1]!.nodeId), { status: "stopped" })]);
  expect(replicasNotRunning("shop", project, cp, strays, false)).toEqual([]);
});
