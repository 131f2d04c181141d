/**
 * The SWIM push-pull user-state hook (core/gossip/hook.ts) backed by a
 * ClusterReplica and the three sync messages of core/state/sync.ts.
 *
 * SWIM's exchange is digest → (diff, digest) → diff; core/state's is
 * open → answer → back. They line up like this, with one tag byte so each
 * side knows which message it holds:
 *
 *   initiator A                               responder B
 *   digest() = [1] syncOpen(A)        ──▶     diff(d) = [2] syncAnswer(B, d).reply
 *                                     ◀──     (+ B's digest(), unused)
 *   apply([2] reply): syncFinish → apply its delta, keep `back`
 *   diff(_) = [3] back                ──▶     apply([3] back): syncClose → apply
 *
 * SWIM calls A's apply and then A's diff synchronously inside one
 * receiveStream, so `back` is kept only until the end of the current task.
 * Incoming entries pass the HLC gate (`admit`) before they are applied; the
 * hook never throws (the bytes come from the network).
 */
import type { UserStateHook } from "../../core/gossip/hook.ts";
import type { ClusterDelta, ClusterReplica } from "../../core/state/index.ts";
import { syncAnswer, syncClose, syncFinish, syncOpen } from "../../core/state/sync.ts";

const TAG_OPEN = 1;
const TAG_ANSWER = 2;
const TAG_BACK = 3;
const EMPTY = new Uint8Array(0);

export interface ReplicaHookDeps {
  readonly replica: ClusterReplica;
  /** HLC gate + apply + notifications; returns false when the delta was refused. */
  readonly applyRemote: (delta: ClusterDelta) => boolean;
  /** Counts decode failures (for metrics / logs). */
  readonly onBadInput?: (what: string) => void;
}

function tagged(tag: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.length + 1);
  out[0] = tag;
  out.set(body, 1);
  return out;
}

export function replicaHook(deps: ReplicaHookDeps): UserStateHook {
  let pendingBack: Uint8Array | undefined;
  const bad = (what: string): false => {
    deps.onBadInput?.(what);
    return false;
  };
  return {
    digest(): Uint8Array {
      return tagged(TAG_OPEN, syncOpen(deps.replica.view));
    },
    diff(remote: Uint8Array): Uint8Array {
      if (pendingBack !== undefined) {
        const back = pendingBack;
        pendingBack = undefined;
        return back.length === 0 ? EMPTY : tagged(TAG_BACK, back);
      }
      if (remote.length === 0 || remote[0] !== TAG_OPEN) return EMPTY;
      try {
        const ans = syncAnswer(deps.replica.view, remote.subarray(1));
        if (!ans.ok) {
          bad(`sync open: ${ans.error.message}`);
          return EMPTY;
        }
        return tagged(TAG_ANSWER, ans.value.reply);
      } catch (e) {
        bad(`sync open: ${String(e)}`);
        return EMPTY;
      }
    },
    apply(diff: Uint8Array): boolean {
      pendingBack = undefined;
      if (diff.length === 0) return true;
      try {
        if (diff[0] === TAG_ANSWER) {
          const fin = syncFinish(deps.replica.view, diff.subarray(1));
          // An empty back still has to reach diff(), or the next diff() would answer a digest we never got.
          pendingBack = EMPTY;
          queueMicrotask(() => (pendingBack = undefined));
          if (!fin.ok) return bad(`sync answer: ${fin.error.message}`);
          // Compute what goes back before applying what came: extractReply already skips what B showed.
          pendingBack = fin.value.back;
          return deps.applyRemote(fin.value.delta);
        }
        if (diff[0] === TAG_BACK) {
          const d = syncClose(diff.subarray(1));
          if (!d.ok) return bad(`sync back: ${d.error.message}`);
          return deps.applyRemote(d.value);
        }
        return bad(`unknown sync tag ${diff[0]}`);
      } catch (e) {
        return bad(`sync apply: ${String(e)}`);
      }
    },
  };
}
