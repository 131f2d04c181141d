/**
 * The ingress ports of this node's replicas, as the local agent (or -H's)
 * reports them: in a cluster a published port is not bound by the engine
 * (the ingress serves it on every node), so `fizz ps` and `fizz port` read
 * it here. Empty when no agent answers or the project is not in a cluster.
 */
import { readIngressShown } from "../core/ingress/shown-ports.ts";
import type { Context } from "./context.ts";

export interface IngressPort {
  readonly published: number;
  readonly target: number;
  readonly protocol: string;
}

/** By container name. */
export async function ingressPortsHere(ctx: Context, project: string, service?: string): Promise<Map<string, IngressPort[]>> {
  const out = new Map<string, IngressPort[]>();
  try {
    const { agentDisabled, runningAgent } = await import("./agent-mode.ts");
    if (agentDisabled({})) return out;
    const client = await runningAgent(ctx);
    if (!client) return out;
    for (const c of await client.containers({ deployment: project, ...(service ? { service } : {}) })) {
      if (c.node === undefined) continue;
      const ports = c.ports.map(readIngressShown).filter((p): p is IngressPort => p !== undefined);
      if (ports.length) out.set(c.name, ports);
    }
  } catch {
    // No agent, or it cannot say: the engine's bindings are all there is.
  }
  return out;
}
