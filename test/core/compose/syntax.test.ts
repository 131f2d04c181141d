import { describe, expect, setDefaultTimeout, test } from "bun:test";
import fc from "fast-check";
import { parseDotenv } from "../../../core/compose/dotenv.ts";
import { shellSplit } from "../../../core/compose/normalize.ts";
import { parseDeviceShort, parsePortShort, parseVolumeShort } from "../../../core/compose/syntax.ts";

// Property runs and corpus loads are CPU-bound; the shared test machine can be slow.
setDefaultTimeout(60_000);

const ports = (s: string | number) => {
  const r = parsePortShort(s);
  if (!r.ok) throw new Error(r.message);
  return r.value.map((p) => `${p.host_ip ?? ""}|${p.published ?? ""}|${p.target}|${p.protocol}`);
};

describe("ports short syntax", () => {
  test.each([
    ["3000", ["||3000|tcp"]],
    [3000, ["||3000|tcp"]],
    ["3000-3002", ["||3000|tcp", "||3001|tcp", "||3002|tcp"]],
    ["8000:80", ["|8000|80|tcp"]],
    ["9090-9091:8080-8081", ["|9090|8080|tcp", "|9091|8081|tcp"]],
    ["127.0.0.1:8001:8001", ["127.0.0.1|8001|8001|tcp"]],
    ["127.0.0.1:5000-5010:5000", ["127.0.0.1|5000-5010|5000|tcp"]],
    ["127.0.0.1::5000", ["127.0.0.1||5000|tcp"]],
    ["6060:6060/udp", ["|6060|6060|udp"]],
    ["[::1]:6001:6001", ["::1|6001|6001|tcp"]],
    ["::1:6001:6001/sctp", ["::1|6001|6001|sctp"]],
  ] as [string | number, string[]][])("%s", (input, want) => expect(ports(input)).toEqual(want));

  test.each(["80:80/xdp", "70000:80", "a:80", "8000-8002:80-81", "1.2.3:80:80", "80-70"])("rejects %s", (s) => expect(parsePortShort(s).ok).toBe(false));

  test("any host:container pair round-trips", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), fc.constantFrom("tcp", "udp"), fc.option(fc.ipV4(), { nil: undefined }), (pub, tgt, proto, ip) => {
        expect(ports(`${ip ? `${ip}:` : ""}${pub}:${tgt}/${proto}`)).toEqual([`${ip ?? ""}|${pub}|${tgt}|${proto}`]);
      }),
    );
  });
});

describe("volumes short syntax", () => {
  test.each([
    ["/data", { source: undefined, target: "/data", kind: "volume", read_only: false }],
    ["data:/data", { source: "data", target: "/data", kind: "volume", read_only: false }],
    ["./conf:/etc/conf:ro", { source: "./conf", target: "/etc/conf", kind: "bind", read_only: true }],
    ["/abs:/abs:rw,z", { source: "/abs", target: "/abs", kind: "bind", read_only: false, selinux: "z" }],
    ["~/c:/c:cached", { source: "~/c", target: "/c", kind: "bind", read_only: false, consistency: "cached" }],
    ["data:/n:nocopy", { source: "data", target: "/n", kind: "volume", read_only: false, nocopy: true }],
    ["C:\\data:/data", { source: "C:\\data", target: "/data", kind: "bind", read_only: false }],
  ])("%s", (input, want) => {
    const r = parseVolumeShort(input);
    expect(r.ok && r.value).toEqual(want as never);
  });
  test.each(["a:b:c:d", ":/x", "x:/y:bogus"])("rejects %s", (s) => expect(parseVolumeShort(s).ok).toBe(false));
});

describe("devices, shell words, dotenv", () => {
  test("devices", () => {
    expect(parseDeviceShort("/dev/a")).toEqual({ ok: true, value: { source: "/dev/a", target: "/dev/a" } });
    expect(parseDeviceShort("/dev/a:/dev/b:rw")).toEqual({ ok: true, value: { source: "/dev/a", target: "/dev/b", permissions: "rw" } });
    expect(parseDeviceShort("/dev/a:/dev/b:xyz").ok).toBe(false);
  });
  test("shell words", () => {
    expect(shellSplit(`echo "a b" 'c d' e\\ f "x\\"y"`)).toEqual(["echo", "a b", "c d", "e f", 'x"y']);
    expect(shellSplit("  ")).toEqual([]);
    expect(shellSplit(`''`)).toEqual([""]);
  });
  test("dotenv", () => {
    const r = parseDotenv(`# c\nA=1\nexport B="x \\"q\\" \${A}"\nC='lit $A'\nD=plain # comment\nE=\nbad line\nF="multi\nline"\n`, (n) => (n === "OUT" ? "o" : undefined));
    expect(r.vars).toEqual({ A: "1", B: 'x "q" 1', C: "lit $A", D: "plain", E: "", F: "multi\nline" });
    expect(r.errors.map((e) => e.line)).toEqual([7]);
  });
});
