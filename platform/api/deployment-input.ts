/** The body of PUT /v1/deployments/{name}, checked field by field into a typed `DeploymentInput`. */
import type { DeployOptions, DeploymentInput } from "./backend.ts";
import { badInput, expectObject, isRecord, optBool, optEnum, optInt, optString, optStringArray, optStringMap } from "./validate.ts";

export function parseDeploymentInput(v: unknown): DeploymentInput {
  if (v === undefined) throw badInput("body", "expected a deployment: {\"files\": [{\"name\", \"content\"}], \"env\": {...}} or {\"project\": {...}}");
  const o = expectObject(v, "body", ["files", "project", "env", "profiles", "workingDir", "options"]);
  const out: { -readonly [K in keyof DeploymentInput]: DeploymentInput[K] } = {};
  if (o.files !== undefined) {
    if (!Array.isArray(o.files)) throw badInput("body.files", "expected an array of {name, content}");
    if (o.files.length === 0 || o.files.length > 64) throw badInput("body.files", "expected 1 to 64 files");
    out.files = o.files.map((f, i) => {
      const fo = expectObject(f, `body.files[${i}]`, ["name", "content"]);
      const name = optString(fo, "name", `body.files[${i}]`, 4096);
      const content = optString(fo, "content", `body.files[${i}]`);
      if (name === undefined || name === "") throw badInput(`body.files[${i}].name`, "required");
      if (content === undefined) throw badInput(`body.files[${i}].content`, "required");
      return { name, content };
    });
  }
  if (o.project !== undefined) {
    if (!isRecord(o.project)) throw badInput("body.project", "expected an object (a normalised compose project)");
    out.project = o.project;
  }
  if ((out.files === undefined) === (out.project === undefined)) throw badInput("body", "give exactly one of 'files' or 'project'");
  const env = optStringMap(o, "env", "body");
  if (env) out.env = env;
  const profiles = optStringArray(o, "profiles", "body");
  if (profiles) out.profiles = profiles;
  const wd = optString(o, "workingDir", "body", 4096);
  if (wd !== undefined) out.workingDir = wd;
  if (o.options !== undefined) {
    const oo = expectObject(o.options, "body.options", ["pull", "build", "forceRecreate", "noRecreate", "removeOrphans", "wait", "timeoutSeconds"]);
    const opts: { -readonly [K in keyof DeployOptions]: DeployOptions[K] } = {};
    const pull = optEnum(oo, "pull", "body.options", ["always", "missing", "never"] as const);
    if (pull) opts.pull = pull;
    for (const k of ["build", "forceRecreate", "noRecreate", "removeOrphans", "wait"] as const) {
      const bv = optBool(oo, k, "body.options");
      if (bv !== undefined) opts[k] = bv;
    }
    const t = optInt(oo, "timeoutSeconds", "body.options", 0, 86_400);
    if (t !== undefined) opts.timeoutSeconds = t;
    out.options = opts;
  }
  return out;
}
