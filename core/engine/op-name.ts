/**
 * A low-cardinality name for an engine API call, for the
 * `fizz_engine_request_duration_seconds{op}` metric: "container.start",
 * "container.list", "network.create", "image.pull", "system.ping", … Names,
 * ids and image references in the path never reach the label (an image
 * reference may contain slashes: only its last segment is read), and the
 * version or libpod prefix is dropped, so Docker and Podman calls share names.
 */

const COLLECTION: Readonly<Record<string, string>> = {
  containers: "container",
  networks: "network",
  images: "image",
  volumes: "volume",
  exec: "exec",
  build: "image",
  distribution: "image",
  _ping: "system",
  version: "system",
  info: "system",
  events: "system",
  system: "system",
};

/** Verbs that name themselves when they end a path (`/containers/{id}/start`). */
const VERBS = new Set(["start", "stop", "restart", "kill", "pause", "unpause", "wait", "logs", "attach", "resize", "top", "rename", "archive", "exec", "connect", "disconnect", "tag", "push", "history", "get", "healthcheck", "prune", "df"]);

export function engineOp(method: string, path: string): string {
  const bare = path.split("?")[0]!;
  let parts = bare.split("/").filter(Boolean);
  if (parts[0] && /^v\d+(\.\d+)*$/.test(parts[0])) parts = parts.slice(1);
  if (parts[0] === "libpod") parts = parts.slice(1);
  const head = parts[0] ?? "";
  const collection = COLLECTION[head];
  if (!collection) return "other";
  if (head === "system") return parts[1] === "df" ? "system.df" : parts[1] === "info" ? "system.info" : "other";
  if (collection === "system") return `system.${head === "_ping" ? "ping" : head}`;
  if (head === "build") return "image.build";
  if (head === "distribution") return "image.distribution";
  const m = method.toUpperCase();
  if (parts.length === 1) return `${collection}.${m === "GET" || m === "HEAD" ? "list" : m === "POST" ? "create" : byMethod(m)}`;
  const second = parts[1]!;
  if (parts.length === 2 && second === "json") return `${collection}.list`;
  if (parts.length === 2 && second === "create") return collection === "image" ? "image.pull" : `${collection}.create`;
  if (parts.length === 2 && (second === "pull" || second === "prune" || second === "load" || second === "search")) return `${collection}.${second}`;
  const last = parts[parts.length - 1]!;
  if (parts.length >= 3 && last === "json") return `${collection}.inspect`;
  if (parts.length >= 3 && VERBS.has(last)) return `${collection}.${last}`;
  return `${collection}.${byMethod(m)}`;
}

function byMethod(m: string): string {
  return m === "GET" || m === "HEAD" ? "inspect" : m === "DELETE" ? "remove" : m === "PUT" ? "put" : "post";
}
