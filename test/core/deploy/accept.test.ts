/**
 * What the agent accepts (issue 18 items 4 and 8): a deployment is checked as
 * `fizz validate` checks a file, plus image references, before anything is
 * stored; and the loader sees only what the request carries.
 */
import { describe, expect, test } from "bun:test";
import { acceptDeployment } from "../../../core/deploy/accept.ts";
import { loadProject } from "../../../core/compose/load.ts";
import type { Project } from "../../../core/compose/model.ts";

function cliProject(yaml: string, files: Record<string, string> = {}): Project {
  const all: Record<string, string> = { "/src/compose.yaml": yaml, ...files };
  const r = loadProject({ files: ["/src/compose.yaml"], cwd: "/src", env: { TAG: "1" }, reader: { read: (p) => all[p] } });
  if (!r.project || r.diagnostics.some((d) => d.severity === "error")) throw new Error(JSON.stringify(r.diagnostics));
  return r.project;
}

const asBody = (p: Project) => JSON.parse(JSON.stringify(p)) as Record<string, unknown>;

function refusal(r: ReturnType<typeof acceptDeployment>) {
  if (r.ok) throw new Error("expected a refusal");
  return r.error;
}

describe("acceptDeployment", () => {
  test("the CLI's normalised project is accepted with the same meaning", () => {
    const p = cliProject(`
services:
  web:
    image: nginx:\${TAG}
    command: ["sh", "-c", "echo $$HOME"]
    ports: ["8080:80"]
    mem_limit: 64m
    environment: { A: "x" }
    env_file: [vars.env]
    healthcheck: { test: ["CMD", "true"], interval: 2s }
    depends_on: { db: { condition: service_healthy } }
    deploy: { replicas: 3 }
  tools:
    image: busybox
    profiles: [debug]
  db:
    image: postgres:16
    volumes: [data:/var/lib/postgresql/data]
volumes: { data: {} }
`, { "/src/vars.env": "B=from-file\n" });
    const r = acceptDeployment({ name: "shop", project: asBody({ ...p, services: p.services }), local: false });
    if (!r.ok) throw r.error;
    const w = r.project.services.web!;
    expect(w.image).toBe("nginx:1");
    expect(w.command).toEqual(["sh", "-c", "echo $HOME"]);
    expect(w.environment).toEqual(p.services.web!.environment);
    expect(w.environment.B).toBe("from-file");
    expect(w.mem_limit).toBe(p.services.web!.mem_limit);
    expect(w.ports).toEqual(p.services.web!.ports);
    expect(w.healthcheck).toEqual(p.services.web!.healthcheck);
    expect(w.deploy?.replicas).toBe(3);
    expect(r.project.name).toBe("shop");
    expect(Object.keys(r.project.services).sort()).toEqual(Object.keys(p.services).sort());
  });

  test("services the sender's profiles leave out are kept, disabled, with their profiles (their containers are no orphans)", () => {
    const p = cliProject("services:\n  app:\n    image: busybox\n    profiles: [web, api]\n    ports: ['8080:80']\n  tools:\n    image: busybox\n    profiles: [api]\n    ports: ['8080:80']\n  other:\n    image: busybox\n    profiles: [debug]\n");
    // As `fizz up -d app` sends it: app enabled (enableTargets), the others as the file's profiles leave them.
    const sent = { ...p, services: { app: p.disabled_services.app! }, disabled_services: { tools: p.disabled_services.tools!, other: p.disabled_services.other! } };
    const r = acceptDeployment({ name: "shop", project: asBody(sent as Project), local: false });
    if (!r.ok) throw r.error;
    expect(Object.keys(r.project.services)).toEqual(["app"]);
    expect(Object.keys(r.project.disabled_services).sort()).toEqual(["other", "tools"]);
    expect(r.project.disabled_services.tools!.profiles).toEqual(["api"]);
    expect(r.project.disabled_services.tools!.ports).toEqual(p.disabled_services.tools!.ports);
  });

  test("refused before anything is stored: bad image, ports, units, types (18.4)", () => {
    const base = asBody(cliProject("services:\n  web:\n    image: busybox\n"));
    const svc = (extra: Record<string, unknown>) => ({ ...base, services: { web: { ...(base.services as Record<string, Record<string, unknown>>).web, ...extra } } });
    expect(refusal(acceptDeployment({ name: "x", project: svc({ image: "UPPER/Case:1" }), local: true })).code).toBe("compose.bad_value");
    expect(refusal(acceptDeployment({ name: "x", project: svc({ ports: ["junk"] }), local: true })).status).toBe(400);
    expect(refusal(acceptDeployment({ name: "x", project: svc({ environment: { A: { nested: { deep: 1 } } } }), local: true })).status).toBe(400);
    expect(refusal(acceptDeployment({ name: "x", project: svc({ mem_limit: "lots" }), local: true })).status).toBe(400);
    // A 1 MiB image name is refused with a message that does not echo it whole.
    expect(refusal(acceptDeployment({ name: "x", project: svc({ image: "x".repeat(1 << 20) }), local: true })).message.length).toBeLessThan(400);
    expect(refusal(acceptDeployment({ name: "x", project: svc({ deploy: { replicas: 100000 } }), local: true })).message).toContain("over the replicas limit (1000 replicas)");
    expect(refusal(acceptDeployment({ name: "x", project: { services: 5 }, local: true })).code).toBe("api.bad_project");
  });

  test("compose files are checked as fizz validate checks them", () => {
    const e = refusal(acceptDeployment({ name: "x", files: [{ name: "compose.yaml", content: "services:\n  web:\n    image: busybox\n    ports: [\"junk\"]\n" }], workingDir: "/w", local: true }));
    expect(e.location).toEqual({ file: "/w/compose.yaml", line: 4, column: 13 });
  });

  test("the agent reads only what it is sent (18.8): env_file, extends.file and include elsewhere are missing", () => {
    for (const content of [
      "services:\n  web:\n    image: busybox\n    env_file: /etc/hostname\n",
      "services:\n  web:\n    extends: { file: /etc/shadow, service: x }\n",
      "include: [/etc/hosts]\nservices:\n  web:\n    image: busybox\n",
    ]) {
      const e = refusal(acceptDeployment({ name: "x", files: [{ name: "compose.yaml", content }], workingDir: "/w", local: false }));
      expect(e.status).toBe(400);
      expect(JSON.stringify(e.toJSON())).not.toContain("localhost"); // nothing of /etc/hosts or /etc/hostname leaks
    }
    // A file that is sent is read.
    const ok = acceptDeployment({
      name: "x",
      files: [{ name: "compose.yaml", content: "services:\n  web:\n    image: busybox\n    env_file: vars.env\n" }],
      attachments: [{ name: "vars.env", content: "A=1\n" }],
      workingDir: "/w",
      local: false,
    });
    if (!ok.ok) throw ok.error;
    expect(ok.project.services.web!.environment.A).toBe("1");
    // A project body naming an env_file is refused the same way.
    const base = asBody(cliProject("services:\n  web:\n    image: busybox\n"));
    const withEnvFile = { ...base, services: { web: { ...(base.services as Record<string, Record<string, unknown>>).web, env_file: [{ path: "/etc/hostname", required: true }] } } };
    expect(refusal(acceptDeployment({ name: "x", project: withEnvFile, local: true })).status).toBe(400);
  });

  test("a build context is used only by a local client", () => {
    const p = asBody(cliProject("services:\n  app:\n    build: .\n"));
    expect(refusal(acceptDeployment({ name: "x", project: p, local: false })).code).toBe("deploy.remote_build");
    expect(acceptDeployment({ name: "x", project: p, local: true }).ok).toBe(true);
  });

  test("a config uploaded from content: is stored as its reference only, never its value", async () => {
    const { resolveComposeSecrets } = await import("../../../core/secrets/compose.ts");
    const p = cliProject(`
services:
  web:
    image: nginx
    configs: [motd]
configs:
  motd: {content: "hello secret world"}
  spare: {content: "unused secret text"}
`);
    const plan = resolveComposeSecrets({ project: p, readFile: () => ({ ok: false, message: "none" }), env: () => undefined, maxBytes: 1024 });
    expect(plan.errors).toEqual([]);
    expect(plan.uploads.map((u) => u.path)).toEqual(["src/config/motd"]);
    const r = acceptDeployment({ name: "src", project: asBody(plan.project), local: false });
    if (!r.ok) throw r.error;
    const stored = JSON.stringify(r.project);
    expect(stored).not.toContain("hello secret world");
    expect(stored).not.toContain("unused secret text");
    expect(r.project.configs.motd).toMatchObject({ sealed: { kind: "stored", path: "src/config/motd" } });
    expect(r.project.configs.motd!.content).toBeUndefined();
    // An API client that sends content next to a stored reference does not get it kept either.
    const raw = asBody(p);
    (raw.configs as Record<string, Record<string, unknown>>).motd!.sealed = { kind: "stored", path: "src/config/motd" };
    const r2 = acceptDeployment({ name: "src", project: raw, local: false });
    if (!r2.ok) throw r2.error;
    expect(JSON.stringify(r2.project.configs.motd)).not.toContain("hello secret world");
  });
});
