/**
 * What the membership controller answers through the API, apart from what it
 * does: its refusals as errors with their HTTP statuses (join, key and
 * membership errors), the cluster key a user types, and a member as the API
 * shows it. Used by controllers/cluster/membership.ts.
 */
import { withoutMeshLabels } from "../../core/net/mesh-meta.ts";
import { FizzError } from "../../core/errors.ts";
import { keyringErrorToFizz, type install } from "../../core/cluster-crypto/index.ts";
import type { ClusterMember } from "../../platform/cluster/index.ts";
import type { ClusterNodeView } from "../../platform/api/cluster-api.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** Join/refusal errors become 4xx answers that keep the cluster layer's code and message. */
export function joinError(e: unknown): FizzError {
  if (!(e instanceof FizzError)) return new FizzError({ code: "cluster.join_failed", message: e instanceof Error ? e.message : String(e), status: 502 });
  const status =
    e.code === "cluster.wrong_key" || e.code === "cluster.wrong_cluster" || e.code === "cluster.handshake_refused"
      ? 403
      : e.code === "cluster.version_mismatch"
        ? 409
        : e.code === "cluster.join_failed" || e.code === "cluster.join_timeout"
          ? 504
          : e.status >= 400 && e.status < 600 && e.status !== 400
            ? e.status
            : 400;
  return new FizzError({ code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}), status });
}

export function parseKeyMaterial(s: string): Uint8Array {
  const t = s.trim();
  let bytes: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) bytes = Buffer.from(t, "hex");
  else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) bytes = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64");
  if (!bytes || bytes.length !== 32) {
    throw new FizzError({
      code: "keyring.bad_key",
      message: "a cluster key is 32 bytes, given as base64 (43/44 characters) or hex (64 characters)",
      hint: "generate one with `openssl rand -base64 32`",
      status: 400,
    });
  }
  return new Uint8Array(bytes);
}

export function notMemberError(): FizzError {
  return new FizzError({ code: "cluster.not_member", message: "this node is not part of a cluster", hint: "run `fizz init` to create one or `fizz join <addr> --token <token>` to join one", status: 409 });
}

export function alreadyMemberError(clusterId: Uint8Array): FizzError {
  return new FizzError({ code: "cluster.already_member", message: `this node is already in cluster ${hex(clusterId).slice(0, 8)}…`, hint: "run `fizz leave` first", status: 409 });
}

/** This node's engine is driven by `twin` already (issue 18 item 9): both named. */
export function sharedEngineError(self: { readonly name: string; readonly id: string; readonly engine?: { readonly id: string; readonly address: string } | undefined }, twin: ClusterMember): FizzError {
  return new FizzError({
    code: "cluster.engine_shared",
    message: `this node (${self.name}, ${self.id.slice(0, 8)}) drives engine ${self.engine?.id} at ${self.engine?.address}, which member ${twin.meta.name} (${twin.id.slice(0, 8)}, ${twin.address}) already drives; a node needs an engine of its own`,
    hint: "give each agent its own engine (--engine), or run one agent per engine; cluster.allow_shared_engine lets protocol trials share one",
    status: 409,
  });
}

/** A refused keyring change: an unknown key is 404, the rest (last key, primary) 409. */
export function keyringError(error: Extract<ReturnType<typeof install>, { ok: false }>["error"]): FizzError {
  const e = keyringErrorToFizz(error);
  return new FizzError({ code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}), status: error.code === "unknown-key" ? 404 : 409 });
}

export function memberView(m: ClusterMember): ClusterNodeView {
  return {
    id: m.id,
    name: m.meta.name,
    address: m.address,
    state: m.state,
    incarnation: m.incarnation,
    // The mesh's own metadata (key, port, MTU) is not a label a user set: `fizz net` shows it.
    labels: withoutMeshLabels(m.meta.labels),
    resources: { cpuMillis: m.meta.resources.cpuMillis, memoryBytes: m.meta.resources.memoryBytes },
    // The last ping of a member that is down is history, not its round trip.
    rttMs: m.rttMs === undefined || m.state === "dead" || m.state === "left" ? null : Math.round(m.rttMs * 100) / 100,
    self: m.self,
  };
}

