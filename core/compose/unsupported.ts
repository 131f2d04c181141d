/**
 * Fields Fizz parses and keeps in the model but cannot honour yet. Each one is
 * reported as a warning at validate time (never silently dropped). The rule:
 * a field is honoured when the Docker Engine container/network/volume create
 * APIs can express it (the engine translator maps it); the ones below need
 * machinery Fizz does not have yet, or only make sense on Windows/Swarm.
 */
export interface Unsupported {
  /** Path pattern inside a service ("develop", "build.ssh") or a top-level element ("networks.*.driver_opts"). */
  readonly field: string;
  readonly why: string;
}

export const UNSUPPORTED_SERVICE_FIELDS: readonly Unsupported[] = [
  { field: "provider", why: "provider services" },
  { field: "models", why: "model runner integration" },
  { field: "use_api_socket", why: "Fizz does not proxy the engine socket into containers" },
  { field: "credential_spec", why: "Windows-only (gMSA)" },
  { field: "isolation", why: "Windows-only" },
  { field: "pre_start", why: "lifecycle hooks are not run yet" },
  { field: "post_start", why: "lifecycle hooks are not run yet" },
  { field: "pre_stop", why: "lifecycle hooks are not run yet" },
  { field: "label_file", why: "label files are not read yet" },
  { field: "attach", why: "fizz logs always attaches to every service" },
  { field: "external_links", why: "legacy links to containers outside the project are not created" },
  { field: "pull_refresh_after", why: "pull_policy: refresh is treated as missing" },
  { field: "build.ssh", why: "SSH forwarding into builds" },
  { field: "build.no_cache_filter", why: "per-stage cache invalidation needs BuildKit; use --no-cache" },
  { field: "build.entitlements", why: "build entitlements" },
  { field: "build.cache_to", why: "build cache export" },
  { field: "build.platforms", why: "multi-platform builds" },
  { field: "build.additional_contexts", why: "additional build contexts" },
  { field: "build.provenance", why: "build attestations" },
  { field: "build.sbom", why: "build attestations" },
  { field: "deploy.labels", why: "Swarm service labels have no container equivalent; use labels" },
  { field: "deploy.endpoint_mode", why: "Fizz always uses DNS round-robin plus its own ingress" },
  { field: "deploy.resources.reservations.generic_resources", why: "Swarm generic resources have no engine equivalent" },
];

export const UNSUPPORTED_TOP_FIELDS: readonly Unsupported[] = [{ field: "configs.*.template_driver", why: "config templating" }, { field: "secrets.*.driver", why: "secret drivers are Swarm-only" }, { field: "secrets.*.template_driver", why: "secret templating" }];

/** Does `obj` have a value at a dotted path (`build.ssh`)? */
export function hasPath(obj: unknown, dotted: string): boolean {
  let cur: unknown = obj;
  for (const seg of dotted.split(".")) {
    if (typeof cur !== "object" || cur === null || !Object.hasOwn(cur, seg)) return false;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur !== undefined;
}
