/**
 * The Docker Engine API client (Docker, and Podman's compat API) over undici.
 * `connectEngine()` finds the engine (--engine, FIZZ_ENGINE, DOCKER_HOST,
 * well-known sockets), pings it, negotiates the API version and returns an
 * `Engine` with typed calls for images, containers, exec, networks, volumes
 * and events; `readEngineIdentity` says which engine instance it is. Every
 * failure is a FizzError (codes in core/engine/errors.ts).
 * Connects and ordinary calls are time-bounded; calls that wait by design
 * (container wait, follow logs, attach, events, build) stop on an AbortSignal.
 */
export { connectEngine, Engine, engineNameFromPing, ping, type ConnectOptions } from "./client.ts";
export { readEngineIdentity } from "./identity.ts";
export { candidateEndpoints, detectEndpoint, parseEngineAddress, DOCKER_SOCKET, PODMAN_ROOT_SOCKET, type EngineEndpoint } from "./detect.ts";
export { Transport, type TransportOptions, type CallOptions } from "./transport.ts";
export type { Containers, LogsOptions, AttachOptions } from "./containers.ts";
export type { Exec, ExecResult } from "./exec.ts";
export { splitRef, type Images, type BuildOptions, type PullPolicy } from "./images.ts";
export type { Networks } from "./networks.ts";
export type { Volumes } from "./volumes.ts";
export type { EventsOptions } from "./events.ts";
export { contextEntries, packContext } from "./build-context.ts";
export { collectOutput, type InteractiveStream, type OutputFrame } from "./streams.ts";
export { encodeFilters } from "./filters.ts";
export type * from "./types.ts";
export type { EngineName } from "../../core/engine/errors.ts";
