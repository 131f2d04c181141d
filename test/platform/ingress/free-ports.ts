// Ports for the ingress tests on loopback, and an ingress opened on them.
// A port the OS says is free now is not free later: the ingress binds it only
// after the probing socket let go, and anything on the machine (another test
// run, an outgoing connection or DNS query taking an ephemeral port) can take
// it in between. The CI once failed the setup of server.test.ts that way
// ("ingress listeners (bun sockets) > (unnamed)": its beforeAll's apply
// reported a listener problem). So an ingress is opened on freshly picked
// ports until none of its listeners finds its port taken.
import dgram from "node:dgram";
import net from "node:net";
import { expect } from "bun:test";
import type { IngressPlan, IngressServer } from "../../../platform/ingress/server.ts";

/** `n` distinct TCP ports free on 127.0.0.1 now (held together while picked, so distinct). */
export async function freeTcpPorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => new Promise<net.Server>((resolve) => {
      const s = net.createServer();
      s.listen(0, "127.0.0.1", () => resolve(s));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** A UDP port free on 127.0.0.1 now (probed with a UDP socket: a free TCP port says nothing about UDP). */
export async function freeUdpPort(): Promise<number> {
  const s = dgram.createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", () => r()));
  const port = s.address().port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const ATTEMPTS = 5;

/**
 * An ingress (`make()`) with `plan(ports)` applied, on ports from `pick()`.
 * When a listener finds its port taken (EADDRINUSE) the ingress is closed and
 * ports are picked again; any other listener problem, or ports taken
 * ATTEMPTS times running, fails (with the problems).
 */
export async function openOnFreePorts<P>(pick: () => Promise<P>, make: () => IngressServer, plan: (ports: P) => IngressPlan): Promise<{ ingress: IngressServer; ports: P }> {
  for (let attempt = 1; ; attempt++) {
    const ports = await pick();
    const ingress = make();
    const problems = await ingress.apply(plan(ports));
    if (problems.length === 0) return { ingress, ports };
    ingress.close();
    if (attempt === ATTEMPTS || !problems.every((p) => p.code === "EADDRINUSE")) expect(problems).toEqual([]);
  }
}
