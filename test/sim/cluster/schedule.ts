/**
 * One seeded whole-cluster schedule: 5 to 20 complete agents form a cluster,
 * a deployment goes up from a random node, then faults (datagram loss, a
 * partition, crashes with and without restart, clock skew) while it is
 * scaled and updated; then the network heals and the cluster must converge,
 * and a rolling update must hold its floor. Invariants are checked while it
 * runs and after it converges; a violation names the seed and the command
 * that replays it.
 */
import { createRng, type Rng } from "../../../core/random.ts";
import { LABEL } from "../../../core/labels.ts";
import { getDeployment, listDeployments } from "../../../core/state/index.ts";
import type { DeploymentInput } from "../../../platform/api/backend.ts";
import { SimAgent } from "./agent.ts";
import { SimNetwork, simAddress } from "./transport.ts";
import { World } from "./world.ts";

export const REPLAY = "FIZZ_SIM_SEED={seed} bun test test/sim/cluster/replay.test.ts";

export class ScheduleViolation extends Error {
  constructor(
    readonly seed: number,
    what: string,
    readonly log: readonly string[],
  ) {
    super(`whole-cluster invariant violated (seed: ${seed}) at ${what}\nreplay: ${REPLAY.replace("{seed}", String(seed))}\n${log.slice(-25).join("\n")}`);
  }
}

export interface ScheduleResult {
  readonly seed: number;
  readonly nodes: number;
  readonly events: number;
  readonly trace: number;
  readonly virtualMs: number;
  readonly convergedMs: number;
  readonly faults: readonly string[];
}

const compose = (o: { replicas: number; image: string; parallelism: number }) => ({
  files: [
    {
      name: "compose.yaml",
      content: `services:
  web:
    image: ${o.image}
    command: ["serve"]
    healthcheck: { test: ["CMD", "true"], interval: 1s }
    deploy:
      replicas: ${o.replicas}
      update_config: { parallelism: ${o.parallelism}, monitor: 1s, failure_action: rollback }
  agent:
    image: app:1
    deploy: { mode: global }
`,
    },
  ],
  workingDir: "/srv/app",
});

