/** Issue 18's compose cases: one name length limit, messages that say what a value is, values cut in errors. */
import { describe, expect, test } from "bun:test";
import { loadProject } from "../../../core/compose/load.ts";
import { FizzError } from "../../../core/errors.ts";

function load(text: string, opts: { projectName?: string } = {}) {
  return loadProject({ cwd: "/p", env: {}, ...opts, reader: { read: (p) => (p === "/p/compose.yaml" ? text : undefined) } });
}
const errors = (text: string, opts?: { projectName?: string }) => load(text, opts).diagnostics.filter((d) => d.severity === "error");

describe("names: one length limit (63, a DNS label) for compose, CLI and API", () => {
  test("a 10,000-character service name is refused at validate, naming the limit and the length", () => {
    const name = "s".repeat(10_000);
    const errs = errors(`services:\n  ${name}:\n    image: busybox\n`);
    expect(errs).toHaveLength(1);
    expect(errs[0]!.code).toBe("compose.name_too_long");
    expect(errs[0]!.message).toBe(`service name '${"s".repeat(40)}… (10000 characters)' is 10000 characters, over the name length limit (63 characters)`);
    expect(errs[0]!.line).toBe(2);
    expect(errs[0]!.path!.length).toBeLessThan(200);
  });

  test("63 characters are fine; 64 are not, for services, networks, volumes, secrets, configs and the project", () => {
    const ok = "a".repeat(63);
    expect(errors(`name: ${ok}\nservices:\n  ${ok}:\n    image: busybox\n    networks: [${ok}]\nnetworks:\n  ${ok}: {}\n`)).toEqual([]);
    const long = "b".repeat(64);
    const codes = (t: string, o?: { projectName?: string }) => errors(t, o).map((d) => `${d.code} ${d.message.split(" is ")[0]}`);
    expect(codes(`services:\n  web:\n    image: busybox\nnetworks:\n  ${long}: {}\nvolumes:\n  ${long}: {}\nsecrets:\n  ${long}: {file: ./s}\nconfigs:\n  ${long}: {file: ./c}\n`)).toEqual(
      ["network", "volume", "secret", "config"].map((k) => `compose.name_too_long ${k} name '${"b".repeat(40)}… (64 characters)'`),
    );
    expect(codes(`services:\n  web:\n    image: busybox\n`, { projectName: long })).toEqual([`compose.name_too_long project name '${"b".repeat(40)}… (64 characters)'`]);
  });
});

describe("services per project", () => {
  test("10,001 services are refused before normalising, naming the limit; 10,000 load", () => {
    const file = (n: number) => `services:\n${Array.from({ length: n }, (_, i) => `  s${i}:\n    image: busybox\n`).join("")}`;
    const r = load(file(10_001));
    expect(r.project).toBeUndefined();
    expect(r.diagnostics.map((d) => `${d.code}: ${d.message}`)).toEqual(["compose.too_many_services: the project's number of services is 10001 services, over the services per project limit (10000 services)"]);
    expect(Object.keys(load(file(10_000)).project!.services)).toHaveLength(10_000);
  });
});

describe("error messages", () => {
  test("a YAML set, ordered map or binary value is named as such, not 'got a mapping' where a mapping is expected", () => {
    const msg = (v: string) => errors(`services:\n  web:\n    image: x\n    labels: ${v}\n`)[0]!.message;
    expect(msg("!!omap [{a: b}]")).toBe("expected a mapping or a list of KEY=VALUE strings, got an ordered map (!!omap or !!pairs)");
    expect(msg("!!set {a, b}")).toBe("expected a mapping or a list of KEY=VALUE strings, got a set (!!set)");
    expect(msg("!!binary aGVsbG8=")).toBe("expected a mapping or a list of KEY=VALUE strings, got binary data (!!binary)");
  });

  test("a 1 MiB value is cut in the diagnostic that quotes it, and in any FizzError", () => {
    const big = "9".repeat(1 << 20);
    for (const d of load(`services:\n  web:\n    image: busybox\n    ports: ["${big}:80"]\n    mem_limit: "${big}x"\n`).diagnostics) {
      expect(d.message.length).toBeLessThan(1200);
    }
    const e = new FizzError({ code: "x", message: `image '${"A".repeat(1 << 20)}' is not valid`, hint: big, path: `services.${big}` });
    expect(e.message).toBe(`image '${"A".repeat(120)}… (1048576 characters)' is not valid`);
    expect(e.hint!.length).toBeLessThan(1100);
    expect(e.path!.length).toBeLessThan(1100);
  });
});

describe("crashes the compose fuzz found (test/fuzz/compose-worker.ts)", () => {
  test("env_file: 0, extra_hosts mapped to a mapping, include with an empty path list: diagnostics, not TypeErrors", () => {
    expect(() => load("services:\n  web:\n    image: x\n    env_file: 0\n")).not.toThrow();
    expect(errors("services:\n  web:\n    image: x\n    extra_hosts:\n      db: {a: 1}\n").map((d) => d.message)).toEqual(["extra host 'db' must map to an address or a list of addresses, got a mapping"]);
    expect(errors("include:\n  - path: []\nservices:\n  web:\n    image: x\n").map((d) => d.code)).toEqual(["compose.wrong_type"]);
  });
});
