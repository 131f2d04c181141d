/**
 * Which repositories of Fizz's registry are mirrors of another registry.
 * A pull-through repository carries its upstream in its first path
 * component: `docker.io/library/busybox`, `ghcr.io/org/app`, and for a
 * registry on a port `10.0.0.5_5000/team/api` (`:` is not allowed in a
 * repository name; `_` is never part of a host name, so `host_port` is
 * unambiguous). The first component is an upstream when it has a `.` or
 * is `localhost` (Docker's rule for hosts). `fizz/…` holds images
 * `fizz up` built and pushed. Everything else is an ordinary pushed
 * repository.
 */
import { DOCKER_HUB, type ImageRef } from "./image-ref.ts";
import { isRepoName, type RepoName } from "./name.ts";

/** Where `fizz up` pushes the images it builds. */
export const BUILD_NAMESPACE = "fizz";

export type Namespace =
  | {
      readonly kind: "upstream";
      /** The upstream as users name it (`docker.io`, `10.0.0.5:5000`). */
      readonly host: string;
      /** host:port to connect to (`registry-1.docker.io` for Docker Hub). */
      readonly endpoint: string;
      /** The repository path on the upstream. */
      readonly remote: string;
    }
  | { readonly kind: "build" }
  | { readonly kind: "local" };

const HOST_PORT_RE = /^(.+)_([0-9]{1,5})$/;

export function namespaceOf(repo: string): Namespace {
  const slash = repo.indexOf("/");
  if (slash < 0) return { kind: "local" };
  const first = repo.slice(0, slash);
  if (first === BUILD_NAMESPACE) return { kind: "build" };
  const hp = HOST_PORT_RE.exec(first);
  const hostOnly = hp ? hp[1]! : first;
  if (!(hostOnly.includes(".") || hostOnly === "localhost")) return { kind: "local" };
  const host = hp ? `${hp[1]}:${hp[2]}` : first;
  const remote = repo.slice(slash + 1);
  if (host === DOCKER_HUB) return { kind: "upstream", host, endpoint: "registry-1.docker.io", remote: remote.includes("/") ? remote : `library/${remote}` };
  return { kind: "upstream", host, endpoint: host, remote };
}

/** `10.0.0.5:5000` → `10.0.0.5_5000`; undefined for hosts a repository name cannot carry (IPv6 literals). */
export function hostComponent(host: string): string | undefined {
  const c = host.toLowerCase().replace(/:([0-9]{1,5})$/, "_$1");
  return isRepoName(c) ? c : undefined;
}

/** The local mirror repository for an image on another registry, undefined when its host cannot be carried. */
export function mirrorRepo(ref: ImageRef): RepoName | undefined {
  const c = hostComponent(ref.host);
  if (c === undefined) return undefined;
  const name = `${c}/${ref.path}`;
  return isRepoName(name) ? name : undefined;
}

/** Cache repositories (mirrors and builds) are evicted by GC when unused; pushed ones are kept until deleted. */
export function isCacheRepo(repo: string): boolean {
  return namespaceOf(repo).kind !== "local";
}

/**
 * Whether an upstream may be spoken to over plain HTTP: only when listed in
 * `registry.insecure` / FIZZ_REGISTRY_INSECURE, as `host:port` or as `host`
 * (any port). Everything else is HTTPS with a verified certificate.
 */
export function isInsecureUpstream(endpoint: string, insecure: readonly string[]): boolean {
  const e = endpoint.toLowerCase();
  const host = e.replace(/:[0-9]+$/, "");
  return insecure.some((x) => {
    const i = x.trim().toLowerCase();
    return i !== "" && (i === e || i === host);
  });
}

/** Parses the comma-separated FIZZ_REGISTRY_INSECURE form. */
export function parseInsecureList(s: string | undefined): string[] {
  return (s ?? "")
    .split(",")
    .map((x) => x.trim())
    .filter((x) => x.length > 0);
}
