/**
 * Synthetic cluster states for digest tests and bench/anti-entropy.ts: a
 * realistic mix of collections (mostly containers and IPs) and realistic
 * entry sizes, built through the public mutators, deterministic from a seed.
 */
import { HlcClock, type Json } from "../../../core/crdt/index.ts";
import {
  ClusterReplica,
  allocateIp,
  emptyState,
  putDeployment,
  putNode,
  putSecretsRecord,
  recordContainer,
  setReplicas,
  type ClusterState,
  type ContainerStatus,
} from "../../../core/state/index.ts";

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function must<T extends { ok: boolean }>(r: T): Extract<T, { ok: true }> {
  if (!r.ok) throw new Error(`fixture mutation failed: ${JSON.stringify(r)}`);
  return r as Extract<T, { ok: true }>;
}

function spec(project: string, i: number): Json {
  return {
    name: project,
    services: {
      web: { image: `registry.local/${project}/web:1.${i}`, ports: [{ target: 80, published: 8000 + (i % 1000) }], environment: { MODE: "prod", SHARD: String(i) } },
      db: { image: "postgres:16", volumes: [{ type: "volume", source: "data", target: "/var/lib/postgresql/data" }] },
      cache: { image: "redis:7", deploy: { resources: { limits: { memory: "256M" } } } },
    },
  };
}

const STATUSES: ContainerStatus[] = ["running", "healthy", "healthy", "healthy", "unhealthy", "pending"];

/** About `entries` entries in total; returns the state, the node ids and the keys used. */
export function syntheticState(entries: number, seed = 1): { state: ClusterState; nodes: string[]; deployments: string[] } {
  const r = rng(seed);
  const clock = new HlcClock("seed-node");
  let wall = 1_700_000_000_000;
  const ts = () => clock.now((wall += 1));
  // Built in place: 10k immutable updates would copy the maps 10k times.
  const b = new ClusterReplica();
  const s = emptyState();
  const nNodes = Math.max(3, Math.round(entries / 200));
  const nDeployments = Math.max(1, Math.round(entries / 100));
  const nIps = Math.round(entries * 0.15);
  const nSecrets = Math.round(entries * 0.02);
  const nContainers = Math.max(0, entries - nNodes - nDeployments * 4 - nIps - nSecrets);
  const nodes: string[] = [];
  for (let i = 0; i < nNodes; i++) {
    const id = `node-${i.toString(16).padStart(4, "0")}`;
    nodes.push(id);
    b.apply(putNode(s, ts(), id, {
      name: `worker-${i}`,
      address: `10.0.${(i >> 8) & 255}.${i & 255}:7946`,
      labels: { zone: `z${i % 3}`, disk: i % 2 ? "ssd" : "hdd" },
      resources: { cpuMillis: 8000, memoryBytes: 32 * 2 ** 30 },
      state: "alive",
    }).delta);
  }
  const deployments: string[] = [];
  for (let i = 0; i < nDeployments; i++) {
    const id = `dep-${i}`;
    deployments.push(id);
    b.apply(must(putDeployment(s, ts(), id, `project${i}`, spec(`project${i}`, i))).delta);
    for (const svc of ["web", "db", "cache"]) b.apply(must(setReplicas(s, ts(), id, svc, 3)).delta);
  }
  for (let i = 0; i < nContainers; i++) {
    const dep = deployments[i % nDeployments]!;
    const svc = ["web", "db", "cache"][Math.floor(i / nDeployments) % 3]!;
    const index = Math.floor(i / (nDeployments * 3));
    const nodeId = nodes[Math.floor(r() * nodes.length)]!;
    b.apply(must(
      recordContainer(s, ts(), {
        deploymentId: dep,
        service: svc,
        index,
        nodeId,
        status: STATUSES[Math.floor(r() * STATUSES.length)]!,
        containerId: Math.floor(r() * 2 ** 52).toString(16).padStart(64, "0"),
        health: "healthy",
      }),
    ).delta);
  }
  for (let i = 0; i < nIps; i++) {
    b.apply(must(allocateIp(s, ts(), `10.100.${(i >> 8) & 255}.${i & 255}`, `dep-${i % nDeployments}/web/${i}`)).delta);
  }
  for (let i = 0; i < nSecrets; i++) {
    const blob = new Uint8Array(96).map(() => Math.floor(r() * 256));
    b.apply(putSecretsRecord(s, ts(), `version/dep-${i % nDeployments}/secret/s${i}@1`, { type: "version", ciphertext: Buffer.from(blob).toString("base64") }).delta);
  }
  return { state: b.view, nodes, deployments };
}

export function entryCount(s: ClusterState): number {
  return Object.keys(s.nodes).length + Object.keys(s.deployments).length + Object.keys(s.services).length + Object.keys(s.containers).length + Object.keys(s.secrets).length + Object.keys(s.ips).length;
}

/**
 * Change `count` entries as node `writer` would: container status/health flips
 * (most), replica changes, new IP claims and deployment updates.
 */
export function mutate(s: ClusterState, count: number, writer: string, seed: number, startWall = 1_800_000_000_000): ClusterState {
  const r = rng(seed);
  const clock = new HlcClock(writer);
  let wall = startWall;
  const ts = () => clock.now((wall += 1));
  const containers = Object.keys(s.containers);
  const services = Object.keys(s.services);
  const deployments = Object.keys(s.deployments);
  const rep = new ClusterReplica(s);
  for (let i = 0; i < count; i++) {
    const x = r();
    if (x < 0.8 && containers.length) {
      const k = containers[Math.floor(r() * containers.length)]!;
      const e = rep.view.containers[k]!;
      if (e.deleted) continue;
      must(rep.mutate((v) => recordContainer(v, ts(), { ...e.value, status: STATUSES[Math.floor(r() * STATUSES.length)]!, health: r() < 0.5 ? "healthy" : "unhealthy" })));
    } else if (x < 0.9 && services.length) {
      const [dep, svc] = services[Math.floor(r() * services.length)]!.split("/") as [string, string];
      must(rep.mutate((v) => setReplicas(v, ts(), dep, svc, 1 + Math.floor(r() * 9))));
    } else if (x < 0.97) {
      const a = `10.200.${Math.floor(r() * 256)}.${Math.floor(r() * 256)}`;
      rep.mutate((v) => allocateIp(v, ts(), a, `${writer}/c${i}`)); // taken → no change
    } else if (deployments.length) {
      const id = deployments[Math.floor(r() * deployments.length)]!;
      must(rep.mutate((v) => putDeployment(v, ts(), id, id, spec(id, 10_000 + i))));
    }
  }
  return rep.snapshot();
}
