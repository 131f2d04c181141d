/**
 * Secrets (issue 14), two measurements in one run:
 *
 * 1. age throughput on a 100 MB value: Debian's `age` CLI (file to file) as the
 *    baseline, against `fizz secret encrypt` (the compiled CLI as users run it,
 *    FIZZ_BIN or built for the run; file to file) and Fizz's
 *    in-process encrypt/decrypt (platform/secrets/age-encrypt.ts,
 *    core/secrets/age.ts with the native AEAD), each checked against the
 *    other side (age -d opens Fizz's file, Fizz opens age's). Target ≥ 0.5×.
 * 2. With --cluster (root; takes the heavy lock's slot): on a 3-host harness
 *    cluster, the time from `fizz secret rotate` to the new value in the files
 *    of 3 running containers (one per host), against `docker restart` of the
 *    same containers (what rotating costs where a restart is the only way).
 *
 *   bun bench/secrets.ts [--cluster] [--mb 100] [--rotations 10]
 */
import { spawnSync, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync, existsSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decryptAge } from "../core/secrets/age.ts";
import { encryptAge } from "../platform/secrets/age-encrypt.ts";
import { loadNativeAead } from "../platform/secrets/aead.ts";
import { compiledCli } from "./support/compiled-cli.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const MB = opt("mb", 100);
const ROOT = join(import.meta.dir, "..");
const BUN = process.execPath;