export async function runSchedule(seed: number): Promise<ScheduleResult> {
  const world = new World(seed);
  const rng: Rng = createRng(seed ^ 0x5eed);
  const net = new SimNetwork(world);
  const n = 5 + rng.int(16);
  const log: string[] = [];
  const note = (s: string) => log.push(`${(world.now / 1000).toFixed(2)}s ${s}`);
  const agents: SimAgent[] = [];
  for (let i = 0; i < n; i++) {
    world.addNode(rng.int(401) - 200);
    agents.push(new SimAgent(i, world, net, (c) => c));
  }
  const fail = (what: string): never => {
    throw new ScheduleViolation(seed, what, log);
  };
  const live = () => agents.filter((a) => a.up && a.controllers);
  const faults: string[] = [];
  let replicas = 3 + rng.int(8);
  let parallelism = 1 + rng.int(2);
  let image = "app:1";
  const apply = (origin: SimAgent, input: DeploymentInput) => {
    const ch = origin.controllers!.deployments.changes;
    void ch.put("app", input, { local: true }).catch((e: unknown) => note(`${origin.name}: up refused: ${(e as Error).message}`));
  };

  // Boot and form the cluster.
  for (const a of agents) await a.boot();
  const seedNode = agents[0]!;
  const init = await seedNode.controllers!.membership.init({ advertise: simAddress(0) });
  note(`cluster of ${n}, skews ${world.skew.join(",")}`);
  for (const a of agents.slice(1)) void a.controllers!.membership.join({ address: simAddress(0), token: init.token }).catch((e: unknown) => note(`${a.name} join failed: ${(e as Error).message}`));
  await world.run(4000);

  // The deployment goes up from a random node.
  apply(agents[rng.int(n)]!, compose({ replicas, image, parallelism }));
  note(`up app web=${replicas} parallelism=${parallelism}`);
  await world.run(8000);

  // Faults, with changes made while they last.
  const down = new Set<number>();
  const gone = new Set<number>();
  if (rng.next() < 0.6) {
    world.link = { ...world.link, loss: rng.next() * 0.1 };
    faults.push(`loss ${(world.link.loss * 100).toFixed(1)}%`);
  }
  const steps = 2 + rng.int(4);
  for (let s = 0; s < steps; s++) {
    const t = world.now + 1000 + rng.int(4000);
    await world.run(t);
    const k = rng.int(5);
    const up = agents.filter((a) => a.up && !down.has(a.index));
    if (k === 0 && up.length > 3) {
      const victim = up[rng.int(up.length)]!;
      victim.crash();
      down.add(victim.index);
      // Some crashes are machines that never come back (their containers die with them).
      if (rng.next() < 0.4) {
        gone.add(victim.index);
        victim.engine.containersById.clear();
      }
      faults.push(`crash ${victim.name}${gone.has(victim.index) ? " (gone)" : ""}`);
      note(`crash ${victim.name}`);
    } else if (k === 1 && world.group.every((g) => g === 0)) {
      const side = agents.filter(() => rng.next() < 0.3).map((a) => a.index);
      if (side.length && side.length < n) {
        world.partition([agents.map((a) => a.index).filter((i) => !side.includes(i)), side]);
        faults.push(`partition ${side.length}/${n}`);
        note(`partition ${side.join(",")}`);
      }
    } else if (k === 2) {
      const origin = live()[rng.int(live().length)];
      if (origin) {
        replicas = 1 + rng.int(12);
        apply(origin, compose({ replicas, image, parallelism }));
        faults.push(`scale ${replicas}`);
        note(`${origin.name}: up web=${replicas}`);
      }
    } else if (k === 3) {
      const back = [...down].filter((i) => !gone.has(i));
      if (back.length) {
        const a = agents[back[0]!]!;
        down.delete(a.index);
        await a.restart();
        faults.push(`restart ${a.name}`);
        note(`restart ${a.name}`);
      }
    } else {
      const origin = live()[rng.int(live().length)];
      if (origin) {
        image = image === "app:1" ? "app:2" : "app:1";
        apply(origin, compose({ replicas, image, parallelism }));
        faults.push(`update ${image}`);
        note(`${origin.name}: update to ${image}`);
      }
    }
  }

  // Heal: the network mends, crashed processes that can come back do.
  await world.run(world.now + 2000);
  world.heal();
  world.link = { ...world.link, loss: 0 };
  for (const i of down) if (!gone.has(i)) await agents[i]!.restart();
  note("healed");

  // Converge: the invariants hold for 3 checks in a row, within the bound.
  const healedAt = world.now;
  const convergedAt = await converge(world, agents, gone, () => replicas, healedAt + 60_000, fail, note);

  // A rolling update from here must never take the service below its floor.
  const origin = live()[rng.int(live().length)]!;
  image = image === "app:1" ? "app:2" : "app:1";
  const floor = replicas - parallelism;
  apply(origin, compose({ replicas, image, parallelism }));
  note(`${origin.name}: rolling update to ${image} (floor ${floor})`);
  const until = world.now + 60_000;
  let done = false;
  for (let k = 1; !done; k++) {
    await world.run(world.now + 250);
    const healthy = healthyWeb(agents, gone);
    if (healthy < floor) fail(`rolling update below its floor: ${healthy} healthy of ${replicas} (floor ${floor})`);
    if (world.now > until) fail(`rolling update did not finish in 60 s: ${runningWeb(agents, gone).filter((c) => c.image !== image).map((c) => `#${c.number}@${c.node}:${c.image}`).join(" ") || "all on " + image}; ${violations(agents, gone, replicas).slice(0, 4).join("; ")}`);
    done = k % 4 === 0 && runningWeb(agents, gone).every((c) => c.image === image) && violations(agents, gone, replicas).length === 0;
  }
  return { seed, nodes: n, events: world.events, trace: world.trace, virtualMs: world.now, convergedMs: convergedAt - healedAt, faults };
}

interface Replica {
  node: string;
  service: string;
  number: number;
  image: string;
  healthy: boolean;
}

function runningOf(agents: readonly SimAgent[], gone: ReadonlySet<number>): Replica[] {
  const out: Replica[] = [];
  for (const a of agents) {
    if (gone.has(a.index)) continue;
    for (const c of a.engine.containersById.values()) {
      if (c.state !== "running" || c.labels[LABEL.project] !== "app") continue;
      out.push({ node: a.name, service: c.labels[LABEL.service] ?? "", number: Number(c.labels[LABEL.containerNumber] ?? 0), image: c.image, healthy: !c.unhealthy && c.image !== "app:bad" });
    }
  }
  return out;
}

const runningWeb = (agents: readonly SimAgent[], gone: ReadonlySet<number>) => runningOf(agents, gone).filter((r) => r.service === "web");
const healthyWeb = (agents: readonly SimAgent[], gone: ReadonlySet<number>) => runningWeb(agents, gone).filter((r) => r.healthy).length;

/** JSON with sorted keys: replicas of one value may list keys in another order. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x: unknown) => (x && typeof x === "object" && !Array.isArray(x) ? Object.fromEntries(Object.entries(x as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : x));
}

/** What is wrong now (empty once the cluster has converged). */
function violations(agents: readonly SimAgent[], gone: ReadonlySet<number>, replicas: number): string[] {
  const out: string[] = [];
  const alive = agents.filter((a) => a.up && a.controllers);
  const ref = alive[0];
  if (!ref) return ["no node alive"];
  // No deployment lost: every live node holds it, with one spec.
  const specs = new Set<string>();
  for (const a of alive) {
    const node = a.controllers!.membership.current;
    const rec = node ? getDeployment(node.state, "app") : undefined;
    if (!rec) out.push(`${a.name} has no deployment app`);
    else specs.add(canonical(rec.spec));
    if (!a.store.getDeployment("app")) out.push(`${a.name} has not mirrored app`);
    if (node && listDeployments(node.state).length !== 1) out.push(`${a.name} sees ${listDeployments(node.state).length} deployments`);
  }
  if (specs.size > 1) out.push(`live nodes disagree on app's spec (${specs.size} specs)`);
  const desired = ref.controllers!.membership.current ? (JSON.parse([...specs][0] ?? "{}") as { services?: { web?: { deploy?: { replicas?: number } } } }).services?.web?.deploy?.replicas : undefined;
  const want = desired ?? replicas;
  // Exactly the desired replicas, each once, on live nodes.
  const web = runningWeb(agents, gone);
  const byNumber = new Map<number, string[]>();
  for (const r of web) byNumber.set(r.number, [...(byNumber.get(r.number) ?? []), r.node]);
  for (const [num, nodes] of byNumber) if (nodes.length > 1) out.push(`web #${num} runs ${nodes.length} times (${nodes.join(", ")})`);
  if (web.length !== want) out.push(`${web.length} web replicas run, ${want} desired`);
  for (let k = 1; k <= want; k++) if (!byNumber.has(k)) out.push(`web #${k} runs nowhere`);
  // The global service: one per live node.
  for (const a of alive) {
    const mine = runningOf([a], gone).filter((r) => r.service === "agent");
    if (mine.length !== 1) out.push(`${a.name} runs ${mine.length} of the global service`);
  }
  // Nothing placed on, or counted on, a node that is down.
  const downIds = new Set(agents.filter((a) => !a.up).map((a) => a.id));
  for (const a of alive) {
    const cp = a.controllers!.placement.source.placement();
    for (const as of cp?.placement.assignments ?? []) if (downIds.has(as.nodeId) && [...(cp?.names ?? [])].length) out.push(`${a.name} places ${as.service} #${as.index + 1} on a node that is down`);
  }
  return out;
}

async function converge(world: World, agents: readonly SimAgent[], gone: ReadonlySet<number>, replicas: () => number, deadline: number, fail: (what: string) => never, note: (s: string) => void): Promise<number> {
  let clean = 0;
  let last: string[] = [];
  for (;;) {
    await world.run(world.now + 1000);
    last = violations(agents, gone, replicas());
    clean = last.length === 0 ? clean + 1 : 0;
    if (clean >= 3) {
      note("converged");
      return world.now - 2000;
    }
    if (world.now > deadline && (globalThis as { __simDebug?: (a: unknown) => void }).__simDebug) (globalThis as { __simDebug?: (a: unknown) => void }).__simDebug!(agents);
    if (world.now > deadline) fail(`convergence: not converged 60 s after healing: ${last.slice(0, 6).join("; ")}`);
  }
}

/** The seed for a run: FIZZ_SIM_SEED when set, else the given one. */
export function scheduleSeed(dflt: number): number {
  const s = process.env.FIZZ_SIM_SEED;
  return s !== undefined && /^\d+$/.test(s) ? Number(s) : dflt;
}
