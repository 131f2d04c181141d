/**
 * Which deployments need an imported age identity: the age and SOPS values
 * they carry that open with every identity the cluster has and not without
 * that one (a value also encrypted to the cluster's recipient, or to another
 * imported identity, does not need it). `fizz secret identity rm` refuses
 * while any does, since nothing could deliver those values any more.
 */
import type { Project, SealedSource } from "../compose/model.ts";
import type { Aead } from "./age-stream.ts";
import { decryptAge } from "./age.ts";
import { decryptSops } from "./sops.ts";
import { fromBase64 } from "../state/cluster-state.ts";

/** An encrypted value a deployment carries. */
export interface EncryptedUse {
  /** `secrets.db` or `configs.app`. */
  readonly id: string;
  /** The compose `file:` it was read from, when the spec kept it. */
  readonly file: string | undefined;
  readonly source: Extract<SealedSource, { kind: "age" | "sops" }>;
}

/** The age and SOPS values of a deployed project, secrets then configs, in key order. */
export function encryptedUses(project: Project): EncryptedUse[] {
  const out: EncryptedUse[] = [];
  for (const section of ["secrets", "configs"] as const) {
    const defs = project[section] ?? {};
    for (const key of Object.keys(defs).sort()) {
      const def = defs[key]!;
      const s = def.sealed;
      if (s && (s.kind === "age" || s.kind === "sops")) out.push({ id: `${section}.${key}`, file: typeof def.file === "string" ? def.file : undefined, source: s });
    }
  }
  return out;
}

async function opens(src: EncryptedUse["source"], identities: readonly string[], aead: Aead): Promise<boolean> {
  if (src.kind === "age") {
    const r = await decryptAge(fromBase64(src.data), [...identities], aead);
    if (r.ok) r.plaintext.fill(0);
    return r.ok;
  }
  const r = await decryptSops(src.data, [...identities], aead, src.key);
  if (r.ok) r.value.fill(0);
  return r.ok;
}

/**
 * Per deployment, the values only `identity` opens among `others` plus it
 * (`others`: the cluster's identity and the other imported ones).
 */
export async function identityNeededBy(projects: readonly Project[], identity: string, others: readonly string[], aead: Aead): Promise<{ deployment: string; uses: EncryptedUse[] }[]> {
  const out: { deployment: string; uses: EncryptedUse[] }[] = [];
  for (const p of projects) {
    const uses: EncryptedUse[] = [];
    for (const u of encryptedUses(p)) if (!(await opens(u.source, others, aead)) && (await opens(u.source, [...others, identity], aead))) uses.push(u);
    if (uses.length) out.push({ deployment: p.name, uses });
  }
  return out;
}
