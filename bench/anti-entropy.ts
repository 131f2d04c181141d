/**
 * Anti-entropy bytes after a partition: two replicas share a state, each side
 * changes half of `changed %` of the entries while partitioned, then one
 * push-pull round (digest → bucket request → deltas both ways) resyncs them.
 * Baseline: a full-state transfer (the canonical encoding of the state, sent
 * once; a real full push-pull would send it twice). Target: ratio ≤ 0.10 at
 * 1% changed. Also reports the time of a digest after a small change (warm
 * entry-hash memo) against a cold one, measured in the same run.
 */
import {
  applyDelta,
  diff,
  digest,
  encodeBucketRequest,
  encodeDelta,
  encodeDigest,
  encodeState,
  extract,
  extractReply,
  type ClusterState,
} from "../core/state/index.ts";
import { entryCount, mutate, syntheticState } from "../test/core/state/fixture.ts";

function round(a: ClusterState, b: ClusterState) {
  const dA = encodeDigest(digest(a));
  const req = diff(digest(b), digest(a));
  const reqBytes = encodeBucketRequest(req).length;
  const fromB = extract(b, req);
  const fromA = extractReply(a, req, fromB);
  const deltaBytes = encodeDelta(fromB).length + encodeDelta(fromA).length;
  const a2 = applyDelta(a, fromB);
  const b2 = applyDelta(b, fromA);
  const ok = Buffer.from(encodeState(a2)).equals(Buffer.from(encodeState(b2)));
  return { digestBytes: dA.length, reqBytes, deltaBytes, ok, full: encodeState(a2).length };
}

const rows: string[][] = [["entries", "changed %", "full bytes", "digest bytes", "request bytes", "delta bytes", "resync/full", "converged"]];
let worstAt1 = 0;
for (const size of [1_000, 10_000, 50_000]) {
  const { state } = syntheticState(size, 42);
  const n = entryCount(state);
  for (const pct of [0.1, 1, 5]) {
    const changes = Math.max(2, Math.round((n * pct) / 100));
    const a = mutate(state, Math.ceil(changes / 2), "side-a", size + 1);
    const b = mutate(state, Math.floor(changes / 2), "side-b", size + 2, 1_800_000_000_777);
    const r = round(a, b);
    const ratio = (r.digestBytes + r.reqBytes + r.deltaBytes) / r.full;
    if (pct === 1) worstAt1 = Math.max(worstAt1, ratio);
    rows.push([String(n), String(pct), String(r.full), String(r.digestBytes), String(r.reqBytes), String(r.deltaBytes), ratio.toFixed(4), r.ok ? "yes" : "NO"]);
  }
}

const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
console.log("anti-entropy: one push-pull round after a partition (baseline: one full-state transfer)");
for (const r of rows) console.log(r.map((c, i) => c.padStart(widths[i]!)).join("  "));
console.log(`worst resync/full at 1% changed: ${worstAt1.toFixed(4)} (target ≤ 0.10)`);

// Digest cost: cold (every entry hashed) vs warm (after 1% changed, memoised hashes).
{
  const { state } = syntheticState(10_000, 9);
  let t = performance.now();
  digest(state);
  const cold = performance.now() - t;
  const changed = mutate(state, 100, "side-a", 5);
  t = performance.now();
  digest(changed);
  const warm = performance.now() - t;
  console.log(`digest of 10k entries: cold ${cold.toFixed(1)} ms, after 1% change ${warm.toFixed(1)} ms (warm/cold ${(warm / cold).toFixed(3)})`);
}
