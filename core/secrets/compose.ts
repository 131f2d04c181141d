/**
 * Compose `secrets:` and `configs:` for a cluster: what `fizz up` makes of
 * each top-level definition a service uses, before the project goes to the
 * agent. Every form of the spec is covered:
 *
 *   external: true (and name:)    a stored cluster secret: must exist      → { stored, path: name }
 *   file: plain text or bytes     uploaded as the project's own secret     → { stored, path: <project>/secret/<key> }
 *   environment: VAR              the variable's value, uploaded likewise
 *   content: (configs)            the text, uploaded likewise (the project keeps no `content`)
 *   file: an age file             kept encrypted in the spec (GitOps)      → { age }
 *   file: a SOPS file             kept encrypted; x-fizz.key picks a value → { sops }
 *   x-fizz.encrypted: armored age inline in the compose file               → { age }
 *
 * No plaintext stays in the project that travels: uploads go to the secrets
 * API (stored encrypted under the path's key), and everything else is
 * ciphertext the cluster decrypts only where a replica needs it. Errors carry
 * the document path; the caller locates them (file:line).
 */
import { ageFormatOf } from "./age.ts";
import { isSopsDocument, parseKeyPath, formatKeyPath } from "./sops.ts";
import type { Project, SealedSource, SecretDef } from "../compose/model.ts";
import { SECRET_PATH_RE } from "../state/secrets.ts";
import { toBase64 } from "../state/cluster-state.ts";

export type DocPath = readonly (string | number)[];

export interface ComposeSecretsInput {
  readonly project: Project;
  /** Reads a file the compose file names (bounded by the caller). */
  readonly readFile: (path: string) => { readonly ok: true; readonly bytes: Uint8Array } | { readonly ok: false; readonly message: string };
  readonly env: (name: string) => string | undefined;
  /** The largest value a secret may have (core/limits.ts secretBytes). */
  readonly maxBytes: number;
}

export interface Upload {
  readonly path: string;
  readonly kind: "secret" | "config";
  readonly value: Uint8Array;
  readonly where: DocPath;
}

export interface ToVerify {
  /** `secrets.db` / `configs.nginx` */
  readonly id: string;
  readonly source: Extract<SealedSource, { kind: "age" | "sops" }>;
  readonly where: DocPath;
}

export interface ComposeSecretError {
  readonly code: string;
  readonly message: string;
  readonly hint?: string;
  readonly where: DocPath;
}

export interface ComposeSecretsPlan {
  /** The project with `sealed` set on every definition a service uses. */
  readonly project: Project;
  readonly uploads: readonly Upload[];
  /** Stored secrets the project names (external): each must exist. */
  readonly external: readonly { readonly path: string; readonly where: DocPath }[];
  readonly verify: readonly ToVerify[];
  readonly errors: readonly ComposeSecretError[];
}

/** Slack for the age header and per-chunk tags over the value limit, when a file is already encrypted. */
const CIPHERTEXT_SLACK = 64 * 1024;

function xfizz(def: SecretDef): Record<string, unknown> {
  const x = def.extensions["x-fizz"];
  return typeof x === "object" && x !== null && !Array.isArray(x) ? (x as Record<string, unknown>) : {};
}

/** The stored path of a project's own secret or config. */
export function projectPath(project: string, kind: "secret" | "config", key: string): string {
  return `${project}/${kind}/${key}`;
}

function withoutContent(def: SecretDef): SecretDef {
  const { content: _content, ...rest } = def;
  return rest;
}

export function resolveComposeSecrets(input: ComposeSecretsInput): ComposeSecretsPlan {
  const { project } = input;
  const uploads: Upload[] = [];
  const external: { path: string; where: DocPath }[] = [];
  const verify: ToVerify[] = [];
  const errors: ComposeSecretError[] = [];
  const used = { secrets: new Set<string>(), configs: new Set<string>() };
  for (const s of Object.values(project.services)) {
    for (const r of s.secrets) used.secrets.add(r.source);
    for (const r of s.configs) used.configs.add(r.source);
  }
  const out: Project = { ...project, secrets: { ...project.secrets }, configs: { ...project.configs } };
  for (const section of ["secrets", "configs"] as const) {
    const kind = section === "secrets" ? "secret" : "config";
    for (const key of [...used[section]].sort()) {
      const def = project[section][key];
      if (!def) continue; // validate.ts reports undefined references
      const base: DocPath = [section, key];
      const sealed = resolveOne(input, kind, key, def, base, { uploads, external, verify, errors });
      // An uploaded `content:` travels as its reference only, as `file:` (a path) and `environment:` (a name) do.
      if (sealed) out[section][key] = { ...withoutContent(def), sealed };
    }
    // A definition no service uses is not deployed: its `content:` does not travel either.
    for (const [key, def] of Object.entries(out[section])) if (!used[section].has(key) && def.content !== undefined) delete out[section][key];
  }
  return { project: out, uploads, external, verify, errors };
}

