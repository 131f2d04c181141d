import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "../../core/compose/load.ts";
import { isFizzError } from "../../core/errors.ts";
import { MAX_FILE_BYTES } from "../../core/limits.ts";
import { createFsReader } from "../../platform/fs-reader.ts";
import { readUserFile } from "../../platform/user-file.ts";
import { prepareProject } from "../../platform/deploy/project.ts";

const dir = mkdtempSync(join(tmpdir(), "fizz-user-file-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function fails(path: string, what = "file"): { code: string; message: string } {
  try {
    readUserFile(path, { what });
  } catch (e) {
    if (!isFizzError(e)) throw e;
    return { code: e.code, message: e.message };
  }
  throw new Error(`${path} was read`);
}

function load(compose: string, extra: Record<string, string> = {}) {
  const d = mkdtempSync(join(dir, "p-"));
  writeFileSync(join(d, "compose.yaml"), compose);
  for (const [k, v] of Object.entries(extra)) writeFileSync(join(d, k), v);
  return loadProject({ cwd: d, env: {}, reader: createFsReader() });
}

describe("reading files a user names", () => {
  test("devices are refused before a byte is read, naming the file", () => {
    for (const dev of ["/dev/zero", "/dev/urandom", "/dev/null"]) {
      const r = fails(dev, "env file");
      expect(r.code).toBe("file.not_regular");
      expect(r.message).toBe(`env file ${dev} is not a regular file (it is a character device)`);
    }
  });

  test("a fifo without a writer is refused at once (no hang)", () => {
    const fifo = join(dir, "fifo");
    execFileSync("mkfifo", [fifo]);
    expect(fails(fifo).message).toContain("is not a regular file (it is a fifo)");
  });

  test("directories and sockets are refused", async () => {
    const sub = join(dir, "sub");
    mkdirSync(sub);
    expect(fails(sub).message).toContain("(it is a directory)");
    const sock = join(dir, "sock");
    const srv = createServer();
    await new Promise<void>((res) => srv.listen(sock, res));
    try {
      expect(fails(sock).message).toContain("(it is a socket)");
    } finally {
      srv.close();
    }
  });

  test("a file over the limit is refused from its size, naming the limit and the value", () => {
    const big = join(dir, "big.yaml");
    writeFileSync(big, "");
    truncateSync(big, MAX_FILE_BYTES + 1); // sparse: nothing is written or read
    const r = fails(big, "compose file");
    expect(r.code).toBe("file.too_large");
    expect(r.message).toBe(`compose file ${big} is ${MAX_FILE_BYTES + 1} bytes, over the file size limit (8 MiB)`);
  });

  test("a NUL byte in a path is a precise error, not the runtime's", () => {
    const r = fails("a\u0000b");
    expect(r.code).toBe("file.bad_path");
    expect(r.message).toBe("file path 'a\\u0000b' contains a NUL byte");
  });

  test("a missing file is undefined; a regular file is read whole", () => {
    expect(readUserFile(join(dir, "nope"))).toBeUndefined();
    const f = join(dir, "ok.txt");
    writeFileSync(f, "x".repeat(200_000));
    expect(readUserFile(f)!.length).toBe(200_000);
  });

  test("an I/O error names the file (was 'EIO: i/o error, read' alone)", () => {
    // /proc/self/mem is a regular file whose read at offset 0 fails with EIO.
    expect(fails("/proc/self/mem", "env file")).toEqual({ code: "file.unreadable", message: "cannot read env file /proc/self/mem: input/output error (EIO)" });
  });

  test("an unreadable file names the file and the reason", () => {
    if (process.getuid?.() === 0) return; // root reads anything; covered by the permission e2e
    const f = join(dir, "secret");
    writeFileSync(f, "x", { mode: 0o000 });
    expect(fails(f).message).toBe(`cannot read file ${f}: permission denied (EACCES)`);
  });
});

describe("compose reads only regular files, bounded (issue 18: include /dev/zero took 2 GB)", () => {
  test("include, env_file, extends.file and --env-file pointing at devices are located errors", () => {
    const r = load(
      [
        "include: [/dev/zero]",
        "services:",
        "  web:",
        "    image: busybox",
        "    env_file: /dev/urandom",
        "  api:",
        "    extends: { file: /dev/zero, service: x }",
      ].join("\n"),
    );
    const errors = r.diagnostics.filter((d) => d.severity === "error");
    const msgs = errors.map((d) => `${d.code}: ${d.message}`);
    expect(msgs).toContain("compose.file_not_regular: compose file /dev/zero is not a regular file (it is a character device)");
    expect(msgs).toContain("compose.file_not_regular: env file /dev/urandom is not a regular file (it is a character device)");
    const envErr = errors.find((d) => d.message.includes("/dev/urandom"))!;
    expect(envErr.line).toBe(5);
    const r2 = loadProject({ cwd: dir, env: {}, files: [join(dir, "nope.yaml")], envFiles: ["/dev/zero"], reader: createFsReader() });
    expect(r2.diagnostics.map((d) => d.message)).toContain("env file /dev/zero is not a regular file (it is a character device)");
  });

  test("a .env that is a directory is an error, not a silent skip", () => {
    const d = mkdtempSync(join(dir, "p-"));
    writeFileSync(join(d, "compose.yaml"), "services:\n  web:\n    image: busybox\n");
    mkdirSync(join(d, ".env"));
    const r = loadProject({ cwd: d, env: {}, reader: createFsReader() });
    expect(r.diagnostics.map((x) => x.message)).toContain(`env file ${join(d, ".env")} is not a regular file (it is a directory)`);
  });

  test("the env_file read at deploy time is bounded too", () => {
    const r = load("services:\n  web:\n    image: busybox\n");
    expect(r.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const p = r.project!;
    // A project that still names its env files (e.g. one sent to the API as a normalised project).
    p.services.web!.env_file = [{ path: "/dev/zero", required: true }];
    expect(() => prepareProject(p, { hostEnv: {} })).toThrow("env file /dev/zero is not a regular file (it is a character device)");
  });
});
