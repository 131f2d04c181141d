import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import type { Project } from "../../../core/compose/model.ts";
import { resolveComposeSecrets } from "../../../core/secrets/compose.ts";
import { deliveryPlan, inSecretsDir, mayRead, rotateAction } from "../../../core/secrets/delivery.ts";
import type { SecretMetaRecord } from "../../../core/state/index.ts";

const ARMORED = "-----BEGIN AGE ENCRYPTED FILE-----\nYWdlLWVuY3J5cHRpb24ub3JnL3YxCg==\n-----END AGE ENCRYPTED FILE-----\n";
const SOPS = `a: ENC[AES256_GCM,data:xx==,iv:yy==,tag:AAAAAAAAAAAAAAAAAAAAAA==,type:str]\nsops:\n  mac: x\n  lastmodified: "2020-01-01T00:00:00Z"\n`;

function load(yaml: string, files: Record<string, string> = {}): Project {
  const all: Record<string, string> = { "/p/compose.yaml": yaml, ...files };
  const r = loadProject({
    files: ["/p/compose.yaml"],
    cwd: "/p",
    env: {},
    reader: { read: (p: string) => all[p] },
  });
  if (!r.project || r.diagnostics.some((d) => d.severity === "error")) throw new Error(JSON.stringify(r.diagnostics));
  return r.project;
}

const bytes = (s: string) => new TextEncoder().encode(s);

describe("compose secrets and configs for the cluster", () => {
  const yaml = `name: app
services:
  web:
    image: x
    secrets:
      - ext
      - plain
      - source: gitops
        target: custom
        mode: 0400
      - sops
      - env
      - inline
    configs:
      - source: conf
        target: /etc/c.conf
      - unusedless
secrets:
  ext: {external: true, name: shared_pw}
  plain: {file: ./plain.txt}
  gitops: {file: ./g.age}
  sops: {file: ./s.yaml, x-fizz: {key: '["a"]'}}
  env: {environment: PW}
  inline:
    x-fizz:
      encrypted: |
${ARMORED.split("\n").filter(Boolean).map((l) => `        ${l}`).join("\n")}
  unused: {file: ./nope.txt}
configs:
  conf: {content: "hello"}
  unusedless: {file: ./plain.txt}
`;
  const files: Record<string, Uint8Array> = { "/p/plain.txt": bytes("pw"), "/p/g.age": bytes(ARMORED), "/p/s.yaml": bytes(SOPS) };
  const readFile = (p: string) => (p in files ? { ok: true as const, bytes: files[p]! } : { ok: false as const, message: `the file ${p} does not exist` });

  test("every form resolves to a reference or ciphertext; only used definitions; plaintext only in uploads", () => {
    const project = load(yaml);
    const r = resolveComposeSecrets({ project, readFile, env: (n) => (n === "PW" ? "from-env" : undefined), maxBytes: 1024 });
    expect(r.errors).toEqual([]);
    expect(r.external).toEqual([{ path: "shared_pw", where: ["secrets", "ext"] }]);
    expect(r.uploads.map((u) => [u.path, new TextDecoder().decode(u.value)])).toEqual([
      ["app/secret/env", "from-env"],
      ["app/secret/plain", "pw"],
      ["app/config/conf", "hello"],
      ["app/config/unusedless", "pw"],
    ]);
    expect(r.verify.map((v) => [v.id, v.source.kind])).toEqual([
      ["secrets.gitops", "age"],
      ["secrets.inline", "age"],
      ["secrets.sops", "sops"],
    ]);
    const s = r.project.secrets;
    expect(s.plain!.sealed).toEqual({ kind: "stored", path: "app/secret/plain" });
    expect(s.sops!.sealed).toMatchObject({ kind: "sops", key: ["a"] });
    expect(s.unused!.sealed).toBeUndefined();
    expect(JSON.stringify(r.project)).not.toContain("from-env");
    const plan = deliveryPlan(r.project, r.project.services.web!);
    if (!plan.ok) throw new Error(plan.message);
    expect(plan.files.map((f) => [f.name, f.target, f.mode.toString(8), f.inDirectory])).toEqual([
      ["ext", "/run/secrets/ext", "444", true],
      ["plain", "/run/secrets/plain", "444", true],
      ["gitops", "/run/secrets/custom", "400", true],
      ["sops", "/run/secrets/sops", "444", true],
      ["env", "/run/secrets/env", "444", true],
      ["inline", "/run/secrets/inline", "444", true],
      ["conf", "/etc/c.conf", "444", false],
      ["unusedless", "/unusedless", "444", false],
    ]);
  });

  test("errors name the document path: missing file, unset variable, too large, key path on a plain file, not armored", () => {
    const project = load(`name: app
services:
  web:
    image: x
    secrets: [a, b, c, d, e]
secrets:
  a: {file: ./missing.txt}
  b: {environment: NOPE}
  c: {file: ./big.txt}
  d: {file: ./plain.txt, x-fizz: {key: x}}
  e: {x-fizz: {encrypted: "plain text"}}
`);
    const big: Record<string, Uint8Array> = { ...files, "/p/big.txt": new Uint8Array(2000) };
    const r = resolveComposeSecrets({ project, readFile: (p) => (p in big ? { ok: true, bytes: big[p]! } : { ok: false, message: `the file ${p} does not exist` }), env: () => undefined, maxBytes: 1024 });
    expect(r.errors.map((e) => [e.where.join("."), e.code])).toEqual([
      ["secrets.a.file", "secrets.unreadable"],
      ["secrets.b.environment", "secrets.env_unset"],
      ["secrets.c.file", "secrets.too_large"],
      ["secrets.d.x-fizz.key", "secrets.not_sops"],
      ["secrets.e.x-fizz.encrypted", "secrets.not_age"],
    ]);
    expect(r.uploads).toEqual([]);
  });
});

