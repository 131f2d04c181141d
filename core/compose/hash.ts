/**
 * Config hash of a service, like Compose's `com.docker.compose.config-hash`:
 * sha256 of a canonical JSON of the service's normalised config. Replica count
 * (`scale`, `deploy.replicas`) is excluded so scaling does not recreate
 * containers; so are profiles and x-fizz scaling bounds for the same reason.
 */
import { sha256 } from "@noble/hashes/sha2.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";
import type { Project, Service } from "./model.ts";

/** JSON with object keys sorted at every level and undefined dropped: same meaning, same bytes. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return "null";
    return value === undefined ? "null" : JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj)
    .filter((k) => obj[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(",")}}`;
}

/** The part of a service that decides whether its containers must be recreated. */
export function hashableService(service: Service): unknown {
  const { scale: _scale, profiles: _profiles, deploy, x_fizz, ...rest } = service;
  const { replicas: _r, ...d } = deploy ?? {};
  const { scaling: _s, ...x } = x_fizz ?? {};
  // `deploy: {replicas: 3}` and no deploy at all must hash the same.
  return { ...rest, deploy: Object.keys(d).length ? d : undefined, x_fizz: Object.keys(x).length ? x : undefined };
}

/** sha256 hex of the canonical normalised config of `serviceName` (enabled or profile-disabled). */
export function serviceConfigHash(project: Project, serviceName: string): string {
  const service = own(project.services, serviceName) ?? own(project.disabled_services, serviceName);
  if (!service) throw new Error(`serviceConfigHash: no service '${serviceName}' in project '${project.name}'`);
  return configHashOf(service);
}

/** The config hash of one normalised service (what its containers are labelled with). */
export function configHashOf(service: Service): string {
  return bytesToHex(sha256(utf8ToBytes(canonicalJson(hashableService(service)))));
}

/** The build settings that decide what a `build:` produces, as the engine gets them (args resolved). */
export interface BuildSettings {
  readonly context: string;
  readonly dockerfile?: string;
  readonly args: Readonly<Record<string, string>>;
  readonly target?: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * sha256 hex of a service's build settings: Fizz labels each image it builds
 * with it, and an `up` whose settings differ from the present image's label
 * builds again (Compose would run the old image until `--build`).
 */
export function buildHash(b: BuildSettings): string {
  return bytesToHex(sha256(utf8ToBytes(canonicalJson({ context: b.context, dockerfile: b.dockerfile, args: b.args, target: b.target, labels: b.labels }))));
}

/** `obj[key]` for own keys only: user-chosen names like "constructor" must not reach Object.prototype. */
export function own<T>(obj: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}
