/**
 * The ingress's replicated collection (one LWW-Map, `ingress`), keyed by what
 * a record is about (and with one writer each where it says so):
 *   drain/<deployment>/<service>/<index>/<node>   that node is about to stop this
 *                        replica (its container id): every node stops sending it
 *                        new work                                     (that node)
 *   account/<id>         the ACME account key for a directory (id = 16 hex of the
 *                        directory URL's hash), sealed                (whoever made it)
 *   acme/<domain>        a certificate issued by ACME: the chain and its sealed key
 *                                                                     (the ordering node)
 *   user/<name>          a certificate a user added (fizz cert add), same shape
 *   token/<token>        a pending HTTP-01 challenge: any node answers it
 *                                                                     (the ordering node)
 *   order/<domain>       the last failed order: when, how many in a row, why
 *                                                                     (the ordering node)
 * Private keys are never stored in the clear: `Sealed` values are encrypted
 * under a key derived from the cluster keyring (core/ingress/seal.ts), so
 * only members open them. Keys and values are validated on decode.
 */
import { lwwDeleteDelta, lwwMapEntries, lwwMapGet, lwwPutDelta, type Hlc } from "../crdt/index.ts";
import { deltaChange, type Change, type ClusterDelta, type ClusterState } from "./cluster-state.ts";
import { TOKEN_RE, tokenKey, type DrainRecord, type IngressRecord } from "./ingress-record.ts";

export * from "./ingress-record.ts";

export function putIngressRecord(state: ClusterState, ts: Hlc, key: string, rec: IngressRecord): Change {
  return deltaChange(state, { ingress: lwwPutDelta(key, rec, ts) });
}

export function deleteIngressRecord(state: ClusterState, ts: Hlc, key: string): Change {
  return deltaChange(state, { ingress: lwwDeleteDelta(key, ts) });
}

export function getIngressRecord(state: ClusterState, key: string): IngressRecord | undefined {
  return lwwMapGet(state.ingress, key);
}

/** Live records whose key starts with `prefix`, sorted by key. */
export function listIngressRecords(state: ClusterState, prefix = ""): [string, IngressRecord][] {
  return lwwMapEntries(state.ingress).filter(([k]) => k.startsWith(prefix));
}

/** The draining marks: container key (deployment/service/index/node) → the container id marked. */
export function drainMarks(state: ClusterState): Map<string, DrainRecord> {
  const out = new Map<string, DrainRecord>();
  for (const [k, v] of lwwMapEntries(state.ingress)) {
    if (v.kind === "drain" && k.startsWith("drain/")) out.set(k.slice(6), v);
  }
  return out;
}

/** A pending challenge's key authorization, if the token is known and not expired. */
export function challengeAnswer(state: ClusterState, token: string, now: number): string | undefined {
  if (!TOKEN_RE.test(token)) return undefined;
  const r = lwwMapGet(state.ingress, tokenKey(token));
  return r?.kind === "token" && r.expires > now ? r.keyAuthorization : undefined;
}
