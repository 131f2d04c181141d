/**
 * Turns what goes wrong talking to a container engine into FizzErrors a user
 * can act on. Pure: the transport hands over the socket error code or the
 * HTTP status and the engine's message; this decides code, message and hint.
 * Docker and Podman word the same failure differently, so each rule matches
 * both phrasings, and anything unrecognised keeps the engine's own message.
 */
import { FizzError } from "../errors.ts";

export type EngineName = "docker" | "podman";
export type SubjectKind = "image" | "container" | "network" | "volume" | "exec";

/** What the failed call was about, for messages ("creating container web-1"). */
export interface EngineCallContext {
  readonly method: string;
  readonly path: string;
  /** Human description of the operation, e.g. "create container". */
  readonly action?: string;
  readonly subject?: { readonly kind: SubjectKind; readonly name: string };
  /** The image the call needs (e.g. the image of a container being created). */
  readonly image?: string;
  /** Image policy in force, so the hint for a missing image can mention it. */
  readonly pull?: "always" | "missing" | "never" | "build";
}

/** Where we tried to reach the engine, for connection errors. */
export interface EngineEndpointInfo {
  /** "unix:///var/run/docker.sock" or "tcp://host:2375" */
  readonly address: string;
  /** The socket path for unix endpoints. */
  readonly socketPath?: string;
  /** Which engine we expected there, when known. */
  readonly engine?: EngineName;
}

export const ENGINE_ERROR_CODES = [
  "engine.unreachable",
  "engine.permission_denied",
  "engine.timeout",
  "engine.api_version",
  "engine.image_not_found",
  "engine.registry_unreachable",
  "engine.port_allocated",
  "engine.name_conflict",
  "engine.not_found",
  "engine.conflict",
  "engine.bad_request",
  "engine.api_error",
  "engine.protocol",
] as const;
export type EngineErrorCode = (typeof ENGINE_ERROR_CODES)[number];

function startHint(ep: EngineEndpointInfo): string {
  const podman = "start Podman's API: 'mkdir -p /run/podman && podman system service --time=0 unix:///run/podman/podman.sock &' (install: 'apt-get install podman')";
  const docker = "start Docker: 'sudo systemctl start docker' or 'sudo dockerd &' (install: 'apt-get install docker.io')";
  const pick = ep.engine === "podman" ? podman : ep.engine === "docker" ? docker : `${docker}; or ${podman}`;
  return `${pick}; or point DOCKER_HOST / --engine at a running engine`;
}

/** A failure to open a connection (errno-style code from the socket layer). */
export function engineConnectError(code: string, ep: EngineEndpointInfo, detail?: string): FizzError {
  const where = ep.socketPath ?? ep.address;
  const extra = detail ? ` (${detail})` : "";
  switch (code) {
    case "ENOENT":
      return new FizzError({ code: "engine.unreachable", message: `no container engine at ${where}`, hint: startHint(ep) });
    case "ECONNREFUSED":
      return new FizzError({
        code: "engine.unreachable",
        message: `no container engine answers at ${where}: connection refused`,
        hint: startHint(ep),
      });
    case "EACCES":
    case "EPERM":
      return new FizzError({
        code: "engine.permission_denied",
        message: `permission denied opening the container engine socket ${where}`,
        hint:
          ep.engine === "podman"
            ? "run as root, or use rootless Podman's socket: 'systemctl --user start podman.socket' and --engine podman (uses $XDG_RUNTIME_DIR/podman/podman.sock)"
            : "add your user to the docker group ('sudo usermod -aG docker $USER', then log in again), or run as root",
      });
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
    case "UND_ERR_HEADERS_TIMEOUT":
    case "UND_ERR_BODY_TIMEOUT":
      return new FizzError({
        code: "engine.timeout",
        message: `the container engine at ${where} did not answer in time${extra}`,
        hint: "the engine may be overloaded or hung; check its logs (journalctl -u docker, /var/log/fizz-dockerd.log)",
      });
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return new FizzError({
        code: "engine.unreachable",
        message: `cannot reach the container engine at ${where}${extra}`,
        hint: "check DOCKER_HOST and that the engine host is up",
      });
    default:
      return new FizzError({
        code: "engine.unreachable",
        message: `lost the connection to the container engine at ${where}: ${code}${extra}`,
        hint: startHint(ep),
      });
  }
}

/** The port from "Bind for 0.0.0.0:8080 failed" (Docker) or "listen tcp4 0.0.0.0:8080: bind" (Podman). */
export function allocatedPort(message: string): { host: string; port: number } | undefined {
  const m =
    /Bind for (\S*?):(\d+) failed/.exec(message) ??
    /listen (?:tcp|udp)[46]? (\S*?):(\d+): bind/.exec(message) ??
    /(?:port|address) (\S*?):(\d+) (?:is )?already/.exec(message);
  if (!m) return undefined;
  return { host: m[1] || "0.0.0.0", port: Number(m[2]) };
}

/** The name and holder from Docker's and Podman's name-conflict messages. */
export function conflictingName(message: string): { name: string; holder?: string } | undefined {
  const m = /name "\/?([^"]+)" is already in use(?: by(?: container)? "?([0-9a-f]{6,64})"?)?/i.exec(message);
  if (!m) return undefined;
  return m[2] ? { name: m[1]!, holder: m[2] } : { name: m[1]! };
}

