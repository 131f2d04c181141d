/** The body of PUT /v1/deployments/{name}, checked field by field into a typed `DeploymentInput`. */
import type { DeployOptions, DeploymentInput } from "./backend.ts";
import { MAX_PROJECT_FILES, MAX_REPLICAS } from "../../core/limits.ts";
import { badInput, expectObject, isRecord, optBool, optEnum, optInt, optString, optStringArray, optStringMap } from "./validate.ts";

export function parseDeploymentInput(v: unknown): DeploymentInput {
  if (v === undefined) throw badInput("body", "expected a deployment: {\"files\": [{\"name\", \"content\"}], \"env\": {...}} or {\"project\": {...}}");
  const o = expectObject(v, "body", ["files", "attachments", "project", "env", "profiles", "workingDir", "options"]);
  const out: { -readonly [K in keyof DeploymentInput]: DeploymentInput[K] } = {};
  if (o.files !== undefined) {
    if (!Array.isArray(o.files)) throw badInput("body.files", "expected an array of {name, content}");
    if (o.files.length === 0 || o.files.length > 64) throw badInput("body.files", "expected 1 to 64 files");
    out.files = o.files.map((f, i) => fileInput(f, `body.files[${i}]`));
  }
  if (o.attachments !== undefined) {
    if (out.files === undefined) throw badInput("body.attachments", "attachments go with 'files'");
    if (!Array.isArray(o.attachments) || o.attachments.length > MAX_PROJECT_FILES) throw badInput("body.attachments", `expected an array of at most ${MAX_PROJECT_FILES} {name, content}`);
    out.attachments = o.attachments.map((f, i) => fileInput(f, `body.attachments[${i}]`));
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
    const oo = expectObject(o.options, "body.options", ["pull", "build", "forceRecreate", "noRecreate", "removeOrphans", "noDeps", "wait", "timeoutSeconds", "scale", "services"]);
    const opts: { -readonly [K in keyof DeployOptions]: DeployOptions[K] } = {};
    const pull = optEnum(oo, "pull", "body.options", ["always", "missing", "never"] as const);
    if (pull) opts.pull = pull;
    for (const k of ["build", "forceRecreate", "noRecreate", "removeOrphans", "noDeps", "wait"] as const) {
      const bv = optBool(oo, k, "body.options");
      if (bv !== undefined) opts[k] = bv;
    }
    const services = optStringArray(oo, "services", "body.options");
    if (services) opts.services = services;
    const t = optInt(oo, "timeoutSeconds", "body.options", 0, 86_400);
    if (t !== undefined) opts.timeoutSeconds = t;
    if (oo.scale !== undefined) {
      const sc = expectObject(oo.scale, "body.options.scale", Object.keys(isRecord(oo.scale) ? oo.scale : {}));
      const scale: Record<string, number> = {};
      for (const k of Object.keys(sc)) scale[k] = optInt(sc, k, "body.options.scale", 0, MAX_REPLICAS)!;
      opts.scale = scale;
    }
    out.options = opts;
  }
  return out;
}

function fileInput(f: unknown, path: string): { name: string; content: string } {
  const fo = expectObject(f, path, ["name", "content"]);
  const name = optString(fo, "name", path, 4096);
  const content = optString(fo, "content", path);
  if (name === undefined || name === "") throw badInput(`${path}.name`, "required");
  if (content === undefined) throw badInput(`${path}.content`, "required");
  return { name, content };
}
