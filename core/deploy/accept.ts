/**
 * What the agent accepts as a deployment, decided before anything is stored
 * (issue 18 items 4 and 8). A deployment arrives as compose files with their
 * contents, or as the normalised project the CLI sends; either way it goes
 * through the compose loader, so it is checked exactly as `fizz validate`
 * checks a file (types, units, ports, references, limits), plus what no
 * engine could run (image references). The loader reads only what was sent:
 * a path the sender did not include (env_file, extends.file, include) is
 * missing here, never read from the agent's disk. A build context is a
 * directory on the agent's host, so only a local client (the unix socket,
 * same host) may use one.
 *
 * Pure: the caller passes the request; nothing here reads a file.
 */
import { posix } from "node:path";
import { diagnosticsError } from "../compose/diagnostics.ts";
import { loadProject } from "../compose/load.ts";
import type { Diagnostic, Project, SealedSource, SecretDef } from "../compose/model.ts";
import { projectDocument } from "../compose/serialize.ts";
import { FizzError } from "../errors.ts";
import { echo, limitMessage, MAX_REPLICAS } from "../limits.ts";
import { replicaCount } from "../compose/query.ts";
import { imageRefProblem } from "./image-ref.ts";

export interface DeploymentRequest {
  /** The deployment (project) name, from the URL. */
  readonly name: string;
  readonly files?: readonly { readonly name: string; readonly content: string }[];
  /** Other files the compose files refer to (env_file, extends.file, include), with their contents. */
  readonly attachments?: readonly { readonly name: string; readonly content: string }[];
  readonly project?: Readonly<Record<string, unknown>>;
  readonly env?: Readonly<Record<string, string>>;
  readonly profiles?: readonly string[];
  readonly workingDir?: string;
  /** The request came over the agent's unix socket (same host as the agent). */
  readonly local: boolean;
}

export type Acceptance = { readonly ok: true; readonly project: Project; readonly warnings: readonly string[] } | { readonly ok: false; readonly error: FizzError };

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The profile a sent project's disabled services are loaded under: never active, so they stay disabled. */
const SENDER_DISABLED = "fizz-disabled-by-sender";

/** Where a `project` body is written for the loader (it is never on disk). */
const PROJECT_FILE = "fizz-project.json";

export function acceptDeployment(req: DeploymentRequest): Acceptance {
  const cwd = req.workingDir && posix.isAbsolute(req.workingDir) ? posix.normalize(req.workingDir) : "/";
  let sent: Map<string, string>;
  let env: Readonly<Record<string, string>>;
  let profiles: readonly string[] | undefined;
  let files: readonly string[] | undefined;
  if (req.project !== undefined) {
    const why = notNormalised(req.project);
    if (why) return refused("api.bad_project", `project is not a normalised compose project: ${why}`, "send compose files as `files`, or the project `fizz up` sends (the CLI's normalised model)");
    // `sealed` (where a secret's value comes from, set by `fizz up`: core/secrets/compose.ts) is the model's, not compose's.
    const sealed = sealedSources(req.project);
    if (typeof sealed === "string") return refused("api.bad_project", `project is not a normalised compose project: ${sealed}`);
    // Services the sender's profiles leave out travel too (their containers are the project's, not orphans), under
    // a profile no load enables, so they stay disabled whatever the enabled services' profiles are; theirs are put back after.
    const disabledSent = req.project.disabled_services as Record<string, Record<string, unknown>>;
    const withDisabled = { ...req.project, services: { ...(req.project.services as Record<string, unknown>), ...Object.fromEntries(Object.entries(disabledSent).map(([k, s]) => [k, { ...s, profiles: [SENDER_DISABLED] }])) } };
    let doc: Record<string, unknown>;
    try {
      doc = projectDocument(withoutSealed(withDisabled) as unknown as Project);
    } catch (e) {
      return refused("api.bad_project", `project is not a normalised compose project: ${e instanceof Error ? e.message : String(e)}`);
    }
    const wd = typeof req.project.working_dir === "string" && posix.isAbsolute(req.project.working_dir) ? posix.normalize(req.project.working_dir) : cwd;
    sent = new Map([[posix.join(wd, PROJECT_FILE), JSON.stringify({ ...doc, name: req.name })]]);
    // The values are interpolated already (a literal `$` is written `$$` in the document).
    env = {};
    // Every service the sender enabled stays enabled.
    profiles = [...new Set(Object.values(req.project.services as Record<string, { profiles?: unknown }>).flatMap((s) => (Array.isArray(s.profiles) ? s.profiles.filter((p): p is string => typeof p === "string") : [])))];
    files = Array.isArray(req.project.files) ? req.project.files.filter((f): f is string => typeof f === "string") : undefined;
    const out = finish(req, load(req.name, wd, sent, env, profiles), files);
    if (!out.ok) return out;
    const disabled = Object.fromEntries(Object.entries(out.project.disabled_services).map(([k, svc]) => [k, Object.hasOwn(disabledSent, k) ? { ...svc, profiles: [...(disabledSent[k]!.profiles as string[])] } : svc]));
    return { ...out, project: withSealed({ ...out.project, disabled_services: disabled }, sealed) };
  }
  const list = req.files ?? [];
  if (!list.length) return refused("api.no_files", "a deployment needs compose files (files) or a normalised project (project)");
  const compose = list.map((f) => posix.resolve(cwd, f.name));
  sent = new Map([...(req.attachments ?? []), ...list].map((f) => [posix.resolve(cwd, f.name), f.content]));
  env = req.env ?? {};
  profiles = req.profiles;
  return finish(req, load(req.name, cwd, sent, env, profiles, compose), undefined, compose);
}

