/**
 * Upstream credentials from the user's docker `config.json`, read when an
 * upstream asks for them (so a `docker login` after the agent started is
 * seen), with `credHelpers` / `credsStore` run the way docker runs them
 * (`docker-credential-<helper> get`, the host on stdin, JSON on stdout).
 * Which entry applies is core/registry/auth.ts's decision.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { credentialsFor, type Credentials } from "../../core/registry/index.ts";

/** `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`, unless a path is configured. */
export function dockerConfigPath(configured: string, env: Readonly<Record<string, string | undefined>> = process.env): string {
  if (configured) return configured;
  if (env.DOCKER_CONFIG) return join(env.DOCKER_CONFIG, "config.json");
  return join(homedir(), ".docker", "config.json");
}

function runHelper(helper: string, host: string): Promise<Credentials | undefined> {
  return new Promise((resolve) => {
    const child = execFile(`docker-credential-${helper}`, ["get"], { timeout: 10_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      if (err) return resolve(undefined);
      try {
        const o = JSON.parse(stdout) as { Username?: unknown; Secret?: unknown };
        if (typeof o.Secret !== "string") return resolve(undefined);
        const username = typeof o.Username === "string" ? o.Username : "";
        // docker's convention: "<token>" as the username marks an identity token.
        resolve(username === "<token>" ? { kind: "identity-token", username: "", token: o.Secret } : { kind: "basic", username, password: o.Secret });
      } catch {
        resolve(undefined);
      }
    });
    child.stdin?.end(host === "docker.io" ? "https://index.docker.io/v1/" : host);
  });
}

/** Looks up credentials for a host (as users name it: `docker.io`, `ghcr.io`, `10.0.0.5:5000`). */
export async function dockerCredentials(path: string, host: string): Promise<Credentials | undefined> {
  let config: unknown;
  try {
    config = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
  const c = credentialsFor(config, host);
  if (c?.kind !== "helper") return c;
  return runHelper(c.helper, host);
}
