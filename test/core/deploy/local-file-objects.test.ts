import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import { serviceConfigHash } from "../../../core/compose/hash.ts";
import type { Project } from "../../../core/compose/model.ts";
import { localFileObjects } from "../../../core/deploy/local-file-objects.ts";
import { serviceTemplate } from "../../../core/deploy/container-spec.ts";

function load(yaml: string): Project {
  const r = loadProject({ files: ["/p/compose.yaml"], cwd: "/p", env: {}, reader: { read: (p: string) => (p === "/p/compose.yaml" ? yaml : p === "/p/pw.txt" ? "pw" : undefined) } });
  if (!r.project || r.diagnostics.some((d) => d.severity === "error")) throw new Error(JSON.stringify(r.diagnostics));
  return r.project;
}

const yaml = (content: string) => `name: app
services:
  web:
    image: x
    secrets: [es, fs, ext, unset]
    configs:
      - source: cc
        target: /etc/app.conf
secrets:
  es: {environment: PW}
  fs: {file: ./pw.txt}
  ext: {external: true}
  unset: {environment: NOPE}
  unused: {environment: PW}
configs:
  cc: {content: "${content}"}
`;
const env = (n: string) => (n === "PW" ? "s3cret" : undefined);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

describe("environment: and content: secrets and configs on the engine directly", () => {
  test("each used one becomes a file named by its value's digest; file:, external and unset ones are left alone", () => {
    const r = localFileObjects(load(yaml("hello")), "/run/fizz/local/app", env);
    expect(r.files.map((f) => [f.path.replace(/-[0-9a-f]{16}$/, ""), text(f.bytes)])).toEqual([
      ["/run/fizz/local/app/secret-es", "s3cret"],
      ["/run/fizz/local/app/config-cc", "hello"],
    ]);
    expect(r.project.secrets.es!.file).toBe(r.files[0]!.path);
    expect(r.project.secrets.fs!.file).toBe("/p/pw.txt");
    expect(r.project.secrets.ext!.file).toBeUndefined();
    expect(r.project.secrets.unset!.file).toBeUndefined();
    expect(r.project.secrets.unused!.file).toBeUndefined();
  });

  test("the container mounts them read-only where the service asks; a new value recreates it (config hash), the same value does not", () => {
    const a = localFileObjects(load(yaml("hello")), "/d", env).project;
    const t = serviceTemplate(a, a.services.web!, "x");
    expect(t.warnings.join("\n")).toContain("secrets.unset: its variable NOPE is not set");
    const mounts = (t.template.body.HostConfig?.Mounts ?? []).map((m) => [String(m.Source).replace(/-[0-9a-f]{16}$/, ""), m.Target, m.ReadOnly]);
    expect(mounts).toContainEqual(["/d/secret-es", "/run/secrets/es", true]);
    expect(mounts).toContainEqual(["/d/config-cc", "/etc/app.conf", true]);
    const same = localFileObjects(load(yaml("hello")), "/d", env).project;
    const changed = localFileObjects(load(yaml("hello2")), "/d", env).project;
    expect(serviceConfigHash(same, "web")).toBe(serviceConfigHash(a, "web"));
    expect(serviceConfigHash(changed, "web")).not.toBe(serviceConfigHash(a, "web"));
  });

  test("a project without them is returned as it is", () => {
    const p = load("name: app\nservices:\n  web:\n    image: x\n");
    expect(localFileObjects(p, "/d", env)).toEqual({ project: p, files: [] });
  });
});