function timed(f: () => void): number {
  const t0 = performance.now();
  f();
  return performance.now() - t0;
}
async function timedAsync(f: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await f();
  return performance.now() - t0;
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rate = (ms: number) => (MB * 1e6) / 1e6 / (ms / 1000);

async function throughput(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "fizz-bench-secrets-"));
  try {
    const plain = join(dir, "plain.bin");
    writeFileSync(plain, randomBytes(MB * 1_000_000));
    const key = join(dir, "key.txt");
    spawnSync("age-keygen", ["-o", key]);
    const identity = readFileSync(key, "utf8").split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-1"))!;
    const recipient = spawnSync("age-keygen", ["-y", key], { encoding: "utf8" }).stdout.trim();
    const aead = await loadNativeAead();
    const fizzBin = compiledCli();
    const runs = 3;
    const rows: [string, number, number][] = [];
    const ageEnc: number[] = [];
    const ageDec: number[] = [];
    const cliEnc: number[] = [];
    const inEnc: number[] = [];
    const inDec: number[] = [];
    for (let i = 0; i < runs; i++) {
      ageEnc.push(timed(() => spawnSync("age", ["-r", recipient, "-o", join(dir, "age.age"), plain])));
      ageDec.push(timed(() => spawnSync("age", ["-d", "-i", key, "-o", join(dir, "age.out"), join(dir, "age.age")])));
      cliEnc.push(timed(() => spawnSync(fizzBin, ["secret", "encrypt", "-r", recipient, "-o", join(dir, "cli.age"), plain], { stdio: "inherit" })));
      let c: Uint8Array = new Uint8Array();
      // File to file, like the CLI: the read is timed too.
      inEnc.push(await timedAsync(async () => {
        c = await encryptAge(readFileSync(plain), [recipient], { aead });
        writeFileSync(join(dir, "fizz.age"), c);
      }));
      inDec.push(await timedAsync(async () => {
        // readFileSync's Buffer is a Uint8Array already: no copy.
        const r = await decryptAge(readFileSync(join(dir, "age.age")), [identity], aead);
        if (!r.ok) throw new Error(r.message);
        writeFileSync(join(dir, "fizz.out"), r.plaintext);
      }));
    }
    // Both directions open on the other side, byte for byte.
    const back = spawnSync("age", ["-d", "-i", key, join(dir, "fizz.age")], { maxBuffer: 2 * MB * 1_000_000 });
    if (!Buffer.from(back.stdout).equals(readFileSync(plain))) throw new Error("age -d did not give back the plaintext Fizz encrypted");
    if (!readFileSync(join(dir, "fizz.out")).equals(readFileSync(plain))) throw new Error("Fizz did not give back the plaintext age encrypted");
    const cli = spawnSync("age", ["-d", "-i", key, join(dir, "cli.age")], { maxBuffer: 2 * MB * 1_000_000 });
    if (!Buffer.from(cli.stdout).equals(readFileSync(plain))) throw new Error("age -d did not give back what fizz secret encrypt wrote");
    const base = { enc: median(ageEnc), dec: median(ageDec) };
    rows.push(["age CLI encrypt (baseline)", median(ageEnc), 1]);
    rows.push(["fizz secret encrypt (CLI)", median(cliEnc), base.enc / median(cliEnc)]);
    rows.push([`Fizz encrypt in process (${aead.name})`, median(inEnc), base.enc / median(inEnc)]);
    rows.push(["age CLI decrypt (baseline)", median(ageDec), 1]);
    rows.push([`Fizz decrypt in process (${aead.name})`, median(inDec), base.dec / median(inDec)]);
    console.log(`\nage throughput, ${MB} MB, file to file, median of ${runs} (ratio = speed vs age; target >= 0.5x)`);
    for (const [name, ms, ratio] of rows) console.log(`${name.padEnd(44)} ${ms.toFixed(0).padStart(7)} ms ${rate(ms).toFixed(0).padStart(6)} MB/s  ${ratio.toFixed(2)}x`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function rotation(): Promise<void> {
  const { createCluster, agentCommand } = await import("../test/cluster/harness.ts");
  const { ApiClient } = await import("../platform/api/client.ts");
  const rotations = opt("rotations", 10);
  const cluster = await createCluster({ hosts: 3 });
  const secretsRoot = `/run/fizz-bench-secrets-${process.pid}`;
  try {
    const project = join(cluster.dir, "project");
    mkdirSync(project, { recursive: true });
    writeFileSync(
      join(project, "compose.yaml"),
      `name: rot
services:
  app:
    image: fizz-test/busybox:1
    command: ["sh", "-c", "trap 'exit 0' TERM; while :; do sleep 1; done"]
    stop_grace_period: 1s
    secrets: [token]
    deploy:
      replicas: 3
    x-fizz:
      placement: {max_per_node: 1}
secrets:
  token: {external: true}
`,
    );
    for (const h of cluster.hosts) h.startAgent(agentCommand(h, ["--engine", h.dockerHost]), { env: { FIZZ_SWIM_PROFILE: "test", FIZZ_SECRETS_DIR: join(secretsRoot, h.name) } });
    const client = (i: number) => new ApiClient({ address: { kind: "unix", path: cluster.hosts[i]!.agentSocket }, timeoutMs: 60_000 });
    const until = async (what: string, ms: number, f: () => Promise<boolean>) => {
      const t0 = Date.now();
      while (!(await f().catch(() => false))) {
        if (Date.now() - t0 > ms) throw new Error(`${what}: not within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    for (const h of cluster.hosts) await until(`agent ${h.name}`, 30_000, () => client(h.index).info().then(() => true));
    const init = await client(0).clusterInit();
    for (const i of [1, 2]) await client(i).clusterJoin(cluster.hosts[0]!.gossipAddr, init.token);
    await until("unsealed everywhere", 60_000, async () => (await Promise.all([0, 1, 2].map((i) => client(i).json<{ self: { state: string } }>("GET", "/v1/seal")))).every((s) => s.self.state === "unsealed"));
    const fizz = (a: string[], input?: string) =>
      new Promise<number>((res) => {
        const p = execFile(BUN, [join(ROOT, "cmd/fizz.ts"), "-H", `unix:${cluster.hosts[0]!.agentSocket}`, ...a], { cwd: project }, (err) => res(err ? 1 : 0));
        if (input !== undefined) p.stdin!.end(input);
      });
    await fizz(["secret", "create", "token", "-"], "v0");
    if ((await fizz(["up", "-d", "--wait"])) !== 0) throw new Error("fizz up failed");
    const containers = async () => {
      const out: { host: number; name: string }[] = [];
      for (const h of cluster.hosts) {
        const r = await h.docker(["ps", "--filter", "label=com.docker.compose.project=rot", "--format", "{{.Names}}"]);
        for (const n of r.stdout.split("\n").filter(Boolean)) out.push({ host: h.index, name: n });
      }
      return out;
    };
    await until("3 replicas on 3 hosts", 60_000, async () => new Set((await containers()).map((c) => c.host)).size === 3);
    const cs = await containers();
    const sees = async (value: string) => {
      const r = await Promise.all(cs.map((c) => cluster.hosts[c.host]!.docker(["exec", c.name, "cat", "/run/secrets/token"])));
      return r.every((x) => x.stdout === value);
    };
    const rotate: number[] = [];
    for (let i = 1; i <= rotations; i++) {
      const t0 = performance.now();
      if ((await fizz(["secret", "rotate", "token", "-"], `v${i}`)) !== 0) throw new Error("rotate failed");
      await until(`rotation ${i}`, 30_000, () => sees(`v${i}`));
      rotate.push(performance.now() - t0);
    }
    const restart: number[] = [];
    for (let i = 0; i < Math.min(5, rotations); i++) {
      const t0 = performance.now();
      await Promise.all(cs.map((c) => cluster.hosts[c.host]!.docker(["restart", "-t", "1", c.name])));
      await until("restarted", 30_000, () => sees(`v${rotations}`));
      restart.push(performance.now() - t0);
    }
    console.log(`\nrotation on a 3-host cluster: fizz secret rotate on h0 until the new value is in all 3 containers' files (${rotations} rotations; the wait polls docker exec every 50 ms)`);
    console.log(`${"docker restart of the 3 containers (baseline)".padEnd(52)} p50 ${median(restart).toFixed(0).padStart(5)} ms  max ${Math.max(...restart).toFixed(0).padStart(5)} ms  1.00x`);
    console.log(`${"fizz secret rotate, in place (same containers)".padEnd(52)} p50 ${median(rotate).toFixed(0).padStart(5)} ms  max ${Math.max(...rotate).toFixed(0).padStart(5)} ms  ${(median(restart) / median(rotate)).toFixed(2)}x faster`);
  } finally {
    for (const h of cluster.hosts) await h.stopAgent("SIGTERM", 5_000).catch(() => {});
    await cluster.destroy();
    if (existsSync(secretsRoot)) for (const d of readdirSync(secretsRoot)) spawnSync("umount", [join(secretsRoot, d)]);
    rmSync(secretsRoot, { recursive: true, force: true });
  }
}

await throughput();
if (args.includes("--cluster")) await rotation();
