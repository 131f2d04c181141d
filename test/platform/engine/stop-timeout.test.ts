/**
 * Podman's compatible API records a container created without StopTimeout with
 * a stop timeout of 0 (every stop is a SIGKILL, no grace); the create body gets
 * Docker's default there. Docker's body and a timeout the service set are left
 * as they are.
 */
import { describe, expect, test } from "bun:test";
import { Containers } from "../../../platform/engine/containers.ts";
import type { Transport } from "../../../platform/engine/transport.ts";

function capture(engine: "docker" | "podman") {
  const bodies: unknown[] = [];
  const t = { json: async (req: { body?: unknown }) => (bodies.push(req.body), { Id: "x", Warnings: [] }) } as unknown as Transport;
  return { containers: new Containers(t, engine), bodies };
}

describe("container create: stop timeout", () => {
  test("on Podman a body without StopTimeout gets 10 s; one with it keeps its own", async () => {
    const { containers, bodies } = capture("podman");
    await containers.create({ Image: "busybox" });
    await containers.create({ Image: "busybox", StopTimeout: 3 });
    await containers.create({ Image: "busybox", StopTimeout: 0 });
    expect(bodies.map((b) => (b as { StopTimeout?: number }).StopTimeout)).toEqual([10, 3, 0]);
  });

  test("on Docker the body is sent as it is (the engine applies its own default)", async () => {
    const { containers, bodies } = capture("docker");
    await containers.create({ Image: "busybox" });
    expect(bodies).toEqual([{ Image: "busybox" }]);
  });
});
