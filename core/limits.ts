/**
 * Every limit Fizz puts on input, in one place. Each is enforced where input
 * enters (compose reads, API bodies, names, replica counts, errors that echo a
 * value) and each error names the limit and the value that crossed it
 * (`limitMessage`). README.md "Limits" lists them; test/core/limits.test.ts
 * keeps that table and this file in step. Change a value here, nowhere else.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

export interface Limit {
  /** The value. */
  readonly max: number;
  /** How a user reads it in an error: "file size limit". */
  readonly label: string;
  /** Unit of `max`, for printing: bytes print as KiB/MiB. */
  readonly unit: "bytes" | "levels" | "characters" | "replicas" | "services" | "files" | "ms" | "entries";
}

export const LIMITS = {
  /**
   * One file that compose reads: a compose file, an include, extends.file,
   * .env, --env-file, env_file. A 1,000-service compose file is ~100 KiB; this
   * leaves 80x room and keeps a hostile project's memory bounded.
   */
  fileBytes: { max: 8 * MiB, label: "file size limit", unit: "bytes" },
  /**
   * All files one project load reads together (includes, extends, env files).
   * Bounds what a chain of large includes can make a process hold.
   */
  projectBytes: { max: 32 * MiB, label: "project size limit", unit: "bytes" },
  /** Files one project load may read (includes, extends.file, env files): bounds a fan-out of includes. */
  projectFiles: { max: 256, label: "files per project limit", unit: "files" },
  /**
   * A request body the agent's API accepts (a deployment carries the normalised
   * project in it); the node config's api.max_body_bytes overrides it.
   */
  bodyBytes: { max: 8 * MiB, label: "request body limit", unit: "bytes" },
  /** A request body must arrive within this once its headers have (slow or stalled clients get a 408). */
  bodyTimeoutMs: { max: 30_000, label: "request body timeout", unit: "ms" },
  /** Request headers must arrive within this of a connection opening. */
  headersTimeoutMs: { max: 10_000, label: "request headers timeout", unit: "ms" },
  /**
   * One message of cluster state from a peer (a push-pull stream message, a
   * state delta): peers are authenticated, so this bounds a bug or a huge
   * state, not an attacker.
   */
  clusterMessageBytes: { max: 64 * MiB, label: "cluster message limit", unit: "bytes" },
  /**
   * Nesting of YAML and JSON documents (mappings and lists inside each other).
   * Real compose files nest under 10 levels; every walk over a value above
   * this depth could exhaust the stack, so deeper input is refused at parse.
   */
  nestingDepth: { max: 64, label: "nesting depth limit", unit: "levels" },
  /**
   * Names of projects, services, networks, volumes, secrets and configs, in
   * compose, on the command line and in API paths. 63 is a DNS label's limit
   * (RFC 1035): service names become DNS names in the cluster.
   */
  nameLength: { max: 63, label: "name length limit", unit: "characters" },
  /**
   * Services in one project. Ten times the largest project we benchmark
   * (bench/compose.ts, 1,000 services); past it a project's memory and
   * planning time, not its usefulness, grow (60,000 services: 336 MB).
   */
  services: { max: 10_000, label: "services per project limit", unit: "services" },
  /**
   * Replicas of one service (deploy.replicas, scale:, `fizz scale`,
   * --scale). Leaves room for every node of a large cluster to run several,
   * while one service's plan stays a few milliseconds.
   */
  replicas: { max: 1000, label: "replicas limit", unit: "replicas" },
  /**
   * Characters of a user's value repeated in an error message or a log line;
   * the rest is cut with a note of how long it was. Keeps a 1 MiB value from
   * becoming a 1 MiB error (or log line every retry).
   */
  echoChars: { max: 120, label: "echoed value limit", unit: "characters" },
  /**
   * Characters of one error message, hint or path (FizzError, compose
   * diagnostics): the safety net behind echoChars, for a message that puts a
   * long value in without echo().
   */
  messageChars: { max: 1000, label: "message length limit", unit: "characters" },
  /**
   * One secret's or config's value (`fizz secret create`, compose secrets and
   * configs). Secrets are keys, passwords and certificates; every version
   * travels in the replicated state to every node, so this bounds what one
   * secret costs the cluster (Swarm's limit is 500 KB).
   */
  secretBytes: { max: 1 * MiB, label: "secret size limit", unit: "bytes" },
  /**
   * One manifest or index pushed to (or fetched by) the registry: the OCI
   * distribution spec asks registries to take at least 4 MiB, distribution's
   * own limit. Bigger is refused with 413 before it is read.
   */
  manifestBytes: { max: 4 * MiB, label: "manifest size limit", unit: "bytes" },
  /**
   * A repository name in the registry: what docker, podman and skopeo accept
   * (the whole `host/name` is capped at 255 by most clients).
   */
  repositoryNameChars: { max: 255, label: "repository name length limit", unit: "characters" },
  /**
   * One page of the registry's `_catalog` or `tags/list` (`n`): larger pages
   * are refused, not allocated (distribution's CVE-2023-2253 was an `n` of a
   * billion becoming one allocation).
   */
  registryPage: { max: 1000, label: "registry page limit", unit: "entries" },
} as const satisfies Record<string, Limit>;

