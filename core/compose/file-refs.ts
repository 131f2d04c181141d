/**
 * The rules for a service's secrets and configs as files in its containers:
 * where each one goes (its target), that uid/gid are numbers, and that no two
 * go to the same place. `fizz validate` reports them at the file and line
 * (checkFileRefs); `fizz up`'s delivery plan (core/secrets/delivery.ts)
 * applies the same functions.
 */
import type { Diags } from "./diagnostics.ts";
import type { Service, ServiceFileRef } from "./model.ts";

export const SECRETS_DIR = "/run/secrets";

/** The absolute path a secret or config is mounted at (a relative target is under /run/secrets for secrets, / for configs). */
export function fileRefTarget(kind: "secret" | "config", ref: ServiceFileRef): string {
  const t = ref.target;
  if (kind === "secret") return t === undefined ? `${SECRETS_DIR}/${ref.source}` : t.startsWith("/") ? t : `${SECRETS_DIR}/${t}`;
  return t === undefined ? `/${ref.source}` : t.startsWith("/") ? t : `/${t}`;
}

/** Why a uid or gid is not usable (a name cannot be resolved on the host), or undefined. */
export function ownerIdProblem(what: "uid" | "gid", v: string): string | undefined {
  return /^\d{1,10}$/.test(v) ? undefined : `${what} '${v.slice(0, 40)}' must be a number (a name cannot be resolved on the host)`;
}

/** The message when two of a service's secrets/configs have one target. */
export function duplicateTargetMessage(target: string): string {
  return `two secrets or configs target ${target}`;
}

export function checkFileRefs(name: string, svc: Service, diags: Diags): void {
  const seen = new Map<string, string>();
  for (const kind of ["secret", "config"] as const) {
    const refs = kind === "secret" ? svc.secrets : svc.configs;
    refs.forEach((ref, i) => {
      const p = ["services", name, `${kind}s`, i];
      for (const what of ["uid", "gid"] as const) {
        const v = ref[what];
        const why = v === undefined ? undefined : ownerIdProblem(what, v);
        if (why) diags.error([...p, what], "compose.bad_value", why, "write a numeric id, like 1000");
      }
      const target = fileRefTarget(kind, ref);
      const first = seen.get(target);
      if (first !== undefined) diags.error(p, "compose.conflict", `${duplicateTargetMessage(target)} (${first} and ${kind}s[${i}])`, "give one of them another target");
      else seen.set(target, `${kind}s[${i}]`);
    });
  }
}
