/** CrdtSpec for ClusterState: random operations of every kind, as replica r would issue them. */
import fc from "fast-check";
import { type Hlc, type Json } from "../../../core/crdt/index.ts";
import {
  allocateIp,
  applyDelta,
  deleteDeployment,
  deleteSecretsRecord,
  emptyState,
  encodeState,
  mergeState,
  putDeployment,
  putNode,
  putSecretsRecord,
  recordContainer,
  releaseIp,
  removeContainer,
  setReplicas,
  type Change,
  type ChangeResult,
  type ClusterState,
  type ContainerStatus,
} from "../../../core/state/index.ts";
import type { CrdtSpec } from "../crdt/harness.ts";

export const at = (wall: number, node = "n1", logical = 0): Hlc => ({ wall, logical, node });

export function ok(r: ChangeResult): Change {
  if (!r.ok) throw r.error;
  return r;
}

export type Op =
  | { k: "deploy"; id: string; spec: Json }
  | { k: "undeploy"; id: string }
  | { k: "scale"; id: string; svc: string; n: number }
  | { k: "container"; id: string; svc: string; idx: number; status: ContainerStatus }
  | { k: "uncontainer"; id: string; svc: string; idx: number }
  | { k: "ip"; addr: string }
  | { k: "unip"; addr: string }
  | { k: "secret"; path: string; bytes: number[] }
  | { k: "unsecret"; path: string }
  | { k: "node"; alive: boolean };

const id = fc.constantFrom("d1", "d2");
const svc = fc.constantFrom("web", "db");
const addr = fc.constantFrom("10.0.0.1", "10.0.0.2", "fd00::1");
export const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ k: fc.constant("deploy" as const), id, spec: fc.oneof(fc.constant({ a: 1 } as Json), fc.constant([1, 2] as Json), fc.constant("x" as Json)) }),
  fc.record({ k: fc.constant("undeploy" as const), id }),
  fc.record({ k: fc.constant("scale" as const), id, svc, n: fc.nat(5) }),
  fc.record({ k: fc.constant("container" as const), id, svc, idx: fc.nat(2), status: fc.constantFrom<ContainerStatus>("pending", "running", "healthy", "failed") }),
  fc.record({ k: fc.constant("uncontainer" as const), id, svc, idx: fc.nat(2) }),
  fc.record({ k: fc.constant("ip" as const), addr }),
  fc.record({ k: fc.constant("unip" as const), addr }),
  fc.record({ k: fc.constant("secret" as const), path: fc.constantFrom("version/a@1", "version/b/secret/c@2"), bytes: fc.array(fc.nat(255), { maxLength: 8 }) }),
  fc.record({ k: fc.constant("unsecret" as const), path: fc.constantFrom("version/a@1", "version/b/secret/c@2") }),
  fc.record({ k: fc.constant("node" as const), alive: fc.boolean() }),
);

/** Applies one op as replica `r`; ops that fail locally (IP taken, …) produce an empty delta. */
export function applyOp(s: ClusterState, op: Op, r: number, step: number): { state: ClusterState; delta: ClusterState } {
  const node = `r${r}`;
  const ts = at(1000 + (step % 7), node, step);
  let res: ChangeResult | Change | undefined;
  switch (op.k) {
    case "deploy":
      res = putDeployment(s, ts, op.id, op.id, op.spec);
      break;
    case "undeploy":
      res = deleteDeployment(s, ts, op.id);
      break;
    case "scale":
      res = setReplicas(s, ts, op.id, op.svc, op.n);
      break;
    case "container":
      res = recordContainer(s, ts, { deploymentId: op.id, service: op.svc, index: op.idx, nodeId: node, status: op.status, containerId: null, health: "none" });
      break;
    case "uncontainer":
      res = removeContainer(s, ts, op.id, op.svc, op.idx, node);
      break;
    case "ip":
      res = allocateIp(s, ts, op.addr, node);
      break;
    case "unip":
      res = releaseIp(s, op.addr, node);
      break;
    case "secret":
      res = putSecretsRecord(s, ts, op.path, { type: "version", ciphertext: Buffer.from(op.bytes).toString("base64") });
      break;
    case "unsecret":
      res = deleteSecretsRecord(s, ts, op.path);
      break;
    case "node":
      res = putNode(s, ts, node, { name: node, address: "127.0.0.1:7946", labels: {}, resources: { cpuMillis: 1000, memoryBytes: 1 }, state: op.alive ? "alive" : "left" });
      break;
  }
  if ("ok" in res && !res.ok) return { state: s, delta: emptyState() };
  return { state: res.state, delta: applyDelta(emptyState(), res.delta) };
}

export const key = (s: ClusterState) => new TextDecoder().decode(encodeState(s));

export const clusterSpec: CrdtSpec<ClusterState, Op> = {
  name: "ClusterState",
  empty: emptyState,
  apply: applyOp,
  merge: mergeState,
  key,
  value: key,
  op: opArb,
};

