/** Shared helpers for the cluster runtime tests: keys, fast SWIM timings, polling. */
import { createKeyring, type Keyring } from "../../../core/cluster-crypto/keyring.ts";
import type { SwimConfig } from "../../../core/swim/index.ts";
import { ClusterNode, type ClusterNodeOptions } from "../../../platform/cluster/index.ts";

export const clusterId = new Uint8Array(16).fill(7);

export function ring(fill: number): Keyring {
  const r = createKeyring(new Uint8Array(32).fill(fill));
  if (!r.ok) throw new Error(r.error.message);
  return r.keyring;
}

/** Short timings so failure detection takes ~1–2 s instead of ~5–10 s. */
export const FAST_SWIM: Partial<SwimConfig> = {
  probeIntervalMs: 200,
  probeTimeoutMs: 100,
  gossipIntervalMs: 50,
  pushPullIntervalMs: 2000,
  reconnectIntervalMs: 500,
  gossipToTheDeadMs: 5000,
};

export interface TestNodeOptions extends Partial<ClusterNodeOptions> {
  readonly host?: string;
}

export function startNode(id: string, o: TestNodeOptions = {}): Promise<ClusterNode> {
  const host = o.host ?? "127.0.0.1";
  return ClusterNode.start({
    nodeId: id,
    bind: `${host}:0`,
    keyring: ring(1),
    clusterId,
    meta: { name: id, labels: { zone: "test" }, resources: { cpuMillis: 2000, memoryBytes: 4 * 2 ** 30 } },
    swim: FAST_SWIM,
    ...o,
  });
}

/** Polls `cond` every 10 ms; returns the elapsed ms, or throws after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs: number, what = "condition"): Promise<number> {
  const t0 = performance.now();
  while (!cond()) {
    if (performance.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return performance.now() - t0;
}

export function stateOf(n: ClusterNode, id: string): string | undefined {
  return n.members().find((m) => m.id === id)?.state;
}
