/**
 * Which engine instance an endpoint reaches, beyond its kind. Two endpoints
 * are the same engine when their identities are equal: a symlinked socket,
 * Podman's docker-compatible socket, or a TCP port in front of the same daemon
 * all compare equal, and Docker on one host never equals Docker on another.
 *
 * Docker's `/info` ID is the daemon's persistent engine ID, but Docker 20.10
 * derives it from /etc/docker/key.json, so every daemon on one machine shares
 * it (measured: three dockerds with their own data roots in network
 * namespaces report one ID); with the data root beside it, two daemons
 * differ while two addresses of one daemon still compare equal. Podman's compatible `/info` answers a fresh UUID on every call
 * (measured with Podman 4.3), so Podman is identified by its host name and
 * storage root instead: rootful and rootless Podman on one host differ there.
 */
import type { EngineName } from "./errors.ts";

export interface EngineIdentity {
  readonly name: EngineName;
  /** Stable across calls and connections; equal for one engine reached at different addresses. */
  readonly id: string;
  /** Where the reporting side reached it, e.g. `unix:///var/run/docker.sock`. */
  readonly address: string;
}

/** The fields of the engine's `/info` answer that identify it. */
export interface EngineInfoFields {
  readonly ID?: string | undefined;
  readonly Name?: string | undefined;
  readonly DockerRootDir?: string | undefined;
}

export function engineInstanceId(name: EngineName, info: EngineInfoFields): string {
  if (name === "docker" && info.ID) return `docker:${info.ID}${info.DockerRootDir ? `:${info.DockerRootDir}` : ""}`;
  return `${name}:${info.Name ?? ""}:${info.DockerRootDir ?? ""}`;
}

/** Reads an identity another process reported (the agent's `/v1/info`), or undefined when it is not one. */
export function parseEngineIdentity(v: unknown): EngineIdentity | undefined {
  if (typeof v !== "object" || v === null) return undefined;
  const o = v as Record<string, unknown>;
  if ((o.name !== "docker" && o.name !== "podman") || typeof o.id !== "string" || o.id === "" || typeof o.address !== "string") return undefined;
  return { name: o.name, id: o.id, address: o.address };
}