describe("delivery rules", () => {
  test("paths below /run/secrets share the directory mount (a file mounted below that read-only mount cannot be made)", () => {
    const paths = ["/run/secrets/a", "/run/secrets/a/b", "/etc/a", "/run/secrets/", "/run/secretsx/a", "/run/secrets/a/../b", "/run/secrets/a//b", "/run/secrets/a/"];
    expect(paths.map(inSecretsDir)).toEqual([true, true, false, false, false, false, false, false]);
  });
  test("rotation: swap in the directory, restart for pinned files unless asked otherwise", () => {
    expect([rotateAction(true, undefined), rotateAction(true, "signal"), rotateAction(true, "restart"), rotateAction(false, undefined), rotateAction(false, "none"), rotateAction(false, "signal")]).toEqual(["swap", "rewrite+signal", "restart", "restart", "rewrite", "rewrite+signal"]);
  });
  test("scope: own project, cluster secrets, grants", () => {
    const meta = (project: string | null, grants: string[]): SecretMetaRecord => ({ type: "secret", kind: "secret", current: 1, versions: [], project, grants, labels: {}, created: 0 });
    expect(mayRead("x", meta(null, []), "app", "web").ok).toBe(true);
    expect(mayRead("app/secret/x", meta("app", []), "app", "web").ok).toBe(true);
    const denied = mayRead("app/secret/x", meta("app", []), "other", "web");
    expect(denied).toEqual({ ok: false, message: "secret app/secret/x belongs to project app; service web of project other may not read it", hint: "fizz secret grant app/secret/x other" });
    expect(mayRead("app/secret/x", meta("app", ["other/web"]), "other", "web").ok).toBe(true);
    expect(mayRead("app/secret/x", meta("app", ["other/web"]), "other", "db").ok).toBe(false);
    expect(mayRead("x", meta(null, ["app"]), "other", "web").ok).toBe(false);
  });
  test("a definition the agent did not get sealed is refused, naming it", () => {
    const project = load(`name: app\nservices:\n  web:\n    image: x\n    secrets: [a]\nsecrets:\n  a: {file: ./a}\n`);
    expect(deliveryPlan(project, project.services.web!)).toEqual({ ok: false, message: "service 'web': secrets.a has no value the cluster holds; deploy it with fizz up (which uploads or seals it)" });
  });
});
