import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { FizzError, isFizzError } from "../../../core/errors.ts";
import {
  coerce,
  defaults,
  envLayer,
  envName,
  fields,
  flagLayer,
  formatDuration,
  mergeConfig,
  parseApiAddress,
  parseConfigFile,
  parseDuration,
  resolveAgentConfig,
  type HostFacts,
} from "../../../core/agent-config/index.ts";

const root: HostFacts = { uid: 0, env: {}, home: "/root" };
const user: HostFacts = { uid: 1000, env: { XDG_DATA_HOME: "/home/u/data", XDG_RUNTIME_DIR: "/run/user/1000" }, home: "/home/u" };

function err(f: () => unknown): FizzError {
  try {
    f();
  } catch (e) {
    if (isFizzError(e)) return e;
    throw e;
  }
  throw new Error("expected a FizzError");
}

describe("defaults", () => {
  test("root: /var/lib/fizz and /run/fizz/fizz.sock", () => {
    const d = defaults(root);
    expect(d.data_dir).toBe("/var/lib/fizz");
    expect(d.api.socket).toBe("/run/fizz/fizz.sock");
    expect(d.api.socket_mode).toBe(0o660);
  });
  test("user: XDG_DATA_HOME and XDG_RUNTIME_DIR, else ~/.local/share and the data dir", () => {
    expect(defaults(user).data_dir).toBe("/home/u/data/fizz");
    expect(defaults(user).api.socket).toBe("/run/user/1000/fizz/fizz.sock");
    const bare = defaults({ uid: 1000, env: {}, home: "/home/u" });
    expect(bare.data_dir).toBe("/home/u/.local/share/fizz");
    expect(bare.api.socket).toBe("/home/u/.local/share/fizz/fizz.sock");
  });
});

