/**
 * `fizz config` as a user runs it (a real process in a project directory):
 * the project's .env is read by Fizz with Compose's rules, not loaded into the
 * environment by the runtime first; each error is printed once.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const ROOT = join(import.meta.dir, "..", "..");
const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function project(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "fizz-config-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function fizz(cwd: string, args: string[], env: Record<string, string> = {}, input?: string) {
  const r = spawnSync(process.execPath, [join(ROOT, "cmd/fizz.ts"), ...args], { cwd, encoding: "utf8", env: { PATH: process.env.PATH ?? "", HOME: "/root", NO_COLOR: "1", ...env }, ...(input !== undefined ? { input } : {}) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe("fizz config", () => {
  test("a self-referencing .env default expands (the runtime does not pre-load .env)", () => {
    const dir = project({ "compose.yaml": "services:\n  api:\n    image: ${IMAGE_NAME}:${TAG}\n    environment: [MEU]\n", ".env": 'IMAGE_NAME="${IMAGE_NAME:-backend}"\nTAG=1.0\n' });
    const r = fizz(dir, ["config", "--format", "json"], { MEU: "from-shell" });
    expect(r.stderr).toBe("");
    const doc = JSON.parse(r.stdout);
    expect(doc.services.api.image).toBe("backend:1.0");
    expect(doc.services.api.environment).toEqual({ MEU: "from-shell" });
  }, 30_000);

  test("--images, --networks and -o, as CI scripts use docker compose config", () => {
    const dir = project({ "compose.yaml": "name: shop\nservices:\n  web:\n    image: nginx:1\n    networks: [front]\n  api:\n    build: ./api\nnetworks:\n  front: {}\n" });
    const images = fizz(dir, ["config", "--images"]);
    expect(images.stderr).toBe("");
    expect(images.stdout.split("\n").filter(Boolean).sort()).toEqual(["nginx:1", "shop-api"]);
    expect(fizz(dir, ["config", "--networks"]).stdout.split("\n").filter(Boolean).sort()).toEqual(["default", "front"]);
    const out = fizz(dir, ["config", "-o", "out.yaml"]);
    expect(out.code).toBe(0);
    expect(out.stdout).toBe("");
    expect(readFileSync(join(dir, "out.yaml"), "utf8")).toBe(fizz(dir, ["config"]).stdout);
  }, 30_000);

  test("each error is printed once, then a count", () => {
    const dir = project({ "compose.yaml": "services:\n  a:\n    image: x\n    ports: ['99999:80']\n" });
    const r = fizz(dir, ["config"]);
    expect(r.code).toBe(1);
    expect(r.stderr.split("\n").filter((l) => l.includes("services.a.ports[0]"))).toHaveLength(1);
    expect(r.stderr).toContain("the compose project has 1 error (listed above)");
    expect(r.stdout).toBe("");
  }, 30_000);

  test("config web enables web's profiles when they are inactive, as docker compose config web does", () => {
    const dir = project({ "compose.yaml": "services:\n  a:\n    image: x\n  web:\n    image: nginx\n    profiles: [front]\n" });
    const r = fizz(dir, ["config", "--format", "json", "web"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(Object.keys(doc.services)).toEqual(["web"]);
    expect(doc.services.web.networks).toEqual({ default: null });
    expect(fizz(dir, ["config", "nope"]).stderr).toContain("no service 'nope'");
  }, 30_000);

  test("config web prints web and what it depends on, transitively, as docker compose config web does", () => {
    const dir = project({
      "compose.yaml":
        "services:\n  web:\n    image: x\n    depends_on: [api]\n  api:\n    image: x\n    depends_on:\n      db: {condition: service_started}\n  db:\n    image: x\n  other:\n    image: x\n",
    });
    const r = fizz(dir, ["config", "--format", "json", "web"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(Object.keys(JSON.parse(r.stdout).services).sort()).toEqual(["api", "db", "web"]);
    expect(fizz(dir, ["config", "--services", "api"]).stdout.split("\n").filter(Boolean).sort()).toEqual(["api", "db"]);
    expect(Object.keys(JSON.parse(fizz(dir, ["config", "--format", "json", "other"]).stdout).services)).toEqual(["other"]);
  }, 30_000);

  test("-f - reads the compose file from stdin, relative to the current directory: fizz config's output fed back is the same project", () => {
    const dir = project({ "compose.yaml": "services:\n  api:\n    image: x:${TAG:-1}\n    env_file: api.env\n    volumes: [./site:/site]\n", "api.env": "A=1\n", ".env": "TAG=2\n" });
    const first = fizz(dir, ["config"]);
    expect(first.code).toBe(0);
    const again = fizz(dir, ["config", "-f", "-"], {}, first.stdout);
    expect(again.stderr).toBe("");
    expect(again.stdout).toBe(first.stdout);
    // A file written by hand: its relative paths and .env resolve from the current directory, as in Compose.
    const piped = fizz(dir, ["config", "--format", "json", "-f", "-"], {}, "services:\n  b:\n    image: y:${TAG}\n    env_file: api.env\n");
    expect(piped.stderr).toBe("");
    const doc = JSON.parse(piped.stdout);
    expect(doc.name).toBe(JSON.parse(fizz(dir, ["config", "--format", "json"]).stdout).name);
    expect(doc.services.b).toMatchObject({ image: "y:2", environment: { A: "1" } });
    const bad = fizz(dir, ["validate", "-f", "-"], {}, "services:\n  b:\n    image: y\n    ports: ['abc']\n");
    expect(bad.code).toBe(1);
    expect(bad.stdout + bad.stderr).toContain("-:4:");
  }, 30_000);
});
