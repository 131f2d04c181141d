/**
 * install.sh end to end: dist/ (built by scripts/build.sh) and install.sh are served
 * from 127.0.0.1, the script is piped into `sh` like `curl -fsSL … | sh`, and the
 * installed fizz must run. Tampered downloads must be refused with nothing installed.
 * Engine installation runs against fake package managers on a PATH without docker.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createHash } from "node:crypto";

const ROOT = resolve(import.meta.dir, "../..");
const DIST = join(ROOT, "dist");
const ARCH = process.arch === "arm64" ? "arm64" : "x64";
const ASSET = `fizz-linux-${ARCH}.tar.gz`;
const MUSL_ASSET = `fizz-linux-${ARCH}-musl.tar.gz`;
// Each install unpacks and hashes a ~50 MB tarball: seconds, not milliseconds.
const SLOW = 120_000;

let server: Server;
let base: string;
let work: string;
let expectedVersion: string;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Async spawn: the HTTP server lives in this process, so spawnSync would deadlock. */
function run(cmd: string, args: string[], env: Record<string, string | undefined>, cwd = work): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(cmd, args, { env: env as NodeJS.ProcessEnv, cwd, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", fail);
    child.on("close", (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

const sha256 = (b: Buffer) => createHash("sha256").update(b).digest("hex");

/** `curl -fsSL <base>/install.sh | sh -s -- <flags>` with the given variant of dist/. */
function curlPipeSh(variant: string, installDir: string, flags: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const script = `curl -fsSL ${base}/install.sh | sh -s -- ${flags.join(" ")}`;
  return run("sh", ["-c", script], {
    ...process.env,
    FIZZ_BASE_URL: `${base}/${variant}`,
    FIZZ_INSTALL_DIR: installDir,
    ...extraEnv,
  });
}

function freshDir(name: string): string {
  const d = join(work, name);
  rmSync(d, { recursive: true, force: true });
  return d;
}

/**
 * A consistent copy of dist/ in memory: others may rebuild dist/ while this file runs
 * (shared tree), and the tarball must match the SHA256SUMS served beside it.
 */
function snapshotDist(): { tarball: Buffer; sums: string; installer: Buffer } {
  for (let attempt = 0; attempt < 3; attempt++) {
    const build = spawnSync("bash", [join(ROOT, "scripts/build.sh")], { cwd: ROOT, encoding: "utf8" });
    if (build.status !== 0) throw new Error(`scripts/build.sh failed:\n${build.stdout}\n${build.stderr}`);
    const sums = readFileSync(join(DIST, "SHA256SUMS"), "utf8");
    const tarball = readFileSync(join(DIST, ASSET));
    const installer = readFileSync(join(DIST, "install.sh"));
    if (sums.includes(`${sha256(tarball)}  ${ASSET}\n`) && sums.includes(`${sha256(installer)}  install.sh\n`)) {
      return { tarball, sums, installer };
    }
  }
  throw new Error("dist/ kept changing under the test: SHA256SUMS never matched the tarball");
}

beforeAll(async () => {
  const { tarball, sums, installer } = snapshotDist();
  work = mkdtempSync(join(tmpdir(), "fizz-install-test-"));
  writeFileSync(join(work, "install.sh"), installer);
  // The version the installed binary must print: that of the binary in the tarball.
  mkdirSync(join(work, "expected"));
  writeFileSync(join(work, "expected", ASSET), tarball);
  spawnSync("tar", ["-xzf", ASSET, "fizz"], { cwd: join(work, "expected") });
  expectedVersion = spawnSync(join(work, "expected", "fizz"), ["--version"], { encoding: "utf8" }).stdout.trim();

  // A well-formed, correctly summed tarball whose fizz cannot run here.
  mkdirSync(join(work, "broken"));
  writeFileSync(join(work, "broken", "fizz"), "#!/bin/sh\necho 'cannot execute: wrong machine' >&2\nexit 126\n", { mode: 0o755 });
  spawnSync("tar", ["-czf", ASSET, "fizz"], { cwd: join(work, "broken") });
  const broken = readFileSync(join(work, "broken", ASSET));

  const corrupt = Buffer.from(tarball);
  corrupt[corrupt.length >> 1]! ^= 0xff;
  const wrongSums = sums.replace(sha256(tarball), sha256(Buffer.from("not the tarball")));
  const noEntry = sums
    .split("\n")
    .filter((l) => !l.endsWith(` ${ASSET}`))
    .join("\n");

  // Variants of the release directory: /good is dist/ as built.
  const variants: Record<string, Record<string, Buffer | string>> = {
    good: { [ASSET]: tarball, "SHA256SUMS": sums },
    corrupt: { [ASSET]: corrupt, "SHA256SUMS": sums },
    wrongsums: { [ASSET]: tarball, "SHA256SUMS": wrongSums },
    noentry: { [ASSET]: tarball, "SHA256SUMS": noEntry },
    broken: { [ASSET]: broken, "SHA256SUMS": `${sha256(broken)}  ${ASSET}\n` },
    // A release with a musl build (here the same bytes under the musl name).
    musl: { [MUSL_ASSET]: tarball, "SHA256SUMS": `${sha256(tarball)}  ${MUSL_ASSET}\n` },
  };
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname);
    if (path === "/install.sh") return res.writeHead(200).end(installer);
    const m = /^\/(\w+)\/([\w.-]+)$/.exec(path);
    const body = m ? variants[m[1]!]?.[m[2]!] : undefined;
    if (body === undefined) return res.writeHead(404).end("not found\n");
    res.writeHead(200, { "content-length": Buffer.byteLength(body) }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 300_000);

afterAll(async () => {
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  if (work) rmSync(work, { recursive: true, force: true });
});

describe("install.sh", () => {
  test("the built binary reports a version and a commit", () => {
    expect(expectedVersion).toMatch(/^fizz \d+\.\d+\.\d+\S* \(commit [0-9a-f]{7,}\)$/);
  }, SLOW);

  test("curl | sh installs a working fizz, and a second run is a no-op", async () => {
    const dir = freshDir("bin");
    const first = await curlPipeSh("good", dir, ["--no-engine"]);
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("checksum verified");
    expect(first.stdout).toContain(`installed ${expectedVersion} to ${dir}/fizz`);
    const v = await run(join(dir, "fizz"), ["--version"], process.env);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toBe(expectedVersion);

    const inode = statSync(join(dir, "fizz")).ino;
    const second = await curlPipeSh("good", dir, ["--no-engine"]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain("left as is");
    expect(statSync(join(dir, "fizz")).ino).toBe(inode);
    expect((await run(join(dir, "fizz"), ["--version"], process.env)).stdout.trim()).toBe(expectedVersion);
  }, SLOW);

  test("an older binary is replaced atomically", async () => {
    const dir = freshDir("replace");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "fizz"), "#!/bin/sh\necho fizz 0.0.1 '(commit old)'\n", { mode: 0o755 });
    const r = await curlPipeSh("good", dir, ["--no-engine"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`replaced fizz 0.0.1 (commit old) with ${expectedVersion}`);
    expect((await run(join(dir, "fizz"), ["--version"], process.env)).stdout.trim()).toBe(expectedVersion);
    expect(spawnSync("ls", ["-A", dir], { encoding: "utf8" }).stdout.trim()).toBe("fizz");
  }, SLOW);

  for (const [variant, message] of [
    ["corrupt", "checksum mismatch"],
    ["wrongsums", "checksum mismatch"],
    ["noentry", `has no entry for ${ASSET}`],
  ] as const) {
    test(`a ${variant} download is refused and nothing is installed`, async () => {
      const dir = freshDir(`refused-${variant}`);
      const r = await curlPipeSh(variant, dir, ["--no-engine"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain("nothing was installed");
      expect(existsSync(join(dir, "fizz"))).toBe(false);

      // An existing install is left untouched.
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, "fizz"), "old", { mode: 0o755 });
      const again = await curlPipeSh(variant, dir, ["--no-engine"]);
      expect(again.code).not.toBe(0);
      expect(readFileSync(join(dir, "fizz"), "utf8")).toBe("old");
    }, SLOW);
  }

  test("a binary that does not run here is not installed", async () => {
    const dir = freshDir("broken-bin");
    const r = await curlPipeSh("broken", dir, ["--no-engine"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout).toContain("checksum verified");
    expect(r.stderr).toContain("cannot execute: wrong machine");
    expect(r.stderr).toContain("the downloaded fizz does not run on this machine");
    expect(existsSync(join(dir, "fizz"))).toBe(false);
  }, SLOW);

  test("--systemd writes a unit that runs `fizz agent`, idempotently", async () => {
    const dir = freshDir("sd-bin");
    const unitDir = freshDir("sd-units");
    const r = await curlPipeSh("good", dir, ["--no-engine", "--systemd"], { FIZZ_SYSTEMD_DIR: unitDir });
    expect(r.code).toBe(0);
    const unit = readFileSync(join(unitDir, "fizz.service"), "utf8");
    expect(unit).toContain(`ExecStart=${dir}/fizz agent`);
    expect(unit).toContain("Restart=always");
    expect(unit).toContain("WantedBy=multi-user.target");
    expect(r.stdout).toContain(`wrote systemd unit ${unitDir}/fizz.service`);
    const again = await curlPipeSh("good", dir, ["--no-engine", "--systemd"], { FIZZ_SYSTEMD_DIR: unitDir });
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("is up to date");
    expect(readFileSync(join(unitDir, "fizz.service"), "utf8")).toBe(unit);
  }, SLOW);

  test("--version must match what the release holds", async () => {
    const version = expectedVersion.split(" ")[1]!;
    const ok = await curlPipeSh("good", freshDir("ver-ok"), ["--no-engine", "--version", version]);
    expect(ok.code).toBe(0);
    const dir = freshDir("ver-bad");
    const bad = await curlPipeSh("good", dir, ["--no-engine", "--version", "99.0.0"]);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("asked for version 99.0.0");
    expect(existsSync(join(dir, "fizz"))).toBe(false);
  }, SLOW);

  test("bad options and --help", async () => {
    const help = await run("sh", [join(ROOT, "install.sh"), "--help"], process.env);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("--no-engine");
    const bad = await run("sh", [join(ROOT, "install.sh"), "--egnine", "docker"], process.env);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain("unknown option '--egnine'");
    const eng = await run("sh", [join(ROOT, "install.sh"), "--engine", "lxc"], process.env);
    expect(eng.stderr).toContain("unknown engine 'lxc'");
  }, SLOW);
});

/**
 * A PATH that holds only what install.sh needs (no docker, no podman, no real
 * package manager), plus fakes given as name → shell body.
 */
function toolbox(name: string, fakes: Record<string, string>, swap: Record<string, string> = {}): { path: string; log: string } {
  const dir = freshDir(name);
  mkdirSync(dir, { recursive: true });
  const tools = ["sh", "curl", "awk", "tr", "cut", "sha256sum", "mkdir", "tar", "gzip", "chmod", "cmp", "cp", "mv", "rm", "mktemp", "id", "uname", "sed", "cat", "env", "ls"];
  for (const t of tools.map((t) => swap[t] ?? t)) {
    if (t in fakes) continue;
    const found = spawnSync("sh", ["-c", `command -v ${t}`], { encoding: "utf8" }).stdout.trim();
    if (!found) throw new Error(`test needs ${t}`);
    symlinkSync(found, join(dir, t));
  }
  const log = join(dir, "calls.log");
  for (const [tool, body] of Object.entries(fakes)) {
    writeFileSync(join(dir, tool), `#!/bin/sh\necho "${tool} $*" >> "${log}"\n${body}\n`, { mode: 0o755 });
  }
  return { path: dir, log };
}

const calls = (log: string) => (existsSync(log) ? readFileSync(log, "utf8") : "");

describe("install.sh platform and engine detection", () => {
  test("an unsupported architecture from uname is named in the error", async () => {
    const box = toolbox("tb-arch", { uname: 'case "$1" in -m) echo riscv64;; *) echo Linux;; esac' });
    const dir = freshDir("arch-bin");
    const r = await curlPipeSh("good", dir, ["--no-engine"], { PATH: box.path });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("unsupported architecture 'riscv64'");
    expect(existsSync(join(dir, "fizz"))).toBe(false);
    const mac = await curlPipeSh("good", dir, ["--no-engine"], { FIZZ_OS: "Darwin" });
    expect(mac.stderr).toContain("macOS is not supported yet");
  }, SLOW);

  test("musl systems get the -musl build, or a clear refusal when the release has none", async () => {
    const dir = freshDir("musl-bin");
    const none = await curlPipeSh("good", dir, ["--no-engine"], { FIZZ_LIBC: "musl" });
    expect(none.code).not.toBe(0);
    expect(none.stderr).toContain(`this release has no musl build (${MUSL_ASSET} is not in SHA256SUMS`);
    expect(existsSync(join(dir, "fizz"))).toBe(false);
    const ok = await curlPipeSh("musl", dir, ["--no-engine"], { FIZZ_LIBC: "musl" });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`downloading ${base}/musl/${MUSL_ASSET}`);
    // This machine is glibc: without the override it picks the glibc build.
    const glibc = await curlPipeSh("musl", freshDir("musl-glibc"), ["--no-engine"]);
    expect(glibc.stderr).toContain(`has no entry for ${ASSET}`);
  }, SLOW);

  test("a docker binary on PATH means no engine is installed", async () => {
    const box = toolbox("tb-docker", { docker: "exit 0", "apt-get": "exit 0" });
    const r = await curlPipeSh("good", freshDir("docker-bin"), ["--no-mesh"], { PATH: box.path, FIZZ_ENGINE_SOCKETS: "" });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`found docker (${box.path}/docker), not installing an engine`);
    expect(calls(box.log)).not.toContain("apt-get");
  }, SLOW);

  test("wget is used when curl is missing", async () => {
    const box = toolbox("tb-wget", {}, { curl: "wget" });
    const dir = freshDir("wget-bin");
    const r = await run("sh", [join(work, "install.sh"), "--no-engine", "--no-mesh"], {
      PATH: box.path,
      FIZZ_BASE_URL: `${base}/good`,
      FIZZ_INSTALL_DIR: dir,
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect((await run(join(dir, "fizz"), ["--version"], process.env)).stdout.trim()).toBe(expectedVersion);
    const corrupt = await run("sh", [join(work, "install.sh"), "--no-engine"], {
      PATH: box.path,
      FIZZ_BASE_URL: `${base}/corrupt`,
      FIZZ_INSTALL_DIR: freshDir("wget-corrupt"),
    });
    expect(corrupt.code).not.toBe(0);
    expect(corrupt.stderr).toContain("checksum mismatch");
  }, SLOW);

  test("an engine socket counts as an engine", async () => {
    const box = toolbox("tb-socket", { "apt-get": "exit 0" });
    const sock = join(work, "engine.sock");
    const srv = createServer().listen(sock);
    await new Promise((r) => srv.once("listening", r));
    try {
      const r = await curlPipeSh("good", freshDir("sock-bin"), ["--no-mesh"], { PATH: box.path, FIZZ_ENGINE_SOCKETS: sock });
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`found an engine socket at ${sock}`);
      expect(calls(box.log)).toBe("");
    } finally {
      srv.close();
    }
  }, SLOW);

  test("with no engine, apt-get installs docker.io (or podman with --engine podman) and says so", async () => {
    const box = toolbox("tb-apt", { "apt-get": "exit 0" });
    const env = { PATH: box.path, FIZZ_ENGINE_SOCKETS: "" };
    const r = await curlPipeSh("good", freshDir("apt-bin"), [], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("no container engine found: installing docker (package docker.io) with apt-get");
    expect(r.stdout).toContain("installed docker.io with apt-get");
    expect(calls(box.log)).toContain("apt-get install -y -q docker.io");

    const p = await curlPipeSh("good", freshDir("apt-bin2"), ["--engine", "podman"], env);
    expect(p.code).toBe(0);
    expect(calls(box.log)).toContain("apt-get install -y -q podman");
    expect(p.stdout).toContain("podman system service");

    const none = toolbox("tb-none", { "apt-get": "exit 0" });
    const n = await curlPipeSh("good", freshDir("apt-bin3"), ["--no-engine", "--no-mesh"], { PATH: none.path, FIZZ_ENGINE_SOCKETS: "" });
    expect(n.code).toBe(0);
    expect(calls(none.log)).toBe("");
  }, SLOW);

  test("WireGuard tools: installed when missing (wireguard-go too without a kernel module), a failure or no root is a warning naming the fix", async () => {
    const box = toolbox("tb-wg", { docker: "exit 0", "apt-get": "exit 0" });
    const r = await curlPipeSh("good", freshDir("wg-bin"), [], { PATH: box.path, FIZZ_ENGINE_SOCKETS: "" });
    expect(r.code).toBe(0);
    expect(calls(box.log)).toContain("apt-get install -y -q wireguard-tools");
    // This kernel has no WireGuard module (and the sandbox has no modprobe): wireguard-go as well.
    if (!existsSync("/sys/module/wireguard")) expect(calls(box.log)).toContain("apt-get install -y -q wireguard-go");
    const have = toolbox("tb-wg-have", { docker: "exit 0", "apt-get": "exit 0", wg: "exit 0", "wireguard-go": "exit 0" });
    const h = await curlPipeSh("good", freshDir("wg-have"), [], { PATH: have.path, FIZZ_ENGINE_SOCKETS: "" });
    expect(h.stdout).toContain("found WireGuard tools");
    expect(calls(have.log)).toBe("");
    const broken = toolbox("tb-wg-broken", { docker: "exit 0", "apt-get": "exit 100" });
    const b = await curlPipeSh("good", freshDir("wg-broken"), [], { PATH: broken.path, FIZZ_ENGINE_SOCKETS: "" });
    expect(b.code).toBe(0);
    expect(b.stderr).toContain("installing wireguard-tools with apt-get failed: install wireguard-tools");
    expect(b.stderr).toContain("runs single-node workloads without them");
  }, SLOW);

  test("dnf systems get podman by default; a failing package manager is reported", async () => {
    const box = toolbox("tb-dnf", { dnf: "exit 0" });
    const r = await curlPipeSh("good", freshDir("dnf-bin"), [], { PATH: box.path, FIZZ_ENGINE_SOCKETS: "" });
    expect(r.code).toBe(0);
    expect(calls(box.log)).toContain("dnf install -y podman");

    const broken = toolbox("tb-broken", { "apt-get": "exit 100" });
    const b = await curlPipeSh("good", freshDir("broken-bin"), [], { PATH: broken.path, FIZZ_ENGINE_SOCKETS: "" });
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain("installing docker.io with apt-get failed");
  }, SLOW);
});
