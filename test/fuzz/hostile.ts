/**
 * fast-check arbitraries for hostile input, shared by the fuzz targets: the
 * classes issue 18 found taking a node down or corrupting what a user reads.
 * Huge values, deep nesting (up to 100,000 levels), wrong types, NUL bytes,
 * device and special paths, long names, unicode, interpolation edge cases,
 * YAML tags and anchors, and byte-level mutations of valid files. Deep and
 * huge inputs are built as text (cheap), not as objects.
 */
import fc from "fast-check";

/**
 * One character from anywhere in Unicode (and now and then an unpaired
 * surrogate). Built on the fly: fast-check's "grapheme" unit tabulates every
 * grapheme up front, 1.1 million strings and ~140 MB, which would be most of
 * the memory a fuzz run is allowed.
 */
const anyChar: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), weight: 4 },
  { arbitrary: fc.integer({ min: 0x80, max: 0x10ffff }).map((c) => (c >= 0xd800 && c <= 0xdfff ? "\ufffd" : String.fromCodePoint(c))), weight: 4 },
  { arbitrary: fc.constantFrom("\u0000", "\u0007", "\n", "\r", "\t", "\u001b", "\u007f", "\u2028", "\ufeff", "\ud800", "\udc00", "e\u0301", "👩‍👩‍👧"), weight: 1 },
);
export const unicode = (o: { minLength?: number; maxLength: number }) => fc.string({ unit: anyChar, ...o });

/** Paths a hostile file names: devices, fifos, sockets, directories, NUL bytes, long paths. `special` are created by the test (fifo, socket, dir). */
export function hostilePath(special: readonly string[]): fc.Arbitrary<string> {
  return fc.oneof(
    { arbitrary: fc.constantFrom("/dev/zero", "/dev/urandom", "/dev/null", "/dev/full", "/dev/stdin", "/dev/tty", "/proc/self/mem", "/proc/self/environ", "/proc/kcore", "/", "/etc", "/tmp", "/etc/shadow", "/nonexistent/x", ...special), weight: 6 },
    { arbitrary: fc.constantFrom("./a\u0000b.yaml", "x\u0000", "\u0000", "./.env\u0000/../x"), weight: 2 },
    { arbitrary: fc.constantFrom("./other.yaml", "other.yaml", "./sub/base.yaml", "../p/other.yaml", "~/x.yaml", ".env", "./vars.env"), weight: 4 },
    { arbitrary: fc.integer({ min: 255, max: 5000 }).map((n) => `./${"d/".repeat(n / 2)}f`), weight: 1 },
    { arbitrary: unicode({ maxLength: 30 }), weight: 2 },
  );
}

/** Names: valid ones, at and past the name length limit, unicode, NUL, prototype keys. */
export const hostileName: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom("web", "db", "api", "a", "web-1", "x.y", "A_B"), weight: 8 },
  { arbitrary: fc.constantFrom(63, 64, 65, 128, 300, 10_000).map((n) => "n".repeat(n)), weight: 2 },
  { arbitrary: fc.constantFrom("__proto__", "constructor", "prototype", "toString", "hasOwnProperty"), weight: 2 },
  { arbitrary: fc.constantFrom("", " ", "-x", ".", "..", "a b", "ünïcödé", "名前", "🐳", "a\u0000b", "a\nb", "a/b", "$X", "${X}"), weight: 3 },
  { arbitrary: unicode({ minLength: 1, maxLength: 20 }), weight: 2 },
);

/** Scalars of every type, edge values included. */
export const hostileScalar: fc.Arbitrary<unknown> = fc.oneof(
  { arbitrary: fc.constantFrom("busybox", "nginx:1.25", "UPPER/Case:1", "80:80", "8080-8090:80", "junk", "lots", "512M", "1g", "-1", "1m30s", "0.5", "", "a:b:c:d", "on", "yes", "0755", "0x1F", ".inf", "~"), weight: 6 },
  { arbitrary: fc.constantFrom("${X}", "${X:-d}", "${X:?set X}", "${", "$$", "${X:-${Y:-${Z}}}", "$", "${X-}", "${__proto__}", "${A:+b}"), weight: 3 },
  { arbitrary: fc.oneof(fc.integer(), fc.double(), fc.constantFrom(0, -0, 1e308, -1e308, 2 ** 53, -(2 ** 31), 100_000, 65536, 4294967296)), weight: 3 },
  { arbitrary: fc.constantFrom(true, false, null), weight: 2 },
  { arbitrary: unicode({ maxLength: 40 }), weight: 3 },
  { arbitrary: unicode({ maxLength: 20 }), weight: 2 },
  { arbitrary: fc.constantFrom(121, 1_000, 5_000).map((n) => "v".repeat(n)), weight: 1 },
);

/** One huge value somewhere in a document (the generators above stay small so a document stays cheap). */
export const hugeText: fc.Arbitrary<string> = fc.constantFrom(20_000, 20_000, 100_000, 100_000, 100_000, 100_000, 1_000_000).map((n) => "h".repeat(n));

const FIELDS = [
  "image", "build", "command", "entrypoint", "environment", "env_file", "ports", "expose", "volumes", "networks", "depends_on",
  "healthcheck", "deploy", "restart", "labels", "secrets", "configs", "extends", "profiles", "scale", "x-fizz", "ulimits",
  "mem_limit", "cpus", "user", "working_dir", "tmpfs", "sysctls", "logging", "extra_hosts", "dns", "cap_add", "bogus",
] as const;

