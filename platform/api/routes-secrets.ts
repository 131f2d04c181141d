/**
 * /v1/secrets…, /v1/seal…, /v1/recipient, /v1/identities…: `fizz secret`.
 * Values travel base64 in JSON, in requests only: no response carries a
 * stored secret's plaintext (export answers with ciphertext for a recipient
 * the caller names). A project's own secrets are addressed as
 * /v1/secrets/<project>/secret/<name> (or /config/<name>).
 */
import type { SealedSource } from "../../core/compose/model.ts";
import { SECRET_PATH_RE } from "../../core/state/secrets.ts";
import { httpError } from "./errors.ts";
import { empty, json, type RequestContext } from "./reply.ts";
import type { RouteModule, Router } from "./router.ts";
import { badInput, expectObject, isRecord, noQuery, optBool, optEnum, optInt, optString, optStringArray, optStringMap } from "./validate.ts";

export interface SecretsApi {
  list(): unknown;
  inspect(path: string): unknown;
  create(path: string, value: Uint8Array, o: { kind?: "secret" | "config"; project?: string; labels?: Record<string, string>; grants?: string[] }): Promise<unknown>;
  rotate(path: string, value: Uint8Array): Promise<unknown>;
  rollback(path: string, version: number): Promise<unknown>;
  remove(path: string): void;
  grant(path: string, target: string, revoke: boolean): unknown;
  export(path: string, recipients: string[], armor: boolean): Promise<Uint8Array>;
  seal(): unknown;
  unseal(share: string): Promise<unknown>;
  recovery(threshold: number, shares: number): string[];
  recipient(): string;
  identities(): unknown;
  importIdentity(name: string, identity: string): Promise<unknown>;
  removeIdentity(name: string): Promise<void>;
  verify(items: { id: string; source: Extract<SealedSource, { kind: "age" | "sops" }> }[], project: string): Promise<{ id: string; ok: boolean; code?: string; message?: string }[]>;
  upload(project: string, items: { path: string; kind: "secret" | "config"; value: Uint8Array }[]): Promise<unknown>;
}

const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;
/** 1 MiB of value as base64, and room for the JSON around it. */
const MAX_B64 = 1_500_000;

function bytesOf(o: Record<string, unknown>, k: string, path: string): Uint8Array {
  const s = optString(o, k, path, MAX_B64 * 4);
  if (s === undefined) throw badInput(`${path}.${k}`, "required: the value, base64");
  if (s.length % 4 !== 0 || !B64_RE.test(s)) throw badInput(`${path}.${k}`, "expected base64");
  return new Uint8Array(Buffer.from(s, "base64"));
}

const SEGMENT = /^[A-Za-z0-9._-]{1,63}$/;

function pathOf(c: RequestContext): string {
  const p = c.params;
  const parts = p.project !== undefined ? [p.project, p.kind!, p.name!] : [p.name!];
  for (const s of parts) if (!SEGMENT.test(s)) throw httpError(400, "api.bad_name", `'${s.slice(0, 80)}' is not a secret name: letters, digits, '.', '_' and '-', at most 63`);
  const path = parts.join("/");
  // A kind other than secret or config names nothing: not found, like any unknown secret.
  if (!SECRET_PATH_RE.test(path)) throw httpError(404, "secrets.not_found", `no secret named ${path}`);
  return path;
}

async function objectBody(c: RequestContext, allowed: readonly string[], example: string): Promise<Record<string, unknown>> {
  const body = await c.body();
  if (body === undefined) throw badInput("body", `expected ${example}`);
  return expectObject(body, "body", allowed);
}