function load(name: string, cwd: string, sent: ReadonlyMap<string, string>, env: Readonly<Record<string, string>>, profiles: readonly string[] | undefined, compose: readonly string[] = [...sent.keys()]) {
  return {
    sent,
    result: loadProject({
      files: compose,
      projectName: name,
      projectDirectory: cwd,
      ...(profiles ? { profiles } : {}),
      cwd,
      env,
      // Only what was sent: anything else is missing, whatever the agent's disk holds.
      reader: { read: (p) => sent.get(p) },
    }),
  };
}

function finish(req: DeploymentRequest, loaded: ReturnType<typeof load>, files?: readonly string[], sentPaths?: readonly string[]): Acceptance {
  const { result, sent } = loaded;
  const errors = result.diagnostics.filter((d) => d.severity === "error");
  if (!result.project || errors.length) return { ok: false, error: diagnosticsError(result.diagnostics.map((d) => notSentHint(d, sent))) };
  const project: Project = { ...result.project, name: req.name, ...(files ? { files: [...files] } : sentPaths ? { files: [...sentPaths] } : {}) };
  for (const s of Object.values(project.services)) {
    if (s.image !== undefined) {
      const why = imageRefProblem(s.image);
      if (why) return refused("deploy.bad_image", `services.${s.name}.image: invalid image reference '${echo(s.image)}': ${why}`, "an image is [registry[:port]/]name[:tag][@digest], with a lower-case name", `services.${s.name}.image`);
    }
    if (s.build && !req.local) {
      return refused(
        "deploy.remote_build",
        `services.${s.name}.build: a build context is a directory on the agent's host, and this request did not come from that host`,
        "build and push the image, then deploy it by name; or run `fizz up` on the agent's host",
        `services.${s.name}.build`,
      );
    }
  }
  const warnings = result.diagnostics.filter((d) => d.severity === "warning").map((d) => `${d.path ? `${d.path}: ` : ""}${d.message}`);
  return { ok: true, project, warnings };
}