describe("config file", () => {
  test("examples/config.yaml documents every option and parses to the root defaults", () => {
    const text = readFileSync(new URL("../../../examples/config.yaml", import.meta.url), "utf8");
    const layer = parseConfigFile(text, "examples/config.yaml");
    const paths = fields().map(([p]) => p);
    expect([...layer.values.keys()].sort()).toEqual([...paths].sort());
    expect(mergeConfig(defaults(root), [layer]).config).toEqual(defaults(root));
    // Every option has a comment line right above it (or above its section's first key).
    const lines = text.split("\n");
    for (const p of paths) {
      const key = p.split(".").pop()!;
      const i = lines.findIndex((l) => new RegExp(`^\\s*${key}:`).test(l));
      expect([p, i >= 0]).toEqual([p, true]);
      expect([p, /^\s*#/.test(lines[i - 1] ?? "") || /^\s*\w+:\s*$/.test(lines[i - 1] ?? "") || /^\s*\w+:/.test(lines[i - 1] ?? "")]).toEqual([p, true]);
    }
  });

  test("unknown keys: file:line:column and a suggestion", () => {
    const e = err(() => parseConfigFile("api:\n  tcp:\n    lisen: 127.0.0.1:7070\n", "/etc/fizz/config.yaml"));
    expect(e.where()).toBe("/etc/fizz/config.yaml:3:5: unknown option 'api.tcp.lisen'");
    expect(e.hint).toBe("did you mean 'api.tcp.listen'?");
    expect(e.exitCode).toBe(2);
    expect(err(() => parseConfigFile("metrix:\n  enabled: true\n", "c.yaml")).hint).toBe("did you mean 'metrics'?");
  });

  test("wrong types point at the value", () => {
    const cases: [string, RegExp][] = [
      ["reconcile:\n  parallelism: lots\n", /^c\.yaml:2:16: reconcile\.parallelism: expected an integer/],
      ["reconcile:\n  parallelism: 0\n", /between 1 and 256/],
      ["reconcile:\n  interval: soon\n", /^c\.yaml:2:13: reconcile\.interval: expected a duration/],
      ["reconcile:\n  interval: 10ms\n", /at least 100ms/],
      ["metrics:\n  enabled: yes\n", /expected true or false/],
      ["log:\n  level: loud\n", /must be one of trace, debug/],
      ["api:\n  socket_mode: \"0999\"\n", /octal file mode/],
      ["api:\n  tcp:\n    listen: localhost\n", /expected <host>:<port>/],
      ["cluster:\n  join: 10.0.0.1:7946\n", /^c\.yaml:2:9: cluster\.join: expected a list|cluster\.join/],
      ["cluster:\n  join: [1, 2]\n", /item 1: expected a string/],
      ["cluster:\n  labels: [a]\n", /expected a mapping/],
      ["api: 3\n", /^c\.yaml:1:6: api: expected a mapping/],
      ["- a\n", /the file: expected a mapping/],
      ["a: [\n", /invalid YAML/],
      ["log:\n  level: info\n  level: debug\n", /invalid YAML/],
    ];
    for (const [text, re] of cases) expect([text, err(() => parseConfigFile(text, "c.yaml")).where()]).toEqual([text, expect.stringMatching(re)]);
  });

  test("empty file and empty sections keep defaults; socket_mode 0660 unquoted means octal", () => {
    expect(parseConfigFile("", "c").values.size).toBe(0);
    expect(parseConfigFile("# only comments\n", "c").values.size).toBe(0);
    expect(parseConfigFile("api:\nlog:\n", "c").values.size).toBe(0);
    expect(parseConfigFile("api:\n  socket_mode: 0660\n", "c").values.get("api.socket_mode")?.value).toBe(0o660);
    expect(parseConfigFile("api:\n  socket_mode: '0o600'\n", "c").values.get("api.socket_mode")?.value).toBe(0o600);
  });

  test("property: any text either parses or fails with a located config error, never another exception", () => {
    const keys = ["api", "tcp", "listen", "socket", "data_dir", "log", "level", "reconcile", "interval", "cluster", "join", "labels", "x"];
    const line = fc.tuple(fc.nat(3), fc.constantFrom(...keys), fc.constantFrom("", " 1", " true", " [a, 1]", " {a: b}", " 10s", " 127.0.0.1:80", " '0660'", " -", " &a x", " *a"));
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.array(line, { maxLength: 12 }).map((ls) => ls.map(([ind, k, v]) => `${"  ".repeat(ind)}${k}:${v}`).join("\n"))), (text) => {
        try {
          parseConfigFile(text, "f.yaml");
        } catch (e) {
          expect(isFizzError(e)).toBe(true);
          expect((e as FizzError).code).toBe("config.invalid");
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe("precedence: defaults < file < FIZZ_* < flags", () => {
  test("each layer overrides the one before, option by option, and origins say where values came from", () => {
    const file = parseConfigFile("data_dir: /srv/fizz\nreconcile:\n  interval: 30s\n  parallelism: 2\nlog:\n  level: warn\n", "/etc/fizz/config.yaml");
    const env = envLayer({ FIZZ_RECONCILE_INTERVAL: "5s", FIZZ_LOG_LEVEL: "debug", FIZZ_HOST: "ignored", FIZZ_CLUSTER_JOIN: "10.0.0.2:7946, 10.0.0.3:7946", FIZZ_CLUSTER_LABELS: "zone=a,disk=ssd" });
    const flags = flagLayer(new Map([["log.level", { flag: "--log-level", value: "error" }]]));
    const { config, origins } = mergeConfig(defaults(root), [file, env, flags]);
    expect(config.data_dir).toBe("/srv/fizz");
    expect(config.reconcile).toEqual({ interval: 5000, parallelism: 2, wake_delay: 200, wait_poll: 250, wait_timeout: 600_000 });
    expect(config.log.level).toBe("error");
    expect(config.cluster.join).toEqual(["10.0.0.2:7946", "10.0.0.3:7946"]);
    expect(config.cluster.labels).toEqual({ zone: "a", disk: "ssd" });
    expect(config.api.socket).toBe("/run/fizz/fizz.sock");
    expect(origins.get("data_dir")).toBe("/etc/fizz/config.yaml:1");
    expect(origins.get("reconcile.interval")).toBe("FIZZ_RECONCILE_INTERVAL");
    expect(origins.get("log.level")).toBe("--log-level");
    expect(origins.has("api.socket")).toBe(false);
  });

  test("property: the last layer that sets an option decides it", () => {
    const level = fc.constantFrom("trace", "debug", "info", "warn", "error");
    fc.assert(
      fc.property(fc.option(level), fc.option(level), fc.option(level), (f, e, g) => {
        const layers = [
          parseConfigFile(f ? `log:\n  level: ${f}\n` : "", "c"),
          envLayer(e ? { FIZZ_LOG_LEVEL: e } : {}),
          flagLayer(new Map(g ? [["log.level", { flag: "--log-level", value: g }]] : [])),
        ];
        expect(mergeConfig(defaults(root), layers).config.log.level).toBe(g ?? e ?? f ?? "info");
      }),
    );
  });

  test("env and flag errors name the variable or flag", () => {
    expect(err(() => envLayer({ FIZZ_RECONCILE_PARALLELISM: "many" })).message).toBe("FIZZ_RECONCILE_PARALLELISM: expected an integer, got 'many'");
    expect(err(() => flagLayer(new Map([["api.tcp.listen", { flag: "--api", value: "nowhere" }]]))).message).toMatch(/^--api: /);
  });

  test("cross-option rules: TLS needs cert and key and a TCP listener; some listener must remain", () => {
    const t = (text: string) => err(() => mergeConfig(defaults(root), [parseConfigFile(text, "c")])).message;
    expect(t("api:\n  tcp:\n    listen: 127.0.0.1:7070\n    tls:\n      cert: /c.pem\n")).toMatch(/api\.tcp\.tls\.cert is set but api\.tcp\.tls\.key is not \(from c:5\)/);
    expect(t("api:\n  tcp:\n    tls:\n      cert: /c.pem\n      key: /k.pem\n")).toMatch(/api\.tcp\.listen is empty/);
    expect(t("api:\n  socket: ''\n")).toMatch(/no listener/);
  });

  test("every option has an environment variable", () => {
    for (const [p, spec] of fields()) {
      const sample = { string: "x", path: "/x", int: "5", bool: "true", duration: "2h", mode: "0600", enum: "", hostport: "127.0.0.1:1", list: "a,b", map: "a=b" }[spec.type.t];
      const value = spec.type.t === "enum" ? spec.type.values[1]! : spec.type.t === "int" ? String(spec.type.min) : sample;
      expect([p, envLayer({ [envName(p)]: value }).values.has(p)]).toEqual([p, true]);
    }
  });
});

describe("values", () => {
  test("durations", () => {
    expect(parseDuration("10s")).toBe(10_000);
    expect(parseDuration("1m30s")).toBe(90_000);
    expect(parseDuration("250ms")).toBe(250);
    expect(parseDuration("2")).toBe(2000);
    expect(parseDuration("1.5h")).toBe(5_400_000);
    expect(parseDuration("10 s")).toBeUndefined();
    expect(parseDuration("-1s")).toBeUndefined();
    fc.assert(fc.property(fc.integer({ min: 1, max: 10_000_000 }), (ms) => expect(parseDuration(formatDuration(ms))).toBe(ms)));
  });
  test("coerce never throws", () => {
    const types = fields().map(([, s]) => s.type);
    fc.assert(fc.property(fc.constantFrom(...types), fc.anything(), fc.boolean(), (t, v, txt) => void coerce(t, v, txt)));
  });
});

describe("API addresses", () => {
  test("forms", () => {
    expect(parseApiAddress("unix:/run/fizz/fizz.sock")).toEqual({ kind: "unix", path: "/run/fizz/fizz.sock" });
    expect(parseApiAddress("unix:///run/fizz/fizz.sock")).toEqual({ kind: "unix", path: "/run/fizz/fizz.sock" });
    expect(parseApiAddress("/tmp/x.sock")).toEqual({ kind: "unix", path: "/tmp/x.sock" });
    expect(parseApiAddress("127.0.0.1:7070")).toEqual({ kind: "tcp", host: "127.0.0.1", port: 7070, tls: undefined });
    expect(parseApiAddress("[::1]:7070")).toEqual({ kind: "tcp", host: "::1", port: 7070, tls: undefined });
    expect(parseApiAddress("https://node1:7443/")).toEqual({ kind: "tcp", host: "node1", port: 7443, tls: true });
    expect(parseApiAddress("http://127.0.0.1:80")).toMatchObject({ tls: false });
    for (const bad of ["", "unix:", "unix:rel/path", "::1:80", "host", "host:99999", "host:x", "ftp://h:1", "a b:1"]) {
      expect([bad, isFizzError((() => { try { parseApiAddress(bad); } catch (e) { return e; } })())]).toEqual([bad, true]);
    }
  });
});

describe("fizz agent flags and full resolution", () => {
  const resolve = (flags: Parameters<typeof resolveAgentConfig>[0]["flags"], facts: HostFacts = root, env: Record<string, string> = {}, file?: string) =>
    resolveAgentConfig({ facts, flags, env, file: file === undefined ? undefined : { path: "c.yaml", text: file } }).config;

  test("--api: a unix path sets the socket; <ip>:<port> alone means TCP only", () => {
    expect(resolve({ api: ["unix:/tmp/a.sock"] }).api.socket).toBe("/tmp/a.sock");
    const tcpOnly = resolve({ api: ["127.0.0.1:7070"] });
    expect([tcpOnly.api.socket, tcpOnly.api.tcp.listen]).toEqual(["", "127.0.0.1:7070"]);
    const both = resolve({ api: ["[::1]:7070", "unix:/tmp/b.sock"] });
    expect([both.api.socket, both.api.tcp.listen]).toEqual(["/tmp/b.sock", "[::1]:7070"]);
    expect(err(() => resolve({ api: ["unix:/a", "unix:/b"] })).message).toBe("--api: only one unix socket per agent");
    expect(err(() => resolve({ api: ["https://127.0.0.1:7070"] })).message).toMatch(/TLS comes from --tls-cert/);
    expect(err(() => resolve({ api: ["nowhere"] })).code).toBe("config.bad_address");
  });

  test("--engine picks a kind or an address; TLS flags need a TCP listener", () => {
    expect(resolve({ engine: "podman" }).engine).toEqual({ kind: "podman", host: "", events_reconnect: 1000 });
    expect(resolve({ engine: "unix:///run/podman/podman.sock" }).engine).toEqual({ kind: "auto", host: "unix:///run/podman/podman.sock", events_reconnect: 1000 });
    expect(err(() => resolve({ tlsCert: "/c", tlsKey: "/k" })).message).toMatch(/api\.tcp\.listen is empty/);
    expect(resolve({ tlsCert: "/c", tlsKey: "/k", api: ["127.0.0.1:1"] }).api.tcp.tls).toEqual({ cert: "/c", key: "/k" });
  });

  test("a non-root user's socket follows --data-dir (no XDG_RUNTIME_DIR), root's does not", () => {
    const u: HostFacts = { uid: 1000, env: {}, home: "/home/u" };
    expect(resolve({ dataDir: "/srv/a" }, u).api.socket).toBe("/srv/a/fizz.sock");
    expect(resolve({}, u, {}, "data_dir: /srv/b\n").api.socket).toBe("/srv/b/fizz.sock");
    expect(resolve({ dataDir: "/srv/a" }).api.socket).toBe("/run/fizz/fizz.sock");
  });

  test("flags beat FIZZ_* which beat the file", () => {
    const c = resolve({ logLevel: "error" }, root, { FIZZ_LOG_LEVEL: "debug", FIZZ_DATA_DIR: "/env" }, "log:\n  level: warn\ndata_dir: /file\n");
    expect([c.log.level, c.data_dir]).toEqual(["error", "/env"]);
  });
});