function sources(v: unknown): { id: string; source: Extract<SealedSource, { kind: "age" | "sops" }> }[] {
  if (!Array.isArray(v) || v.length > 256) throw badInput("body.items", "expected a list of at most 256 {id, source}");
  return v.map((x, i) => {
    if (!isRecord(x)) throw badInput(`body.items[${i}]`, "expected an object");
    const o = expectObject(x, `body.items[${i}]`, ["id", "source"]);
    const id = optString(o, "id", `body.items[${i}]`, 200) ?? String(i);
    if (!isRecord(o.source)) throw badInput(`body.items[${i}].source`, "expected {kind: age|sops, data, key?}");
    const s = expectObject(o.source, `body.items[${i}].source`, ["kind", "data", "key"]);
    const kind = optEnum(s, "kind", `body.items[${i}].source`, ["age", "sops"] as const);
    const data = optString(s, "data", `body.items[${i}].source`, 8 << 20);
    if (!kind || data === undefined) throw badInput(`body.items[${i}].source`, "needs kind (age or sops) and data");
    if (kind === "age") return { id, source: { kind, data } };
    const key = Array.isArray(s.key) ? s.key.filter((k): k is string | number => typeof k === "string" || typeof k === "number") : [];
    return { id, source: { kind, data, key } };
  });
}

