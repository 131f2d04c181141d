/**
 * Regression tests for the places where Fizz and Compose v2 (compose-go, the
 * compose-spec schema) disagreed on what a file means (issue 17), one per
 * disagreement and its class. Files live in memory; the loader is pure.
 */
import { describe, expect, test } from "bun:test";
import { loadProject, type LoadResult } from "../../../core/compose/load.ts";
import { parseDotenv } from "../../../core/compose/dotenv.ts";

function load(files: Record<string, string>, env: Record<string, string> = {}, opts: { resolveEnvironment?: boolean } = {}): LoadResult {
  return loadProject({
    cwd: "/p",
    env: { HOME: "/home/u", ...env },
    reader: { read: (p) => files[p] },
    ...opts,
  });
}
const errors = (r: LoadResult) => r.diagnostics.filter((d) => d.severity === "error");
const warnings = (r: LoadResult) => r.diagnostics.filter((d) => d.severity === "warning");
const svc = (r: LoadResult, name: string) => r.project!.services[name]!;

describe("interpolation and the environment", () => {
  test("a .env default that refers to its own variable expands (IMAGE_NAME=${IMAGE_NAME:-backend})", () => {
    const r = load({ "/p/compose.yaml": "services:\n  api:\n    image: ${IMAGE_NAME}:${TAG}\n", "/p/.env": 'IMAGE_NAME="${IMAGE_NAME:-backend}"\nTAG=1.0\n' });
    expect(errors(r)).toEqual([]);
    expect(svc(r, "api").image).toBe("backend:1.0");
    // The shell's value wins over the default, and over a later line that reads it.
    const s = load({ "/p/compose.yaml": "services:\n  api:\n    image: ${IMAGE_NAME}\n", "/p/.env": "IMAGE_NAME=${IMAGE_NAME:-backend}\n" }, { IMAGE_NAME: "shell" });
    expect(svc(s, "api").image).toBe("shell");
  });

  test("a dotenv value reads the outer environment before the file's own earlier lines, as compose-go does", () => {
    expect(parseDotenv("A=file\nB=${A}\n", (n) => (n === "A" ? "shell" : undefined)).vars.B).toBe("shell");
    // A bare name inherits the outer value (and is skipped when there is none).
    expect(parseDotenv("INHERIT\nMISSING\n", (n) => (n === "INHERIT" ? "x" : undefined)).vars).toEqual({ INHERIT: "x" });
  });

  test("an environment entry with no value takes the shell's (or .env's) value; unset stays null", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    environment:\n      - MEU\n      - FROMDOTENV\n      - UNSET\n  b:\n    image: x\n    environment:\n      MEU:\n", "/p/.env": "FROMDOTENV=d\n" }, { MEU: "shell" });
    expect(svc(r, "a").environment).toEqual({ MEU: "shell", FROMDOTENV: "d", UNSET: null });
    expect(svc(r, "b").environment).toEqual({ MEU: "shell" });
  });

  test("env_file values are merged into environment (environment wins) and env_file is dropped", () => {
    const files = {
      "/p/compose.yaml": "services:\n  a:\n    image: x\n    env_file: [a.env, {path: opt.env, required: false}]\n    environment:\n      OVERRIDE: compose\n      LATE: ${LATE_SRC:-z}\n",
      "/p/a.env": "FROM_FILE=1\nOVERRIDE=file\nREF=${FROM_FILE}-${OVERRIDE}\nHOME_REF=${HOME}\n",
    };
    const r = load(files);
    expect(errors(r)).toEqual([]);
    expect(svc(r, "a").env_file).toBeUndefined();
    expect(svc(r, "a").environment).toEqual({ FROM_FILE: "1", OVERRIDE: "compose", REF: "1-compose", HOME_REF: "/home/u", LATE: "z" });
    // --no-env-resolution keeps them as written.
    const kept = load(files, {}, { resolveEnvironment: false });
    expect(svc(kept, "a").env_file?.map((e) => e.path)).toEqual(["/p/a.env", "/p/opt.env"]);
    expect(svc(kept, "a").environment).toEqual({ OVERRIDE: "compose", LATE: "z" });
  });

  test("a bad line in an env_file is an error at that file and line", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    env_file: a.env\n", "/p/a.env": "OK=1\nnot a var\n" });
    expect(errors(r).map((d) => [d.file, d.line])).toEqual([["/p/a.env", 2]]);
  });
});