function resolveOne(
  input: ComposeSecretsInput,
  kind: "secret" | "config",
  key: string,
  def: SecretDef,
  base: DocPath,
  acc: { uploads: Upload[]; external: { path: string; where: DocPath }[]; verify: ToVerify[]; errors: ComposeSecretError[] },
): SealedSource | undefined {
  const id = `${kind === "secret" ? "secrets" : "configs"}.${key}`;
  const x = xfizz(def);
  const err = (where: DocPath, code: string, message: string, hint?: string) => {
    acc.errors.push({ code, message, where, ...(hint ? { hint } : {}) });
    return undefined;
  };
  const tooBig = (n: number, where: DocPath, what: string) =>
    err(where, "secrets.too_large", `${kind} '${key}': ${what} is ${n} bytes, over the secret size limit (${input.maxBytes / 1024 / 1024} MiB)`, "secrets and configs are for small values; mount large files as volumes");
  if (def.external) {
    const path = def.name;
    if (!SECRET_PATH_RE.test(path)) return err([...base, "name"], "secrets.bad_name", `${kind} '${key}' names '${path}', which is not a secret name ([A-Za-z0-9._-], or <project>/${kind}/<name> for another project's)`);
    acc.external.push({ path, where: base });
    return { kind: "stored", path };
  }
  if (typeof x.encrypted === "string") {
    const where = [...base, "x-fizz", "encrypted"];
    const bytes = new TextEncoder().encode(x.encrypted);
    if (ageFormatOf(bytes) !== "armored") return err(where, "secrets.not_age", `${kind} '${key}': x-fizz.encrypted is not an ASCII-armored age file (-----BEGIN AGE ENCRYPTED FILE-----)`, "encrypt with: age -a -r $(fizz secret recipient)");
    if (bytes.length > input.maxBytes + CIPHERTEXT_SLACK) return tooBig(bytes.length, where, "the encrypted value");
    const source = { kind: "age" as const, data: toBase64(bytes) };
    acc.verify.push({ id, source, where });
    return source;
  }
  if (def.file !== undefined) {
    const where = [...base, "file"];
    const r = input.readFile(def.file);
    if (!r.ok) return err(where, "secrets.unreadable", `${kind} '${key}': ${r.message}`);
    const bytes = r.bytes;
    if (ageFormatOf(bytes)) {
      if (bytes.length > input.maxBytes + CIPHERTEXT_SLACK) return tooBig(bytes.length, where, `the encrypted file ${def.file}`);
      const source = { kind: "age" as const, data: toBase64(bytes) };
      acc.verify.push({ id, source, where });
      return source;
    }
    const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
    if (isSopsDocument(text)) {
      if (bytes.length > 4 * input.maxBytes + CIPHERTEXT_SLACK) return tooBig(bytes.length, where, `the SOPS file ${def.file}`);
      const keyText = x.key;
      if (keyText !== undefined && typeof keyText !== "string") return err([...base, "x-fizz", "key"], "secrets.bad_key_path", `${kind} '${key}': x-fizz.key must be a string like '["db"]["password"]' or db.password`);
      const kp = keyText === undefined ? [] : parseKeyPath(keyText);
      if (!kp) return err([...base, "x-fizz", "key"], "secrets.bad_key_path", `${kind} '${key}': cannot read the key path ${JSON.stringify(keyText)}`, `write it as SOPS's --extract does, e.g. '["db"]["password"]', or dotted: db.password`);
      const source = { kind: "sops" as const, data: text, key: [...kp] };
      acc.verify.push({ id, source, where: keyText === undefined ? where : [...base, "x-fizz", "key"] });
      return source;
    }
    if (x.key !== undefined) return err([...base, "x-fizz", "key"], "secrets.not_sops", `${kind} '${key}': x-fizz.key picks a value from a SOPS file, but ${def.file} is not one`);
    if (bytes.length > input.maxBytes) return tooBig(bytes.length, where, `the file ${def.file}`);
    const path = projectPath(input.project.name, kind, key);
    acc.uploads.push({ path, kind, value: bytes, where });
    return { kind: "stored", path };
  }
  if (def.environment !== undefined) {
    const where = [...base, "environment"];
    const v = input.env(def.environment);
    if (v === undefined) return err(where, "secrets.env_unset", `${kind} '${key}': the environment variable ${def.environment} is not set`, `export ${def.environment}=… before fizz up`);
    const bytes = new TextEncoder().encode(v);
    if (bytes.length > input.maxBytes) return tooBig(bytes.length, where, `$${def.environment}`);
    const path = projectPath(input.project.name, kind, key);
    acc.uploads.push({ path, kind, value: bytes, where });
    return { kind: "stored", path };
  }
  if (def.content !== undefined) {
    const where = [...base, "content"];
    const bytes = new TextEncoder().encode(def.content);
    if (bytes.length > input.maxBytes) return tooBig(bytes.length, where, "the content");
    const path = projectPath(input.project.name, kind, key);
    acc.uploads.push({ path, kind, value: bytes, where });
    return { kind: "stored", path };
  }
  return err(base, "secrets.no_source", `${kind} '${key}' has no value: set file, environment${kind === "config" ? ", content" : ""}, x-fizz.encrypted, or external: true`);
}

export { formatKeyPath };
