/**
 * The compose side of secrets for `fizz up` (through the agent) and `fizz
 * validate`: resolves every secret and config a service uses
 * (core/secrets/compose.ts), checks with the agent that stored secrets exist
 * and may be read and that encrypted files open (each error at its
 * file:line), then, for `up` only, uploads the project's own plaintext values
 * (stored encrypted) and returns the project with no plaintext in it.
 * Nothing is uploaded when anything is wrong.
 */
import type { Project } from "../core/compose/model.ts";
import type { SourceLocation } from "../core/errors.ts";
import type { ApiClient } from "../platform/api/client.ts";
import type { Context } from "./context.ts";

export type Locate = (path: readonly (string | number)[]) => SourceLocation | undefined;

export interface Finding {
  where: readonly (string | number)[];
  code: string;
  message: string;
  hint?: string;
}

/** True when some service uses a secret or config. */
export function usesSecrets(project: Project): boolean {
  return Object.values(project.services).some((s) => s.secrets.length > 0 || s.configs.length > 0);
}

export interface SecretsCheck {
  readonly findings: readonly Finding[];
  /** The project as the agent gets it (only ciphertext and references). */
  readonly project: Project;
  readonly uploads: readonly { path: string; kind: "secret" | "config"; value: Uint8Array }[];
  /** Checks that need an agent (external secrets, encrypted files) were skipped: none was given. */
  readonly agentSkipped: boolean;
}

/**
 * Resolves and checks every secret and config a service uses: locally
 * (files, variables, sizes, formats), then with the agent when one is given
 * (stored secrets exist and may be read, encrypted files open).
 */
export async function checkSecrets(client: ApiClient | undefined, project: Project, o: { env: Record<string, string | undefined> }): Promise<SecretsCheck> {
  const [{ resolveComposeSecrets }, { MAX_SECRET_BYTES, MAX_FILE_BYTES }, { FizzError, isFizzError }, { readUserFile }] = await Promise.all([
    import("../core/secrets/compose.ts"),
    import("../core/limits.ts"),
    import("../core/errors.ts"),
    import("../platform/user-file.ts"),
  ]);
  const plan = resolveComposeSecrets({
    project,
    env: (n) => o.env[n],
    maxBytes: MAX_SECRET_BYTES,
    // Regular files only, read with a bound (platform/user-file.ts); the plan checks the secret size limit itself.
    readFile: (path) => {
      try {
        const b = readUserFile(path, { what: "secret file", maxBytes: Math.max(MAX_FILE_BYTES, 4 * MAX_SECRET_BYTES + 65536) });
        return b ? { ok: true, bytes: new Uint8Array(b) } : { ok: false, message: `the file ${path} does not exist` };
      } catch (e) {
        return { ok: false, message: (e as Error).message };
      }
    },
  });
  const findings: Finding[] = [...plan.errors];
  if (!client) return { findings, project: plan.project, uploads: plan.uploads, agentSkipped: plan.external.length + plan.verify.length > 0 };
  const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
  const agentError = (e: unknown) => (isFizzError(e) ? e : new FizzError({ code: "secrets.agent", message: String(e) }));
  for (const ext of plan.external) {
    try {
      const path = ext.path.split("/").map(encodeURIComponent).join("/");
      const d = await client.json<{ project: string | null; grants: string[] }>("GET", `/v1/secrets/${path}`);
      const mine = d.project === project.name || d.grants.includes(project.name) || (d.project === null && d.grants.length === 0) || d.grants.some((g) => g.startsWith(`${project.name}/`));
      if (!mine) findings.push({ where: ext.where, code: "secrets.forbidden", message: `secret ${ext.path} ${d.project ? `belongs to project ${d.project}` : `is granted to ${d.grants.join(", ")} only`}`, hint: `fizz secret grant ${ext.path} ${project.name}` });
    } catch (e) {
      const err = agentError(e);
      findings.push({ where: ext.where, code: err.code, message: err.code === "secrets.not_found" ? `secret ${ext.path} does not exist (it is external)` : err.message, hint: err.code === "secrets.not_found" ? `create it first: fizz secret create ${ext.path} FILE|-` : err.hint ?? "" });
    }
  }
  if (plan.verify.length) {
    try {
      const r = await client.json<{ results: { id: string; ok: boolean; code?: string; message?: string }[] }>("POST", "/v1/secrets-check", { project: project.name, items: plan.verify.map((v) => ({ id: v.id, source: v.source })) });
      for (const res of r.results) {
        if (res.ok) continue;
        const v = plan.verify.find((x) => x.id === res.id)!;
        const code = res.code ?? "secrets.undecryptable";
        findings.push({ where: v.where, code, message: `${res.id}: the cluster cannot use this encrypted value: ${res.message}`, hint: undecryptableHint(code) });
      }
    } catch (e) {
      const err = agentError(e);
      for (const v of plan.verify) findings.push({ where: v.where, code: err.code, message: `${v.id}: cannot be checked: ${err.message}`, ...(err.hint ? { hint: err.hint } : {}) });
    }
  }
  return { findings, project: plan.project, uploads: plan.uploads, agentSkipped: false };
}

export async function sealSecrets(ctx: Context, client: ApiClient, project: Project, o: { locate?: Locate; env: Record<string, string | undefined>; upload: boolean }): Promise<Project> {
  // Even with no secret in use, a config's `content:` must not travel (resolveComposeSecrets drops unused ones).
  const { FizzError } = await import("../core/errors.ts");
  const { findings, project: sealed, uploads } = await checkSecrets(client, project, o);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString("base64");
  if (findings.length) {
    for (const f of findings) {
      const loc = o.locate?.(f.where);
      ctx.err(`${loc ? `${loc.file}:${loc.line}:${loc.column}: ` : ""}error: ${f.where.join(".")}: ${f.message}${f.hint ? ` (${f.hint})` : ""}\n`);
    }
    const first = findings[0]!;
    const loc = o.locate?.(first.where);
    throw new FizzError({
      code: first.code,
      message: `${findings.length} secret${findings.length === 1 ? "" : "s"} or config${findings.length === 1 ? "" : "s"} cannot be used (listed above); nothing was ${o.upload ? "deployed" : "changed"}`,
      ...(loc ? { location: loc } : {}),
    });
  }
  if (o.upload && uploads.length) {
    await client.json("POST", "/v1/secrets-upload", { project: project.name, items: uploads.map((u) => ({ path: u.path, kind: u.kind, value: b64(u.value) })) });
  }
  return sealed;
}

/** What to do about an encrypted value the cluster cannot use: only one encrypted to someone else wants another recipient. */
function undecryptableHint(code: string): string {
  if (/_(no_match|no_key)$|undecryptable$/.test(code)) return "encrypt to the cluster's recipient (fizz secret recipient) or import the team's identity (fizz secret identity import)";
  if (code === "secrets.sops_key_path") return "x-fizz.key must name a value of the SOPS file, as a JSON path: '[\"db\", \"password\"]'";
  if (code === "secrets.sops_unsupported") return "Fizz opens SOPS files whose data key is encrypted to age recipients";
  return "the file is damaged or was changed after it was encrypted: encrypt it again (fizz secret encrypt -r $(fizz secret recipient))";
}