describe("valid current-spec input is accepted", () => {
  test("pre_start hooks (command optional, image, per_replica), warned as not run yet", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    pre_start:\n      - image: busybox\n        per_replica: true\n      - command: echo hi\n" });
    expect(errors(r)).toEqual([]);
    expect(svc(r, "a").pre_start).toEqual([{ image: "busybox", per_replica: true }, { command: ["echo", "hi"] }]);
    expect(warnings(r).map((w) => w.path)).toContain("services.a.pre_start");
    expect(warnings(r).map((w) => w.message).join()).not.toContain("did you mean");
  });

  test("build.no_cache_filter, pull_policy refresh with pull_refresh_after, volume.labels", () => {
    const r = load({
      "/p/compose.yaml":
        "services:\n  a:\n    build:\n      context: .\n      no_cache_filter: [base, deps]\n    pull_policy: refresh\n    pull_refresh_after: 24h\n    volumes:\n      - type: volume\n        source: v\n        target: /v\n        volume:\n          labels: {k: v}\nvolumes:\n  v: {}\n",
    });
    expect(errors(r)).toEqual([]);
    expect(svc(r, "a").build?.no_cache_filter).toEqual(["base", "deps"]);
    expect(svc(r, "a").pull_policy).toBe("refresh");
  });

  test("a multi-document file: documents merge in order, like -f files", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    environment: {A: '1'}\n---\nservices:\n  a:\n    environment: {B: '2'}\n  b:\n    image: y\n---\n" });
    expect(errors(r)).toEqual([]);
    expect(Object.keys(r.project!.services).sort()).toEqual(["a", "b"]);
    expect(svc(r, "a").environment).toEqual({ A: "1", B: "2" });
  });

  test("the multi-document error is Fizz's own, located at the bad document", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n---\n- just a list\n" });
    expect(errors(r)).toHaveLength(1);
    expect(errors(r)[0]!.message).toContain("document 2 of 2");
    expect(errors(r)[0]!.message).not.toMatch(/parseAllDocuments|Source contains/);
    expect(errors(r)[0]!.line).toBe(5);
  });

  test("an external network that also sets internal/attachable is accepted (those are ignored, with a warning)", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    networks: [n]\nnetworks:\n  n:\n    external: true\n    internal: true\n    attachable: true\n" });
    expect(errors(r)).toEqual([]);
    expect(r.project!.networks.n!.external).toBe(true);
    // (plus issue 12's: an external network is node-local in a cluster)
    expect(warnings(r).map((w) => w.path).sort()).toEqual(["networks.n.attachable", "networks.n.external", "networks.n.internal"]);
    // An external volume with other fields stays an error, as in compose-go.
    const v = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\nvolumes:\n  d:\n    external: true\n    driver: local\n" });
    expect(errors(v).map((d) => d.path)).toEqual(["volumes.d.driver"]);
  });

  test("service names the spec allows ('.', '_' or '-' first) are accepted", () => {
    const r = load({ "/p/compose.yaml": "services:\n  _worker:\n    image: x\n" });
    expect(errors(r)).toEqual([]);
  });
});