export function secretsRoutes(api: SecretsApi): RouteModule {
  const one = (r: Router, method: "get" | "put" | "delete" | "post", suffix: string, h: (c: RequestContext) => unknown) => {
    r[method](`/v1/secrets/:name${suffix}`, h as never);
    r[method](`/v1/secrets/:project/:kind/:name${suffix}`, h as never);
  };
  return (r) => {
    r.get("/v1/secrets", (c) => {
      noQuery(c);
      return json({ secrets: api.list() });
    });
    r.post("/v1/secrets", async (c) => {
      noQuery(c);
      const b = await objectBody(c, ["name", "value", "kind", "project", "labels", "grants"], '{"name": "db_pw", "value": "<base64>"}');
      const name = optString(b, "name", "body", 200);
      if (!name) throw badInput("body.name", "required: the secret's name");
      const kind = optEnum(b, "kind", "body", ["secret", "config"] as const);
      const project = optString(b, "project", "body", 63);
      const labels = optStringMap(b, "labels", "body");
      const grants = optStringArray(b, "grants", "body", 256);
      return json(await api.create(name, bytesOf(b, "value", "body"), { ...(kind ? { kind } : {}), ...(project ? { project } : {}), ...(labels ? { labels } : {}), ...(grants ? { grants } : {}) }), 201);
    });
    one(r, "get", "", (c) => {
      noQuery(c);
      return json(api.inspect(pathOf(c)));
    });
    one(r, "put", "", async (c) => {
      noQuery(c);
      const b = await objectBody(c, ["value"], '{"value": "<base64>"}');
      return json(await api.rotate(pathOf(c), bytesOf(b, "value", "body")));
    });
    one(r, "post", "/rollback", async (c) => {
      noQuery(c);
      api.inspect(pathOf(c)); // 404 before the body is read
      const b = await objectBody(c, ["version"], '{"version": 2}');
      const v = optInt(b, "version", "body", 1, 2 ** 31);
      if (v === undefined) throw badInput("body.version", "required: a version still kept (fizz secret inspect lists them)");
      return json(await api.rollback(pathOf(c), v));
    });
    one(r, "delete", "", (c) => {
      noQuery(c);
      api.remove(pathOf(c));
      return empty();
    });
    one(r, "post", "/grants", async (c) => {
      noQuery(c);
      api.inspect(pathOf(c)); // 404 before the body is read
      const b = await objectBody(c, ["target", "revoke"], '{"target": "project[/service]"}');
      const target = optString(b, "target", "body", 130);
      if (!target) throw badInput("body.target", "required: a project, or project/service");
      return json(api.grant(pathOf(c), target, optBool(b, "revoke", "body") ?? false));
    });
    one(r, "post", "/export", async (c) => {
      noQuery(c);
      api.inspect(pathOf(c)); // 404 before the body is read
      const b = await objectBody(c, ["recipients", "armor"], '{"recipients": ["age1…"]}');
      const recipients = optStringArray(b, "recipients", "body", 64) ?? [];
      if (recipients.length === 0) throw badInput("body.recipients", "required: at least one age recipient (age1…) to encrypt the value to");
      const out = await api.export(pathOf(c), recipients, optBool(b, "armor", "body") ?? true);
      return json({ ciphertext: Buffer.from(out).toString("base64") });
    });
    r.get("/v1/seal", (c) => {
      noQuery(c);
      return json(api.seal());
    });
    r.post("/v1/seal/unseal", async (c) => {
      noQuery(c);
      const b = await objectBody(c, ["share"], '{"share": "fizzrecovery1…"}');
      const share = optString(b, "share", "body", 200);
      if (!share) throw badInput("body.share", "required: one recovery share as fizz init printed it");
      return json(await api.unseal(share));
    });
    r.post("/v1/seal/recovery", async (c) => {
      noQuery(c);
      const body = await c.body();
      const b = body === undefined ? {} : expectObject(body, "body", ["threshold", "shares"]);
      const shares = optInt(b, "shares", "body", 1, 255) ?? 5;
      const threshold = optInt(b, "threshold", "body", 1, 255) ?? Math.min(3, shares);
      return json({ threshold, shares: api.recovery(threshold, shares) }, 201);
    });
    r.get("/v1/recipient", (c) => {
      noQuery(c);
      return json({ recipient: api.recipient() });
    });
    r.get("/v1/identities", (c) => {
      noQuery(c);
      return json({ identities: api.identities() });
    });
    r.post("/v1/identities", async (c) => {
      noQuery(c);
      const b = await objectBody(c, ["name", "identity"], '{"name": "team", "identity": "AGE-SECRET-KEY-1…"}');
      const name = optString(b, "name", "body", 63);
      const identity = optString(b, "identity", "body", 4096);
      if (!name || !identity) throw badInput("body", "needs name and identity (AGE-SECRET-KEY-1…)");
      return json(await api.importIdentity(name, identity), 201);
    });
    r.delete("/v1/identities/:name", async (c) => {
      noQuery(c);
      if (!/^[A-Za-z0-9._-]{1,63}$/.test(c.params.name!)) throw httpError(400, "api.bad_name", `'${c.params.name!.slice(0, 80)}' is not an identity name`);
      await api.removeIdentity(c.params.name!);
      return empty();
    });
    r.post("/v1/secrets-check", async (c) => {
      noQuery(c);
      const b = await objectBody(c, ["project", "items"], '{"project": "app", "items": [{"id": "secrets.db", "source": {"kind": "age", "data": "<base64>"}}]}');
      const project = optString(b, "project", "body", 63);
      if (!project) throw badInput("body.project", "required: the project name");
      return json({ results: await api.verify(sources(b.items), project) });
    });
    r.post("/v1/secrets-upload", async (c) => {
      noQuery(c);
      const b = await objectBody(c, ["project", "items"], '{"project": "app", "items": [{"path": "app/secret/db", "kind": "secret", "value": "<base64>"}]}');
      const project = optString(b, "project", "body", 63);
      if (!project) throw badInput("body.project", "required: the project name");
      if (!Array.isArray(b.items) || b.items.length > 256) throw badInput("body.items", "expected a list of at most 256 {path, kind, value}");
      const items = b.items.map((x, i) => {
        if (!isRecord(x)) throw badInput(`body.items[${i}]`, "expected an object");
        const o = expectObject(x, `body.items[${i}]`, ["path", "kind", "value"]);
        const path = optString(o, "path", `body.items[${i}]`, 200);
        const kind = optEnum(o, "kind", `body.items[${i}]`, ["secret", "config"] as const);
        if (!path || !kind) throw badInput(`body.items[${i}]`, "needs path and kind");
        if (!path.startsWith(`${project}/${kind}/`)) throw httpError(403, "secrets.forbidden", `project ${project} may only upload its own secrets (${project}/${kind}/…), not ${path}`);
        return { path, kind, value: bytesOf(o, "value", `body.items[${i}]`) };
      });
      return json({ results: await api.upload(project, items) });
    });
  };
}
