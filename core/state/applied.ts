/**
 * The `applied` collection: per deployment and node, the last deploy intent
 * (core/deploy/intent.ts) that node applied and whether it worked. One writer
 * per key (the node), so the node that made a change can tell when every
 * member has applied it, and which one failed and why.
 *   key: deploymentId/nodeId
 */
import { at, fail, field, isNodeId, readRecord, readString } from "../crdt/index.ts";
import { isId } from "./schema.ts";

export type AppliedRecord = {
  /** The intent id. */
  readonly intent: string;
  readonly ok: boolean;
  /** Why it failed (a user-facing message), when it did. */
  readonly message?: string;
};

export function appliedKey(deploymentId: string, nodeId: string): string {
  return `${deploymentId}/${nodeId}`;
}

export function parseAppliedKey(k: string): { deploymentId: string; nodeId: string } | undefined {
  const i = k.indexOf("/");
  if (i < 0) return undefined;
  const deploymentId = k.slice(0, i);
  const nodeId = k.slice(i + 1);
  return isId(deploymentId) && isNodeId(nodeId) ? { deploymentId, nodeId } : undefined;
}

export function checkAppliedKey(k: string, p: string): void {
  if (!parseAppliedKey(k)) fail(p, "expected deploymentId/nodeId");
}

export function readApplied(v: unknown, path: string): AppliedRecord {
  const o = readRecord(v, path, ["intent", "ok"], ["message"]);
  if (typeof o.ok !== "boolean") fail(at(path, "ok"), "expected a boolean");
  const message = field(o, "message");
  return {
    intent: readString(o.intent, at(path, "intent"), 256),
    ok: o.ok,
    ...(message !== undefined ? { message: readString(message, at(path, "message"), 4096) } : {}),
  };
}