describe("invalid input is refused", () => {
  test("an empty file", () => {
    for (const text of ["", "# only a comment\n", "---\n"]) {
      const r = load({ "/p/compose.yaml": text });
      expect(r.project).toBeUndefined();
      expect(errors(r).map((d) => d.code)).toEqual(["compose.empty"]);
    }
    // An empty override on top of a real file is fine.
    const ok = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n", "/p/compose.override.yaml": "" });
    expect(errors(ok)).toEqual([]);
  });

  test("a develop.watch entry without action (and the rest of develop's schema)", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    develop:\n      watch:\n        - path: ./src\n        - path: ./b\n          action: teleport\n        - path: ./c\n          action: sync\n        - path: ''\n          action: rebuild\n        - path: ./d\n          action: rebuild\n          bogus: 1\n" });
    const found = errors(r).map((d) => `${d.path}: ${d.message}`);
    expect(found).toContain("services.a.develop.watch[0]: missing required field 'action'");
    expect(found.some((m) => m.startsWith("services.a.develop.watch[1].action"))).toBe(true);
    expect(found.some((m) => m.startsWith("services.a.develop.watch[2]") && m.includes("target"))).toBe(true);
    expect(found.some((m) => m.startsWith("services.a.develop.watch[3].path"))).toBe(true);
    expect(found.some((m) => m.startsWith("services.a.develop.watch[4].bogus"))).toBe(true);
    const ok = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    develop:\n      watch:\n        - path: ./src\n          action: sync\n          target: /app\n          ignore: node_modules/\n" });
    expect(errors(ok)).toEqual([]);
    expect(svc(ok, "a").develop?.watch?.[0]).toEqual({ path: "/p/src", action: "sync", target: "/app", ignore: ["node_modules/"] });
  });

  test("tmpfs.size -1 (a size cannot be negative)", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    volumes:\n      - type: tmpfs\n        target: /t\n        tmpfs: {size: -1}\n" });
    expect(errors(r).map((d) => d.path)).toEqual(["services.a.volumes[0].tmpfs.size"]);
    const ok = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    volumes:\n      - type: tmpfs\n        target: /t\n        tmpfs: {size: 64m}\n" });
    expect(errors(ok)).toEqual([]);
  });

  test("an unquoted integer service name, and every other non-string key", () => {
    for (const [text, where] of [
      ["services:\n  123:\n    image: x\n", 2],
      ["services:\n  a:\n    image: x\n    environment:\n      1: FOO\n", 5],
      ["services:\n  a:\n    image: x\n    labels:\n      true: yes\n", 5],
      ["services: {a: {image: x, labels: {2: b}}}\n", 1],
    ] as const) {
      const r = load({ "/p/compose.yaml": text });
      expect(errors(r).map((d) => d.code)).toEqual(["compose.non_string_key"]);
      expect(errors(r)[0]!.line).toBe(where);
    }
    const quoted = load({ "/p/compose.yaml": 'services:\n  "123":\n    image: x\n' });
    expect(errors(quoted)).toEqual([]);
  });

  test("`- DEBUG = true` (a variable name with a trailing space)", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    environment:\n      - DEBUG = true\n    build:\n      context: .\n      args:\n        - V =1\n" });
    expect(errors(r).map((d) => d.path)).toEqual(["services.a.environment[0]", "services.a.build.args[0]"]);
    expect(errors(r)[0]!.hint).toContain("DEBUG=true");
  });

  test("a container_name the engine would refuse; depends_on long syntax without condition", () => {
    const r = load({ "/p/compose.yaml": "services:\n  a:\n    image: x\n    container_name: 'my app'\n    depends_on:\n      b: {restart: true}\n  b:\n    image: x\n" });
    expect(errors(r).map((d) => d.path).sort()).toEqual(["services.a.container_name", "services.a.depends_on.b"]);
  });
});

describe("paths", () => {
  test("Windows absolute paths are kept, not joined to the project directory", () => {
    const r = load({
      "/p/compose.yaml": "services:\n  a:\n    image: x\n    volumes:\n      - C:\\data:/data\n      - type: bind\n        source: 'd:/logs'\n        target: /logs\n      - '\\\\server\\share:/share'\n    env_file: [{path: 'C:\\env\\a.env', required: false}]\nsecrets:\n  s:\n    file: 'C:\\secrets\\s.txt'\n",
    });
    expect(errors(r)).toEqual([]);
    expect(svc(r, "a").volumes.map((v) => [v.type, v.source])).toEqual([
      ["bind", "C:\\data"],
      ["bind", "d:/logs"],
      ["bind", "\\\\server\\share"],
    ]);
    expect(r.project!.secrets.s!.file).toBe("C:\\secrets\\s.txt");
  });
});

