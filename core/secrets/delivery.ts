/**
 * What a container gets: its service's secrets and configs as files, where
 * they go, with which owner and mode, and how they are mounted.
 *
 * Every container has its own directory on memory-backed storage (tmpfs) on
 * the node that runs it. Files whose target is directly in /run/secrets (the
 * default for secrets) live in one subdirectory bind-mounted read-only at
 * /run/secrets: a new version is written next to the old file and renamed
 * over it, which is atomic, and a directory mount shows the new file at once
 * (a bind-mounted *file* would pin the old inode). Files with any other
 * target are mounted one by one, so their inode is pinned: a new version
 * reaches them by restarting the container, unless the service asks for
 * `rotate: signal` (rewritten in place, then the signal) or `none`.
 */
import type { Project, SealedSource, Service } from "../compose/model.ts";
import type { SecretMetaRecord } from "../state/secrets.ts";
import { duplicateTargetMessage, fileRefTarget, ownerIdProblem, SECRETS_DIR } from "../compose/file-refs.ts";

export { SECRETS_DIR };

export type RotatePolicy = "none" | "signal" | "restart";

export type RotateAction = "swap" | "rewrite" | "rewrite+signal" | "restart";

/**
 * What a new version of a file means for the running container: a file in
 * the /run/secrets directory is swapped (atomic rename), then restart or
 * signal if asked; a file mounted alone (its inode is pinned) is rewritten in
 * place only when the service says `none` or `signal`, otherwise the
 * container restarts so it mounts the new file.
 */
export function rotateAction(inDirectory: boolean, policy: RotatePolicy | undefined): RotateAction {
  if (policy === "restart") return "restart";
  if (inDirectory) return policy === "signal" ? "rewrite+signal" : "swap";
  if (policy === "signal") return "rewrite+signal";
  if (policy === "none") return "rewrite";
  return "restart";
}

export interface FileDelivery {
  readonly kind: "secret" | "config";
  /** the top-level key in the compose file */
  readonly name: string;
  readonly source: SealedSource;
  /** absolute path in the container */
  readonly target: string;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  /** true: in the /run/secrets directory mount (swapped atomically); false: its own file mount */
  readonly inDirectory: boolean;
}

export type DeliveryPlan =
  /** `rotate` undefined: the default (swap in /run/secrets; restart for files mounted alone). */
  | { readonly ok: true; readonly files: readonly FileDelivery[]; readonly rotate: RotatePolicy | undefined; readonly signal: string }
  | { readonly ok: false; readonly message: string };

function numeric(v: string | undefined, what: "uid" | "gid", ref: string): number | string {
  if (v === undefined) return 0;
  const why = ownerIdProblem(what, v);
  return why ? `${ref}: ${why}` : Number(v);
}

/**
 * True for a path below /run/secrets (`/run/secrets/<name>`, or deeper, as
 * `target: custom/pw` gives): it lives in the directory mount. A file of its
 * own mounted below that read-only mount could not be made (the engine fails
 * to create its parent directory there).
 */
export function inSecretsDir(target: string): boolean {
  const rest = target.startsWith(`${SECRETS_DIR}/`) ? target.slice(SECRETS_DIR.length + 1) : undefined;
  return rest !== undefined && rest.split("/").every((seg) => seg !== "" && seg !== "." && seg !== "..");
}

/** The path of a /run/secrets file inside the directory mount (`custom/pw` for /run/secrets/custom/pw). */
export function secretsDirPath(target: string): string {
  return target.slice(SECRETS_DIR.length + 1);
}

/** The files one service's containers get (only definitions that `fizz up` resolved for the cluster). */
export function deliveryPlan(project: Project, service: Service): DeliveryPlan {
  const files: FileDelivery[] = [];
  const targets = new Set<string>();
  for (const kind of ["secret", "config"] as const) {
    const refs = kind === "secret" ? service.secrets : service.configs;
    const defs = kind === "secret" ? project.secrets : project.configs;
    for (const ref of refs) {
      const def = defs[ref.source];
      const label = `service '${service.name}': ${kind}s.${ref.source}`;
      if (!def?.sealed) return { ok: false, message: `${label} has no value the cluster holds; deploy it with fizz up (which uploads or seals it)` };
      const uid = numeric(ref.uid, "uid", label);
      const gid = numeric(ref.gid, "gid", label);
      if (typeof uid === "string") return { ok: false, message: uid };
      if (typeof gid === "string") return { ok: false, message: gid };
      const target = fileRefTarget(kind, ref);
      if (targets.has(target)) return { ok: false, message: `${label}: ${duplicateTargetMessage(target)}` };
      targets.add(target);
      files.push({ kind, name: ref.source, source: def.sealed, target, uid, gid, mode: ref.mode ?? 0o444, inDirectory: inSecretsDir(target) });
    }
  }
  const x = service.x_fizz?.secrets;
  const signal = x?.signal ? (x.signal.startsWith("SIG") ? x.signal : `SIG${x.signal}`) : "SIGHUP";
  return { ok: true, files, rotate: x?.rotate, signal };
}

export type ReadCheck = { readonly ok: true } | { readonly ok: false; readonly message: string; readonly hint?: string };

/**
 * May `project`'s service read the stored secret at `path`? A project reads
 * its own; a cluster secret (no owner) is open to any service that names it,
 * unless it has grants; another project's needs a grant to the project or to
 * `project/service`.
 */
export function mayRead(path: string, meta: SecretMetaRecord, project: string, service: string): ReadCheck {
  if (meta.project === project) return { ok: true };
  if (meta.grants.includes(project) || meta.grants.includes(`${project}/${service}`)) return { ok: true };
  if (meta.project === null && meta.grants.length === 0) return { ok: true };
  const owner = meta.project === null ? `is granted to ${meta.grants.join(", ")} only` : `belongs to project ${meta.project}`;
  return { ok: false, message: `secret ${path} ${owner}; service ${service} of project ${project} may not read it`, hint: `fizz secret grant ${path} ${project}` };
}

/** The per-container record of what was delivered (kept next to the files; no values). */
export interface DeliveryManifest {
  readonly container: string;
  readonly project: string;
  readonly service: string;
  readonly rotate: RotatePolicy | null;
  readonly signal: string;
  readonly files: readonly (FileDelivery & { readonly version: string; readonly file: string })[];
}

/**
 * The version a source is at: a stored secret's current version number, or
 * for ciphertext in the spec a digest of the ciphertext (it changes when the
 * file in git does).
 */
export function sourceVersion(source: SealedSource, meta: SecretMetaRecord | undefined, digest: (s: string) => string): string | undefined {
  if (source.kind === "stored") {
    if (!meta) return undefined;
    // Two concurrent rotations both write version n: the id tells whose value a container has.
    const id = meta.versions.find((x) => x.v === meta.current)?.id;
    return `v${meta.current}${id ? `.${id.slice(0, 8)}` : ""}`;
  }
  return `sha256:${digest(source.kind === "age" ? source.data : `${JSON.stringify(source.key)}\n${source.data}`).slice(0, 16)}`;
}

/** The stored secrets and configs (paths) a project's services use. */
export function storedPaths(project: Project): string[] {
  const out = new Set<string>();
  for (const section of ["secrets", "configs"] as const) {
    const defs = project[section] ?? {};
    for (const s of Object.values(project.services ?? {})) {
      for (const ref of s[section] ?? []) {
        const src = defs[ref.source]?.sealed;
        if (src?.kind === "stored") out.add(src.path);
      }
    }
  }
  return [...out].sort();
}
