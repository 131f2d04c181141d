/**
 * Engine availability for end-to-end tests. Locally, a test file whose engine
 * is missing is skipped with a visible note; with CI=true it fails, because
 * CI must run every engine test (`scripts/test.sh` sets the engines up).
 */
import { request } from "node:http";
import { existsSync } from "node:fs";

export type EngineKind = "docker" | "podman";

export const ENGINE_SOCKETS: Record<EngineKind, string> = {
  docker: process.env.FIZZ_TEST_DOCKER_SOCKET ?? "/var/run/docker.sock",
  podman: process.env.FIZZ_TEST_PODMAN_SOCKET ?? "/run/podman/podman.sock",
};

/** GET /_ping over the unix socket; true when the engine answers OK within 3 s. */
export function pingSocket(socketPath: string): Promise<boolean> {
  if (!existsSync(socketPath)) return Promise.resolve(false);
  return new Promise((resolve) => {
    const req = request({ socketPath, path: "/_ping", method: "GET", timeout: 3000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
    req.end();
  });
}

/**
 * The engine's socket path when it answers. Without an engine: throws under
 * CI=true (the run must fail loudly), otherwise returns undefined so the
 * caller can `describe.skipIf(!socket)`.
 */
export async function engineSocket(kind: EngineKind): Promise<string | undefined> {
  const socket = ENGINE_SOCKETS[kind];
  if (await pingSocket(socket)) return socket;
  const msg = `${kind} engine not reachable at ${socket}; run 'bash test/setup-engines.sh' (scripts/test.sh does this)`;
  if (process.env.CI === "true") throw new Error(`CI requires a ${kind} engine: ${msg}`);
  process.stderr.write(`skipping ${kind} tests: ${msg}\n`);
  return undefined;
}