describe("merging an override file (compose-go's merge rules)", () => {
  const two = (base: string, over: string, extra: Record<string, string> = {}) =>
    loadProject({ cwd: "/p", env: { HOME: "/home/u" }, files: ["compose.yaml", "override.yaml"], reader: { read: (p) => ({ "/p/compose.yaml": base, "/p/override.yaml": over, ...extra })[p] } });

  test("a string env_file, dns, dns_search or tmpfs is a one-item list: the override's appends to it", () => {
    const r = two(
      "services:\n  a:\n    image: x\n    env_file: common.env\n    dns: 1.1.1.1\n    dns_search: a.example\n    tmpfs: /run\n",
      "services:\n  a:\n    env_file: local.env\n    dns: [8.8.8.8]\n    dns_search: b.example\n    tmpfs: /tmp\n",
      { "/p/common.env": "COMMON=1\nWHO=common\n", "/p/local.env": "LOCAL=1\nWHO=local\n" },
    );
    expect(errors(r)).toEqual([]);
    expect(svc(r, "a").environment).toEqual({ COMMON: "1", LOCAL: "1", WHO: "local" });
    expect(svc(r, "a").dns).toEqual(["1.1.1.1", "8.8.8.8"]);
    expect(svc(r, "a").dns_search).toEqual(["a.example", "b.example"]);
    expect(svc(r, "a").tmpfs).toEqual(["/run", "/tmp"]);
  });

  test("extends appends a string env_file the same way", () => {
    const r = load({
      "/p/compose.yaml": "services:\n  base:\n    image: x\n    env_file: base.env\n  a:\n    extends: base\n    env_file: a.env\n",
      "/p/base.env": "BASE=1\n",
      "/p/a.env": "A=1\n",
    });
    expect(errors(r)).toEqual([]);
    expect(svc(r, "a").environment).toEqual({ BASE: "1", A: "1" });
  });

  test("an override key with no value (null) keeps the base's value", () => {
    const r = two(
      "services:\n  a:\n    image: x\n    environment:\n      A: '1'\n    networks:\n      front:\n        aliases: [api]\nnetworks:\n  front: {}\n  back: {}\n",
      "services:\n  a:\n    environment:\n    networks: [front, back]\n",
    );
    expect(errors(r)).toEqual([]);
    expect(svc(r, "a").environment).toEqual({ A: "1" });
    expect(svc(r, "a").networks.front?.aliases).toEqual(["api"]);
    expect(Object.keys(svc(r, "a").networks).sort()).toEqual(["back", "front"]);
  });

  test("depends_on as a list in the override means service_started, also over a base's service_healthy", () => {
    const r = two(
      "services:\n  a:\n    image: x\n    depends_on:\n      db: {condition: service_healthy}\n  db:\n    image: x\n    healthcheck: {test: [CMD, 'true']}\n  cache:\n    image: x\n",
      "services:\n  a:\n    depends_on: [db, cache]\n",
    );
    expect(errors(r)).toEqual([]);
    expect(svc(r, "a").depends_on.db?.condition).toBe("service_started");
    expect(svc(r, "a").depends_on.cache?.condition).toBe("service_started");
  });

  test("logging with another driver replaces the base's, options included; the same driver merges them", () => {
    const base = "services:\n  a:\n    image: x\n    logging:\n      driver: json-file\n      options:\n        max-size: 10m\n";
    const other = two(base, "services:\n  a:\n    logging:\n      driver: syslog\n      options:\n        syslog-address: udp://127.0.0.1:514\n");
    expect(errors(other)).toEqual([]);
    expect(svc(other, "a").logging).toEqual({ driver: "syslog", options: { "syslog-address": "udp://127.0.0.1:514" } });
    const same = two(base, "services:\n  a:\n    logging:\n      options:\n        max-file: '3'\n");
    expect(svc(same, "a").logging).toEqual({ driver: "json-file", options: { "max-size": "10m", "max-file": "3" } });
  });
});