/** A JSON-ish value of bounded depth whose leaves are hostile scalars and keys hostile names or field names. */
export const hostileValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: "xsmall", withCrossShrink: true },
    hostileScalar,
    fc.array(tie("v"), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...FIELDS, "replicas", "resources", "limits", "memory", "test", "interval", "condition", "target", "published", "mode", "file", "service", "path", "required"), hostileName), tie("v"), { maxKeys: 3 }),
  ),
})).v;

/** One service: mostly-right fields with hostile values, some paths pointing somewhere hostile. */
export function hostileService(special: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const path = hostilePath(special);
  return fc.record(
    {
      image: hostileScalar,
      ports: fc.oneof(fc.array(hostileScalar, { maxLength: 3 }), hostileValue),
      environment: fc.oneof(fc.dictionary(hostileName, hostileScalar, { maxKeys: 3 }), fc.array(hostileScalar, { maxLength: 3 }), hostileValue),
      env_file: fc.oneof(path, fc.array(path, { maxLength: 2 }), fc.array(fc.record({ path, required: fc.boolean() }), { maxLength: 2 })),
      extends: fc.oneof(hostileName, fc.record({ service: hostileName, file: path })),
      deploy: fc.oneof(fc.record({ replicas: fc.oneof(fc.integer({ min: -5, max: 200_000 }), hostileScalar) }, { requiredKeys: [] }), hostileValue),
      volumes: fc.array(fc.oneof(hostileScalar, path.map((p) => `${p}:/data`)), { maxLength: 2 }),
      labels: hostileValue,
      healthcheck: hostileValue,
      depends_on: fc.oneof(fc.array(hostileName, { maxLength: 2 }), hostileValue),
      build: fc.oneof(path, hostileValue),
      other: hostileValue,
    },
    { requiredKeys: [] },
  ).map(({ other, ...s }) => ({ ...s, ...(typeof other === "object" && other !== null && !Array.isArray(other) ? other : {}) }));
}

/** A compose document as an object (bounded depth; the text-level generator adds the deep and the huge). */
export function hostileDocument(special: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const path = hostilePath(special);
  return fc.record(
    {
      name: hostileScalar,
      services: fc.oneof({ arbitrary: fc.dictionary(hostileName, hostileService(special), { maxKeys: 3 }), weight: 8 }, { arbitrary: hostileValue, weight: 1 }),
      include: fc.oneof(fc.array(path, { maxLength: 2 }), fc.array(fc.record({ path, env_file: path, project_directory: path }, { requiredKeys: ["path"] }), { maxLength: 2 }), hostileValue),
      networks: fc.oneof(fc.dictionary(hostileName, hostileValue, { maxKeys: 2 }), hostileValue),
      volumes: fc.oneof(fc.dictionary(hostileName, hostileValue, { maxKeys: 2 }), hostileValue),
      secrets: fc.oneof(fc.dictionary(hostileName, fc.record({ file: path }), { maxKeys: 2 }), hostileValue),
      configs: fc.dictionary(hostileName, fc.oneof(fc.record({ file: path }), hostileValue), { maxKeys: 2 }),
      "x-fizz": hostileValue,
      version: hostileScalar,
    },
    { requiredKeys: [] },
  );
}

/** Text that nests `n` levels deep, in one of YAML's or JSON's ways. */
export const deepText: fc.Arbitrary<string> = fc
  .tuple(fc.constantFrom(10, 63, 64, 65, 200, 1000, 10_000, 40_000, 100_000), fc.constantFrom("flow-seq", "flow-map", "block", "json-obj"))
  .map(([n, kind]) => {
    switch (kind) {
      case "flow-seq":
        return `${"[".repeat(n)}${"]".repeat(n)}`;
      case "flow-map":
        return `${"{a: ".repeat(n)}1${"}".repeat(n)}`;
      case "json-obj":
        return `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
      default: {
        const m = Math.min(n, 1000); // indentation is quadratic in bytes: 1,000 levels is 500 kB
        return `\n${Array.from({ length: m }, (_, i) => `${" ".repeat(i + 2)}-\n`).join("")}${" ".repeat(m + 2)}- 1`;
      }
    }
  });

/** Byte-level damage to a valid file: insertions of hostile characters, truncation, a BOM, tabs, NUL. */
export const mutation: fc.Arbitrary<(text: string) => string> = fc.oneof(
  fc.tuple(fc.nat(), fc.constantFrom("\u0000", "\t", "\r", "\ufeff", "\u2028", ":", "- ", "&a ", "*a", "!!binary ", "!reset ", "---\n", "%YAML 1.1\n", "<<: *a\n", "'", '"', "{", "[", "#", "\\", "\ud800")).map(
    ([at, ins]) =>
      (t: string) =>
        t.slice(0, at % (t.length + 1)) + ins + t.slice(at % (t.length + 1)),
  ),
  fc.nat().map((at) => (t: string) => t.slice(0, at % (t.length + 1))),
  fc.constant((t: string) => `\ufeff${t}`),
  fc.constant((t: string) => t.replace(/ {2}/g, "\t")),
);