const IMAGE_MISSING =
  /no such image|image not known|manifest unknown|pull access denied|repository does not exist|not found: manifest|failed to resolve reference|unable to find image/i;

const CONTAINER_GONE = /does not exist in database: no such container/i;

const REGISTRY_DOWN = /no such host|dial tcp|i\/o timeout|connection refused|TLS handshake timeout|network is unreachable|pinging container registry/i;

function describe(ctx: EngineCallContext): string {
  const what = ctx.action ?? `${ctx.method} ${ctx.path.split("?")[0]}`;
  return ctx.subject && !what.includes(ctx.subject.name) ? `${what} ${ctx.subject.name}` : what;
}

function imageRefIn(message: string): string | undefined {
  const m = (/no such image: (\S+)/i.exec(message) ?? /^(\S+?): image not known/i.exec(message) ?? /image (?:"|')?([^\s"']+)(?:"|')? not found/i.exec(message))?.[1];
  return m?.replace(/:$/, "");
}

/** An HTTP error answer from the engine (status >= 400), with the engine's `message`. */
export function engineHttpError(status: number, engineMessage: string, ctx: EngineCallContext): FizzError {
  const msg = engineMessage.trim() || `HTTP ${status}`;
  const doing = describe(ctx);
  const base = { cause: { status, engineMessage: msg, method: ctx.method, path: ctx.path } };

  const port = /port is already allocated|address already in use/i.test(msg) ? allocatedPort(msg) : undefined;
  if (port || /port is already allocated/i.test(msg)) {
    const which = port ? `host port ${port.port}` : "a host port";
    return new FizzError({
      ...base,
      code: "engine.port_allocated",
      message: `${which} is already allocated${port && port.host !== "0.0.0.0" ? ` on ${port.host}` : ""} (while trying to ${doing})`,
      hint: port
        ? `stop whatever holds port ${port.port} ('ss -ltnp "sport = :${port.port}"' or 'docker ps --filter publish=${port.port}') or publish the service on another host port`
        : "stop whatever holds the port or publish the service on another host port",
    });
  }

  const name = conflictingName(msg);
  if (name) {
    return new FizzError({
      ...base,
      code: "engine.name_conflict",
      message: `container name '${name.name}' is already in use${name.holder ? ` by container ${name.holder.slice(0, 12)}` : ""}`,
      hint: `remove it ('docker rm -f ${name.name}') or choose another name`,
    });
  }

  const imageCall = ctx.subject?.kind === "image" || /\/(images|build|containers\/create)/.test(ctx.path);
  if ((status === 404 || status === 500 || status === 400) && IMAGE_MISSING.test(msg) && imageCall) {
    const ref = ctx.image ?? (ctx.subject?.kind === "image" ? ctx.subject.name : undefined) ?? imageRefIn(msg) ?? "the image";
    const shown = ref === "the image" ? ref : `image '${ref}'`;
    return new FizzError({
      ...base,
      code: "engine.image_not_found",
      message: `${shown} not found on the engine (while trying to ${doing})`,
      hint:
        ctx.pull === "never"
          ? `with --pull never fizz does not pull: build it, or pull it first ('docker pull ${ref}')`
          : ctx.pull === "build"
          ? `the service builds this image ('pull_policy: build'); run the build first ('fizz up --build')`
          : `pull it ('docker pull ${ref}') or build it; check the name and tag`,
    });
  }

  const pulling = /\/images\/create/.test(ctx.path) || /pull/.test(ctx.action ?? "");
  if (pulling && REGISTRY_DOWN.test(msg)) {
    const ref = ctx.image ?? (ctx.subject?.kind === "image" ? ctx.subject.name : "the image");
    return new FizzError({
      ...base,
      code: "engine.registry_unreachable",
      message: `cannot pull ${ref}: the registry is unreachable (${msg})`,
      hint: "check the network and DNS of the engine host, or build the image / load it ('docker load') and use --pull never",
    });
  }

  // Podman answers 500, not 404, when a container listed a moment ago is removed while it is inspected
  // ("container <id> does not exist in database: no such container"): it is gone, like a 404.
  if (status === 404 || (status === 500 && CONTAINER_GONE.test(msg))) {
    const subj = ctx.subject ? `${ctx.subject.kind} '${ctx.subject.name}'` : "the object";
    return new FizzError({ ...base, code: "engine.not_found", message: `${subj} not found (while trying to ${doing}): ${msg}` });
  }
  if (status === 409) {
    return new FizzError({ ...base, code: "engine.conflict", message: `the engine refused to ${doing}: ${msg}` });
  }
  if (status === 400) {
    return new FizzError({
      ...base,
      code: "engine.bad_request",
      message: `the engine rejected the request to ${doing}: ${msg}`,
      hint: "this is usually a value the engine does not accept; check the compose field it names",
    });
  }
  return new FizzError({ ...base, code: "engine.api_error", message: `the engine failed to ${doing}: ${msg}` });
}

export function engineApiVersionError(reason: string, ep: EngineEndpointInfo): FizzError {
  return new FizzError({
    code: "engine.api_version",
    message: `unsupported container engine at ${ep.socketPath ?? ep.address}: ${reason}`,
    hint: "upgrade to Docker 20.10 or newer, or Podman 4 or newer",
  });
}

export function engineProtocolError(detail: string, ctx: EngineCallContext): FizzError {
  return new FizzError({ code: "engine.protocol", message: `unexpected answer from the engine to ${describe(ctx)}: ${detail}` });
}