describe("the project's .env names the files", () => {
  const files = {
    "/p/base.yml": "services:\n  a:\n    image: busybox:${TAG}\n",
    "/p/over.yml": "services:\n  a:\n    environment:\n      FROM: over\n",
    "/p/.env": "COMPOSE_FILE=base.yml:over.yml\nTAG=2\n",
  };
  test("COMPOSE_FILE in .env is read when no -f is given, as Compose does", () => {
    const r = load(files);
    expect(errors(r)).toEqual([]);
    expect(r.project!.files).toEqual(["/p/base.yml", "/p/over.yml"]);
    expect(svc(r, "a").environment).toEqual({ FROM: "over" });
    expect(svc(r, "a").image).toBe("busybox:2");
  });
  test("the shell's COMPOSE_FILE wins over .env's, and COMPOSE_PATH_SEPARATOR applies", () => {
    expect(load(files, { COMPOSE_FILE: "base.yml" }).project!.files).toEqual(["/p/base.yml"]);
    const sep = load({ ...files, "/p/.env": "COMPOSE_PATH_SEPARATOR=;\nCOMPOSE_FILE=base.yml;over.yml\nTAG=1\n" });
    expect(sep.project!.files).toEqual(["/p/base.yml", "/p/over.yml"]);
  });
});

describe("a service scaled to zero", () => {
  test("publishes nothing, so its ports conflict with no one's (an override's `scale: 0` that swaps a service for another)", () => {
    const r = load({ "/p/compose.yaml": "services:\n  web:\n    image: x\n    ports: ['8000:80']\n    scale: 0\n  web-dev:\n    image: x\n    ports: ['8000:80']\n  worker:\n    image: x\n    ports: ['8000:80']\n    deploy: {replicas: 0}\n" });
    expect(errors(r)).toEqual([]);
    // Two that run still conflict.
    const both = load({ "/p/compose.yaml": "services:\n  web:\n    image: x\n    ports: ['8000:80']\n  web-dev:\n    image: x\n    ports: ['8000:80']\n" });
    expect(errors(both).map((d) => d.code)).toEqual(["compose.port_conflict"]);
  });
});

describe("positions after extends", () => {
  test("an error in a list item inherited through extends points at the line it was written on, not at the service's own item with that index", () => {
    const r = load({
      "/p/compose.yaml": "services:\n  web:\n    extends:\n      file: common/base.yml\n      service: base\n    volumes:\n      - ./local:/cfg\n    ports:\n      - '8080:80'\n",
      "/p/common/base.yml": "services:\n  base:\n    image: x\n    volumes:\n      - ./cfg:/cfg:ro\n      - cache:/cache\n    ports:\n      - '99999:81'\n",
    });
    const e = errors(r);
    expect(e.map((d) => [d.path, d.file, d.line])).toEqual(
      expect.arrayContaining([
        [expect.stringMatching(/^services\.web\.volumes\[\d\]$/), "/p/common/base.yml", 6],
        [expect.stringMatching(/^services\.web\.ports\[\d\]$/), "/p/common/base.yml", 8],
      ]),
    );
    expect(e).toHaveLength(2);
  });
});

test("an error in a list item of an earlier file points at that file, not at the override's item with that index", () => {
  const r = loadProject({
    cwd: "/p",
    env: {},
    files: ["compose.yaml", "override.yaml"],
    reader: { read: (p) => ({ "/p/compose.yaml": "services:\n  web:\n    image: x\n    ports:\n      - '99999:80'\n", "/p/override.yaml": "services:\n  web:\n    ports:\n      - '7070:70'\n      - '7071:70000'\n" })[p] },
  });
  expect(errors(r).map((d) => [d.file, d.line]).sort()).toEqual([
    ["/p/compose.yaml", 5],
    ["/p/override.yaml", 5],
  ]);
});
