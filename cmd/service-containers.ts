/**
 * What the container verbs (kill, rm, pause, top, port, cp, wait, attach, …)
 * share: the project's containers on this node's engine, picked by service,
 * replica number and one-off-ness, sorted by service and number; and, when a
 * service has no container here but a fizz agent in a cluster knows it runs
 * elsewhere, an error that names the node to ask instead of acting on the
 * wrong one.
 */
import { FizzError, usageError } from "../core/errors.ts";
import { LABEL, projectFilter } from "../core/labels.ts";
import type { ContainerSummary, Engine } from "../platform/engine/index.ts";
import type { Context } from "./context.ts";

export interface Pick {
  /** Only these services (empty = all). */
  services?: readonly string[];
  /** Only replica number n (Compose's --index). */
  index?: number;
  /** Include stopped containers. */
  all?: boolean;
  /** One-off (`fizz run`) containers: left out (default), included, or only those. */
  oneoff?: "exclude" | "include" | "only";
}

export function containerName(c: ContainerSummary): string {
  return (c.Names?.[0] ?? c.Id).replace(/^\//, "");
}

export function serviceOf(c: ContainerSummary): string {
  return c.Labels?.[LABEL.service] ?? "";
}

export function numberOf(c: ContainerSummary): number {
  return Number(c.Labels?.[LABEL.containerNumber] ?? 0);
}

export function isOneOff(c: ContainerSummary): boolean {
  return c.Labels?.[LABEL.oneoff] === "True";
}

/** The project's containers on this engine that match `pick`, by service then number. */
export async function pickContainers(engine: Engine, project: string, pick: Pick = {}): Promise<ContainerSummary[]> {
  const list = await engine.containers.list({ all: pick.all ?? true, labels: projectFilter(project) });
  const oneoff = pick.oneoff ?? "exclude";
  return list
    .filter((c) => !pick.services?.length || pick.services.includes(serviceOf(c)))
    .filter((c) => (oneoff === "include" ? true : oneoff === "only" ? isOneOff(c) : !isOneOff(c)))
    .filter((c) => pick.index === undefined || numberOf(c) === pick.index)
    .sort((a, b) => serviceOf(a).localeCompare(serviceOf(b)) || numberOf(a) - numberOf(b) || containerName(a).localeCompare(containerName(b)));
}

/** Parses --index (1-based), or undefined when not given. */
export function indexOption(v: unknown): number | undefined {
  if (v === undefined || v === null || v === false) return undefined;
  const n = Number(Array.isArray(v) ? v[v.length - 1] : v);
  if (!Number.isInteger(n) || n < 1) throw usageError(`--index expects a replica number from 1, got '${String(v)}'`);
  return n;
}

/**
 * The error for "no such container here". In a cluster the local agent knows
 * where every replica runs, so the message says which node to ask.
 */
export async function noContainerError(ctx: Context, project: string, service: string, index: number | undefined, what = "container"): Promise<FizzError> {
  const elsewhere = await remoteReplicas(ctx, project, service, index);
  if (elsewhere.length) {
    const where = elsewhere.map((c) => `${c.name} on node ${c.node}`).join(", ");
    return new FizzError({
      code: "cluster.other_node",
      message: `service '${service}'${index ? ` replica ${index}` : ""} of project ${project} runs on another node: ${where}`,
      hint: `run the command on that node, or point at its agent with -H`,
    });
  }
  return new FizzError({
    code: "service.no_container",
    message: `service '${service}'${index ? ` has no ${what} number ${index}` : ` has no ${what}`} in project ${project}`,
    hint: "start it with 'fizz up', or check 'fizz ps -a'",
  });
}

/**
 * The replicas of these services that run on other nodes of the cluster (the
 * local agent's list, minus this node's own): a verb that acts here says it
 * did not reach them, rather than leave the user to think it did.
 */
export async function elsewhere(ctx: Context, project: string, services: readonly string[]): Promise<{ name: string; node: string }[]> {
  // remoteReplicas leaves this node's own out by node (a global service's replicas share one name on every node).
  const all = services.length ? services : [undefined];
  const out: { name: string; node: string }[] = [];
  for (const s of all) out.push(...(await remoteReplicas(ctx, project, s, undefined)));
  return out;
}

/** One line for the replicas a verb did not reach, or nothing. */
export async function noteElsewhere(ctx: Context, project: string, services: readonly string[], verb: string): Promise<void> {
  printElsewhere(ctx, await elsewhere(ctx, project, services), `not ${verb} on other nodes`);
}

/**
 * The replicas of these services on nodes other than the agent's own (the
 * local one, or -H's): for a verb that reads only that node's engine.
 */
export async function onOtherNodes(ctx: Context, project: string, services: readonly string[]): Promise<{ name: string; node: string }[]> {
  try {
    const { runningAgent } = await import("./agent-mode.ts");
    const client = await runningAgent(ctx);
    if (!client) return [];
    const [self, list] = await Promise.all([selfOf(client), client.containers({ deployment: project })]);
    return list.filter((c) => elsewhereThan(self, c) && (!services.length || services.includes(c.service))).map((c) => ({ name: c.name, node: nodeLabel(self, c) }));
  } catch {
    return [];
  }
}

/** The agent's own node: its id (/v1/info), and the names its containers carry (its member name, and the id). */
interface SelfNode {
  readonly id: string;
  readonly names: ReadonlySet<string>;
}

async function selfOf(client: { info(): Promise<Record<string, unknown>>; clusterNodes(): Promise<readonly { name: string; self: boolean }[]> }): Promise<SelfNode> {
  const [info, nodes] = await Promise.all([client.info(), client.clusterNodes().catch(() => [])]);
  const id = String(info.node ?? "");
  return { id, names: new Set([id, ...nodes.filter((n) => n.self).map((n) => n.name)]) };
}

type Placed = { readonly node?: string | undefined; readonly nodeId?: string | undefined };

/**
 * A container the agent lists that runs on another node. By node id: members may share a host name
 * (VMs cloned from one image), and by name alone another node's replica looked like this node's own,
 * so `exec` said there was none and `logs` said nothing. An agent that sends no id is matched by name.
 */
function elsewhereThan(self: SelfNode, c: Placed): boolean {
  if (c.node === undefined) return false;
  return c.nodeId !== undefined && self.id !== "" ? c.nodeId !== self.id : !self.names.has(c.node);
}

/** The node as the user reads it: its name, with its short id when this node has that name too. */
function nodeLabel(self: SelfNode, c: Placed): string {
  return c.nodeId !== undefined && self.names.has(c.node!) ? `${c.node} (${c.nodeId.slice(0, 8)})` : c.node!;
}

/** The note for replicas a verb did not reach (`lead` says what it did not do), or nothing. */
export function printElsewhere(ctx: Context, away: readonly { name: string; node: string }[], lead: string): void {
  if (!away.length) return;
  const byNode = new Map<string, string[]>();
  for (const c of away) byNode.set(c.node, [...(byNode.get(c.node) ?? []), c.name]);
  ctx.err(`note: ${lead}: ${[...byNode].map(([n, cs]) => `${cs.join(", ")} on ${n}`).join("; ")} (run the command there, or use -H)\n`);
}

/** Replicas of a service that the local agent reports with a node (empty when there is no agent or cluster). */
async function remoteReplicas(ctx: Context, project: string, service: string | undefined, index: number | undefined): Promise<{ name: string; node: string }[]> {
  try {
    const { runningAgent } = await import("./agent-mode.ts");
    const client = await runningAgent(ctx);
    if (!client) return [];
    const [self, list] = await Promise.all([selfOf(client), client.containers({ deployment: project, ...(service ? { service } : {}) })]);
    return list.filter((c) => elsewhereThan(self, c) && (index === undefined || c.number === index)).map((c) => ({ name: c.name, node: nodeLabel(self, c) }));
  } catch {
    return [];
  }
}

/** Compose's per-container progress line: ` ✔ Container shop-web-1  Killed`. */
export function doneLine(ctx: Context, name: string, verb: string, ok = true): void {
  const mark = ctx.global.color ? (ok ? "\x1b[32m✔\x1b[0m" : "\x1b[31m✘\x1b[0m") : ok ? "✔" : "✘";
  ctx.err(` ${mark} ${`Container ${name}`.padEnd(34)} ${verb}\n`);
}

/** True when the local (or -H) fizz agent holds this deployment: then it keeps the services running itself. */
export async function managedByAgent(ctx: Context, name: string): Promise<boolean> {
  const { agentDisabled, runningAgent } = await import("./agent-mode.ts");
  if (agentDisabled({})) return false;
  const client = await runningAgent(ctx);
  if (!client) return false;
  try {
    await client.getDeployment(name);
    return true;
  } catch {
    return false;
  }
}