export type LimitName = keyof typeof LIMITS;

export const MAX_FILE_BYTES = LIMITS.fileBytes.max;
export const MAX_PROJECT_BYTES = LIMITS.projectBytes.max;
export const MAX_PROJECT_FILES = LIMITS.projectFiles.max;
export const MAX_BODY_BYTES = LIMITS.bodyBytes.max;
export const MAX_CLUSTER_MESSAGE_BYTES = LIMITS.clusterMessageBytes.max;
export const BODY_TIMEOUT_MS = LIMITS.bodyTimeoutMs.max;
export const HEADERS_TIMEOUT_MS = LIMITS.headersTimeoutMs.max;
export const MAX_NESTING_DEPTH = LIMITS.nestingDepth.max;
export const MAX_NAME_LENGTH = LIMITS.nameLength.max;
export const MAX_REPLICAS = LIMITS.replicas.max;
export const MAX_SERVICES = LIMITS.services.max;
export const MAX_ECHO_CHARS = LIMITS.echoChars.max;
export const MAX_MESSAGE_CHARS = LIMITS.messageChars.max;
export const MAX_SECRET_BYTES = LIMITS.secretBytes.max;

/** `8 MiB`, `64 levels`, `30000 ms`. */
export function formatAmount(n: number, unit: Limit["unit"]): string {
  if (unit !== "bytes") return `${n} ${unit}`;
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= KiB && n % KiB === 0) return `${n / KiB} KiB`;
  return `${n} bytes`;
}

/** "the file size limit (8 MiB)". */
export function describeLimit(name: LimitName, max: number = LIMITS[name].max): string {
  const l: Limit = LIMITS[name];
  return `the ${l.label} (${formatAmount(max, l.unit)})`;
}

/**
 * `<subject> is <value>, over the file size limit (8 MiB)`: the sentence every
 * limit error uses. `value` is in the limit's unit; `max` overrides the
 * default when a node configured its own.
 */
export function limitMessage(name: LimitName, subject: string, value: number | string, max?: number): string {
  const l: Limit = LIMITS[name];
  const v = typeof value === "number" ? (l.unit === "bytes" ? `${value} bytes` : `${value} ${l.unit}`) : value;
  return `${subject} is ${v}, over ${describeLimit(name, max)}`;
}

/**
 * A user's value for an error message: whole when short, else its first
 * MAX_ECHO_CHARS characters, then how long it really was. Control characters
 * (NUL, escapes, newlines) are shown escaped so a message stays one line.
 */
export function echo(value: string, max: number = MAX_ECHO_CHARS): string {
  const cut = value.length > max ? value.slice(0, max) : value;
  // eslint-disable-next-line no-control-regex
  const safe = cut.replace(/[\u0000-\u001f\u007f]/g, (c) => (c === "\n" ? "\\n" : c === "\t" ? "\\t" : `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`));
  return value.length > max ? `${safe}… (${value.length} characters)` : safe;
}

/**
 * Why `name` cannot be a name of this kind (`service`, `project`, …) because
 * of its length, or undefined: "service name 'aaaa…' is 10000 characters,
 * over the name length limit (63 characters)".
 */
export function nameTooLong(kind: string, name: string): string | undefined {
  if (name.length <= MAX_NAME_LENGTH) return undefined;
  return limitMessage("nameLength", `${kind} name '${echo(name, 40)}'`, name.length);
}

/**
 * Longest container reference the API accepts: Compose's container names are
 * `<project>-<service>-<number>` (two names, two dashes, up to 6 digits), and
 * engine ids are 64 hex characters.
 */
export const MAX_CONTAINER_REF_LENGTH = 2 * MAX_NAME_LENGTH + 8;

/**
 * A message fit to print or log: every quoted value longer than the echoed
 * value limit cut like echo() does, then the whole held to the message length
 * limit. Linear in the message; short messages come back as they are.
 */
export function boundMessage(message: string): string {
  if (message.length <= MAX_ECHO_CHARS) return message;
  const quoted = message.replace(/'([^'\n]{121,})'|"([^"\n]{121,})"/g, (_m, a: string | undefined, b: string | undefined) => (a !== undefined ? `'${echo(a)}'` : `"${echo(b!)}"`));
  return quoted.length <= MAX_MESSAGE_CHARS ? quoted : `${quoted.slice(0, MAX_MESSAGE_CHARS)}… (${quoted.length} characters)`;
}