/** A file the loader missed that the sender did not include says so. */
function notSentHint(d: Diagnostic, sent: ReadonlyMap<string, string>): Diagnostic {
  if (d.severity !== "error" || !/not_found|does not exist|not found/.test(`${d.code} ${d.message}`)) return d;
  const path = /(\/[^\s'"]+)/.exec(d.message)?.[1];
  if (!path || sent.has(path)) return d;
  return { ...d, hint: "the agent reads only the files a deployment carries: send the file's contents with the others (the CLI does), or fold it into the project" };
}

function refused(code: string, message: string, hint?: string, path?: string): Acceptance {
  return { ok: false, error: new FizzError({ code, message, ...(hint ? { hint } : {}), ...(path ? { path } : {}) }) };
}

/**
 * Why a `project` body is not the CLI's normalised model, or undefined when it
 * is. Checks the shape the serializer relies on, so a hand-written body gets a
 * precise 400 instead of a crash.
 */
export function notNormalised(p: unknown): string | undefined {
  if (!isObj(p)) return "expected an object";
  for (const k of ["services", "networks", "volumes", "secrets", "configs", "disabled_services"]) if (!isObj(p[k])) return `'${k}' must be an object`;
  if (p.extensions !== undefined && !isObj(p.extensions)) return "'extensions' must be an object";
  if (typeof p.working_dir !== "string" || !Array.isArray(p.files)) return "'working_dir' (string) and 'files' (array) are required";
  for (const [name, s] of Object.entries(p.disabled_services as Record<string, unknown>)) {
    if (Object.hasOwn(p.services as Record<string, unknown>, name)) return `'${name}' is in both services and disabled_services`;
    if (!isObj(s) || !Array.isArray(s.profiles) || !s.profiles.every((x) => typeof x === "string")) return `disabled_services.${name} must be an object with a profiles array of strings`;
  }
  for (const [name, s] of Object.entries({ ...(p.services as Record<string, unknown>), ...(p.disabled_services as Record<string, unknown>) })) {
    if (!isObj(s)) return `services.${name} must be an object`;
    if (s.name !== name) return `services.${name}.name must be '${name}'`;
    for (const k of ["environment", "labels", "networks", "depends_on"]) if (!isObj(s[k])) return `services.${name}.${k} must be an object`;
    for (const k of ["ports", "volumes", "secrets", "configs", "profiles"]) if (!Array.isArray(s[k])) return `services.${name}.${k} must be an array`;
    if (s.extensions !== undefined && !isObj(s.extensions)) return `services.${name}.extensions must be an object`;
    if (s.image === undefined && !isObj(s.build)) return `services.${name} needs an image or a build`;
  }
  return undefined;
}

/**
 * Why a stored deployment must not be planned (it could only have been
 * stored by an older agent or a peer that accepted it): a replica count over
 * the limit. The reconciler refuses it with this error instead of planning.
 */
export function planProblem(project: Project, overrides: ReadonlyMap<string, number>): FizzError | undefined {
  for (const s of Object.values(project.services ?? {})) {
    const n = replicaCount(s, overrides.get(s.name));
    if (n > MAX_REPLICAS) return new FizzError({ code: "deploy.too_many_replicas", message: limitMessage("replicas", `services.${s.name}'s replica count`, n), hint: `lower it to ${MAX_REPLICAS} or fewer with \`fizz up\` or \`fizz scale\`` });
  }
  return undefined;
}

type Sealed = Readonly<Record<"secrets" | "configs", Readonly<Record<string, SealedSource>>>>;

/** The `sealed` source of each secret and config definition, checked; a string says what is wrong. */
function sealedSources(p: Readonly<Record<string, unknown>>): Sealed | string {
  const out = { secrets: {} as Record<string, SealedSource>, configs: {} as Record<string, SealedSource> };
  for (const kind of ["secrets", "configs"] as const) {
    for (const [name, def] of Object.entries((p[kind] ?? {}) as Record<string, unknown>)) {
      const s = isObj(def) ? def.sealed : undefined;
      if (s === undefined) continue;
      if (!isObj(s)) return `${kind}.${name}.sealed must be an object`;
      if (s.kind === "stored" && typeof s.path === "string") out[kind][name] = { kind: "stored", path: s.path };
      else if (s.kind === "age" && typeof s.data === "string") out[kind][name] = { kind: "age", data: s.data };
      else if (s.kind === "sops" && typeof s.data === "string" && Array.isArray(s.key) && s.key.every((k) => typeof k === "string" || typeof k === "number")) out[kind][name] = { kind: "sops", data: s.data, key: [...(s.key as (string | number)[])] };
      else return `${kind}.${name}.sealed is not a sealed source`;
    }
  }
  return out;
}

/** A stored config's definition comes without its source (`fizz up` uploaded the `content:`); the loader is given an empty one, dropped again in withSealed. */
const SOURCES = ["file", "environment", "content", "external", "driver"] as const;

function withoutSealed(p: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const strip = (defs: unknown, kind: "secrets" | "configs") =>
    Object.fromEntries(
      Object.entries((defs ?? {}) as Record<string, Record<string, unknown>>).map(([k, d]) => {
        if (!isObj(d)) return [k, d];
        const rest = Object.fromEntries(Object.entries(d).filter(([f]) => f !== "sealed"));
        const sourceless = kind === "configs" && isObj(d.sealed) && d.sealed.kind === "stored" && SOURCES.every((f) => d[f] === undefined || (f === "external" && d[f] === false));
        return [k, sourceless ? { ...rest, content: "" } : rest];
      }),
    );
  return { ...p, secrets: strip(p.secrets, "secrets"), configs: strip(p.configs, "configs") };
}

/** Sealed sources put back; a stored value's `content:` is never kept (its value is in the catalog, encrypted). */
function withSealed(project: Project, sealed: Sealed): Project {
  const put = <T extends Record<string, SecretDef>>(defs: T, from: Readonly<Record<string, SealedSource>>): T =>
    Object.fromEntries(
      Object.entries(defs).map(([k, d]) => {
        const s = from[k];
        if (!s) return [k, d];
        const { content: _content, ...rest } = d;
        return [k, s.kind === "stored" ? { ...rest, sealed: s } : { ...d, sealed: s }];
      }),
    ) as T;
  return { ...project, secrets: put(project.secrets, sealed.secrets), configs: put(project.configs, sealed.configs) };
}
