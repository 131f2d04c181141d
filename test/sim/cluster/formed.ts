/**
 * N whole agents in the simulator (virtual time, fake engines), booted and
 * joined into one cluster through agent 0, for the tests of one scenario.
 * `each` adjusts an agent before it boots (its engine's behaviour, say).
 */
import { SimAgent } from "./agent.ts";
import { SimNetwork, simAddress } from "./transport.ts";
import { World } from "./world.ts";

export async function formedCluster(seed: number, n = 3, each?: (a: SimAgent) => void): Promise<{ world: World; net: SimNetwork; agents: SimAgent[] }> {
  const world = new World(seed);
  const net = new SimNetwork(world);
  const agents: SimAgent[] = [];
  for (let i = 0; i < n; i++) {
    world.addNode(0);
    const a = new SimAgent(i, world, net, (c) => c);
    each?.(a);
    agents.push(a);
  }
  for (const a of agents) await a.boot();
  const init = await agents[0]!.controllers!.membership.init({ advertise: simAddress(0) });
  for (const a of agents.slice(1)) void a.controllers!.membership.join({ address: simAddress(0), token: init.token });
  await world.run(4000);
  return { world, net, agents };
}
