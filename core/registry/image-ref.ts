/**
 * Image references as users write them (`busybox`, `ghcr.io/o/app:1`,
 * `10.0.0.5:5000/team/api@sha256:…`), parsed the way Docker's reference
 * package does: the first component is a registry host when it has a `.` or
 * a `:`, or is `localhost`; otherwise the image is on Docker Hub, where a
 * one-component path lives under `library/`. Tag defaults to `latest`.
 */
import { isDigest, type Digest } from "./digest.ts";
import { isRepoName, isTag } from "./name.ts";

export const DOCKER_HUB = "docker.io";

export interface ImageRef {
  /** Registry host as written (`docker.io` for Docker Hub), with `:port` if any. */
  readonly host: string;
  /** Repository path on that registry (`library/busybox`). */
  readonly path: string;
  readonly tag?: string;
  readonly digest?: Digest;
}

function isHost(component: string): boolean {
  return component.includes(".") || component.includes(":") || component === "localhost";
}

const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)(?::[0-9]{1,5})?$/;

/** Parses a docker-style image reference; undefined when it is not one. */
export function parseImageRef(ref: string): ImageRef | undefined {
  if (ref.length === 0 || ref.length > 512) return undefined;
  let rest = ref;
  let digest: Digest | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    const d = rest.slice(at + 1);
    if (!isDigest(d)) return undefined;
    digest = d;
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    if (!isTag(tag)) return undefined;
    rest = rest.slice(0, colon);
  }
  const slash = rest.indexOf("/");
  let host = DOCKER_HUB;
  let path = rest;
  if (slash > 0 && isHost(rest.slice(0, slash))) {
    host = rest.slice(0, slash);
    path = rest.slice(slash + 1);
    if (!HOST_RE.test(host)) return undefined;
  }
  if (host === "index.docker.io" || host === "registry-1.docker.io") host = DOCKER_HUB;
  if (host === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;
  if (!isRepoName(path)) return undefined;
  return { host, path, ...(tag !== undefined ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `docker.io/library/busybox:latest`: the fully qualified form, tag defaulted when there is no digest. */
export function canonicalImageRef(r: ImageRef): string {
  const tag = r.tag ?? (r.digest ? undefined : "latest");
  return `${r.host}/${r.path}${tag !== undefined ? `:${tag}` : ""}${r.digest ? `@${r.digest}` : ""}`;
}

/** The short form Docker prints and tags with: `busybox:latest`, `ghcr.io/o/app:1`. */
export function familiarImageRef(r: ImageRef): string {
  const path = r.host === DOCKER_HUB && r.path.startsWith("library/") ? r.path.slice("library/".length) : r.path;
  const name = r.host === DOCKER_HUB ? path : `${r.host}/${path}`;
  const tag = r.tag ?? (r.digest ? undefined : "latest");
  return `${name}${tag !== undefined ? `:${tag}` : ""}${r.digest ? `@${r.digest}` : ""}`;
}
