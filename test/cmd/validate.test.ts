import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";

// Each case spawns fizz; give a loaded machine room.
setDefaultTimeout(60_000);

const ROOT = join(import.meta.dir, "..", "..");
const CORPUS = join(ROOT, "test/fixtures/compose");

function fizz(cwd: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [join(ROOT, "cmd/fizz.ts"), ...args], {
    cwd,
    encoding: "utf8",
    env: { PATH: process.env.PATH ?? "", HOME: "/home/user", NO_COLOR: "1", ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("fizz validate", () => {
  test("a valid project exits 0 with a one-line summary", () => {
    const r = fizz(join(CORPUS, "v06-depends-on"), ["validate"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^valid: .*compose\.yaml \(4 services, 0 warnings\)\n$/);
  });

  test("an invalid project prints every error located, then a summary, and exits 1", () => {
    const r = fizz(join(CORPUS, "e06-undefined-refs"), ["validate"]);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split("\n");
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/compose\.yaml:4:15: error: services\.web\.networks\.front: uses undefined network 'front' \(did you mean 'frontend'\?\)$/);
    expect(lines[4]).toMatch(/^invalid: .*: 4 errors, 0 warnings$/);
  });

  test("positional files and -f are the same", () => {
    const dir = join(CORPUS, "v12-explicit-files");
    const a = fizz(dir, ["validate", "compose.yaml", "prod.yaml", "--format", "json"]);
    const b = fizz(dir, ["validate", "-f", "compose.yaml", "-f", "prod.yaml", "--format", "json"]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });

  test("--format json gives valid/errors/warnings with locations", () => {
    const r = fizz(join(CORPUS, "e01-unknown-field"), ["validate", "--format", "json"]);
    expect(r.code).toBe(1);
    const j = JSON.parse(r.stdout);
    expect(j.valid).toBe(false);
    expect(j.errors.map((e: { path: string; line: number; column: number; hint: string }) => [e.path, e.line, e.column, e.hint])).toEqual([
      ["services.web.enviroment", 4, 5, "did you mean 'environment'?"],
      ["services.web.portz", 6, 5, "did you mean 'ports'?"],
    ]);
    expect(j.warnings).toEqual([]);
  });

  test("--quiet prints nothing; the exit code carries the answer", () => {
    const bad = fizz(join(CORPUS, "e05-cycle"), ["validate", "--quiet"]);
    expect([bad.code, bad.stdout]).toEqual([1, ""]);
    const good = fizz(join(CORPUS, "v01-minimal"), ["validate", "-q"]);
    expect([good.code, good.stdout]).toEqual([0, ""]);
  });

  test("warnings do not make a project invalid", () => {
    const r = fizz(join(CORPUS, "e17-unsupported-warnings"), ["validate"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("warning: services.web.post_start: 'post_start' is parsed but not honoured by Fizz yet");
  });

  test("no compose file: an error with a hint, exit 1", () => {
    const dir = mkdtempSync(join(tmpdir(), "fizz-validate-"));
    const r = fizz(dir, ["validate"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("no compose file found");
  });

  test("--env-file, --profile and -p are honoured", () => {
    const dir = mkdtempSync(join(tmpdir(), "fizz-validate-"));
    writeFileSync(join(dir, "compose.yaml"), "services:\n  a:\n    image: x:${TAG:?TAG is required}\n  b:\n    image: y\n    profiles: [extra]\n");
    writeFileSync(join(dir, "vars.env"), "TAG=7\n");
    expect(fizz(dir, ["validate", "-q"]).code).toBe(1);
    const r = fizz(dir, ["validate", "--env-file", "vars.env", "--profile", "extra", "-p", "demo", "--format", "json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).project).toBe("demo");
    const cfg = fizz(dir, ["config", "--env-file", "vars.env", "--profile", "extra", "--services"]);
    expect(cfg.stdout).toBe("a\nb\n");
  });
});

describe("fizz config", () => {
  test("prints the normalised project as YAML that parses back to the same document as --format json", () => {
    const dir = join(CORPUS, "v11-multifile");
    const y = fizz(dir, ["config"]);
    const j = fizz(dir, ["config", "--format", "json"]);
    expect(y.code).toBe(0);
    expect(parse(y.stdout)).toEqual(JSON.parse(j.stdout));
    expect(JSON.parse(j.stdout).services.web.image).toBe("nginx:2");
  });

  test("--services, --volumes, --profiles", () => {
    expect(fizz(join(CORPUS, "v06-depends-on"), ["config", "--services"]).stdout.split("\n").filter(Boolean).sort()).toEqual(["cache", "db", "migrate", "web"]);
    expect(fizz(join(CORPUS, "v04-volumes-short"), ["config", "--volumes"]).stdout).toBe("data\n");
    expect(fizz(join(CORPUS, "v16-profiles"), ["config", "--profiles"]).stdout).toBe("debug\ntools\n");
  });

  test("--hash prints one stable sha256 per service; scaling does not change it, the image does", () => {
    const dir = mkdtempSync(join(tmpdir(), "fizz-config-"));
    const write = (replicas: number, image: string) =>
      writeFileSync(join(dir, "compose.yaml"), `services:\n  web:\n    image: ${image}\n    deploy: {replicas: ${replicas}}\n  db:\n    image: postgres\n`);
    write(1, "nginx:1");
    const a = fizz(dir, ["config", "--hash", "*"]);
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^web [0-9a-f]{64}\ndb [0-9a-f]{64}\n$/);
    write(5, "nginx:1");
    expect(fizz(dir, ["config", "--hash", "web"]).stdout).toBe(a.stdout.split("\n")[0] + "\n");
    write(1, "nginx:2");
    expect(fizz(dir, ["config", "--hash", "web"]).stdout).not.toBe(a.stdout.split("\n")[0] + "\n");
  });

  test("an invalid project prints every error on stderr and exits 1", () => {
    const r = fizz(join(CORPUS, "e03-duplicate-port"), ["config"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("published port 8080/tcp is already published by services.a.ports[0]");
  });
});
