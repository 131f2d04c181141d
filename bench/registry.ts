/**
 * The registry against Debian's docker-registry (distribution 2.8), all on
 * loopback, every number from this run:
 *
 *  1. Pull of a ≥ 100 MB image (three 40 MB layers of random bytes, real
 *     tar+gzip) through Fizz's pull-through cache vs straight from
 *     docker-registry, cold (Fizz fetches from docker-registry while it
 *     serves) and warm (from Fizz's store). Client: `skopeo copy` to a
 *     directory (the whole transfer, digests verified; no engine extraction)
 *     and, with Docker present, `docker pull` (extraction included).
 *     Target ≥ 1.0x. On loopback the cold pull is CPU-bound on a small
 *     machine (the cache receives, hashes, writes and sends every byte on
 *     the same cores as the client and the upstream), so as root it is
 *     measured again with docker-registry behind a rate-limited link
 *     (a network namespace, htb at --link-mbit), as an upstream really is.
 *     Cold means the cache has not got the image, not a process that just
 *     started: each fresh node first pulls a small other image through
 *     itself (its first upstream connection, first requests, JIT), as a
 *     running agent has long done; docker-registry, the baseline, is
 *     likewise a process already warmed by the push. Shown as well: the
 *     same pulls through docker-registry's own pull-through cache (its
 *     proxy mode, a fresh store each run, warmed the same way) in front of
 *     the same upstream: the cache against the cache.
 *  2. Upstream bytes when N nodes pull a new image at once: N Fizz nodes
 *     (own processes, peers over mutual TLS) each pulled by its own client,
 *     against N clients pulling from docker-registry directly. Counted from
 *     docker-registry's access log. Target 1.0x the image vs N x.
 *  3. Push throughput: `skopeo copy` from an OCI layout into Fizz vs into
 *     docker-registry (fresh stores each run).
 *  4. Peer transfer: an image pushed into node A, pulled through node B,
 *     which gets every byte from A over the peer listener (mutual TLS,
 *     native AES-GCM), against the gossip's JavaScript packet cipher
 *     (seal+open of 1,400-byte packets) on as many bytes in this process:
 *     bulk data between nodes must not be capped by that cipher.
 *
 *   bun bench/registry.ts [--nodes 3] [--runs 3]    (heavy lock; needs skopeo, docker-registry)
 */
import { spawn, spawnSync, execFileSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { randomBytes } from "node:crypto";
import { generateImage, pushGenerated, writeOciLayout, type GeneratedImage } from "../test/support/oci-image.ts";
import { createKeyring } from "../core/cluster-crypto/keyring.ts";
import { open, seal } from "../core/cluster-crypto/seal.ts";
import { freePort, startDockerRegistry, removeDockerRegistry, type DockerRegistry } from "../test/support/docker-registry.ts";
import { canShape, shapedLink, type ShapedLink } from "./support/shaped-link.ts";

const { values } = parseArgs({ options: { nodes: { type: "string", default: "3" }, runs: { type: "string", default: "3" }, "layer-mb": { type: "string", default: "40" }, "link-mbit": { type: "string", default: "1000" } } });
const NODES = Number(values.nodes);
const RUNS = Number(values.runs);
const LAYER = Number(values["layer-mb"]) * 1_000_000;
const LINK_MBIT = Number(values["link-mbit"]);

for (const b of ["skopeo", "docker-registry"]) {
  if (spawnSync("sh", ["-c", `command -v ${b}`]).status !== 0) {
    console.error(`bench/registry: ${b} is missing (bash test/setup-engines.sh)`);
    process.exit(1);
  }
}
const hasDocker = spawnSync("docker", ["info"], { stdio: "ignore" }).status === 0;
const work = mkdtempSync(join(tmpdir(), "fizz-registry-bench-"));
const procs: ChildProcess[] = [];
const BUN = process.execPath;
const NODE_SCRIPT = join(import.meta.dir, "support", "registry-node.ts");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function timed(cmd: string, args: string[]): number {
  const t0 = performance.now();
  execFileSync(cmd, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 600_000 });
  return (performance.now() - t0) / 1000;
}

async function startNode(root: string, port: number, extra: string[]): Promise<ChildProcess> {
  const p = spawn(BUN, [NODE_SCRIPT, root, String(port), ...extra], { stdio: ["ignore", "pipe", "inherit"] });
  procs.push(p);
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error("registry node did not start")), 20_000);
    p.stdout!.on("data", (d: Buffer) => {
      if (d.toString().includes("ready")) {
        clearTimeout(t);
        resolve();
      }
    });
    p.once("exit", (c) => reject(new Error(`registry node exited ${c}`)));
  });
  return p;
}

/** A small image no timed pull uses, pushed to every upstream: pulled through a fresh node before its cold pull. */
const WARMUP_REPO = "bench/warmup";

/** Warms a fresh cache (first upstream connection, first requests, JIT) at `address` (host:port, plus a Fizz node's upstream namespace) without caching anything a timed pull reads. */
function warmUp(address: string): void {
  const out = join(work, "warmup-out");
  rmSync(out, { recursive: true, force: true });
  execFileSync("skopeo", ["copy", "--src-tls-verify=false", `docker://${address}/${WARMUP_REPO}:1`, `dir:${out}`], { stdio: ["ignore", "ignore", "pipe"], timeout: 120_000 });
  rmSync(out, { recursive: true, force: true });
}

async function stopNode(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  await new Promise((r) => {
    p.once("exit", r);
    p.kill("SIGTERM");
  });
}

function upstreamGetBytes(up: DockerRegistry, from: number): number {
  return up
    .access()
    .slice(from)
    .filter((e) => e.method === "GET" && e.status === 200 && /\/(blobs|manifests)\//.test(e.path))
    .reduce((n, e) => n + e.bytes, 0);
}


const mb = (bytes: number, s: number) => bytes / 1e6 / s;
/** The ratio of the medians, then the spread: the lowest and highest ratio of the paired runs (run i of each). */
const ratio = (fizzSeconds: number[], baseSeconds: number[]) => {
  const per = fizzSeconds.map((f, i) => baseSeconds[i]! / f);
  return `${(median(baseSeconds) / median(fizzSeconds)).toFixed(2)}x (runs ${Math.min(...per).toFixed(2)}-${Math.max(...per).toFixed(2)})`;
};
const rows: string[][] = [];
const row = (what: string, fizz: string, base: string, ratio: string) => {
  rows.push([what, fizz, base, ratio]);
  process.stderr.write(`${what}: fizz ${fizz}, docker-registry ${base}, ${ratio}\n`);
};

const loadAtStart = loadavg()[0]!;
let up: DockerRegistry | undefined;
let link: ShapedLink | undefined;
try {
  process.stderr.write(`generating a ${(3 * LAYER) / 1e6} MB image…\n`);
  const img: GeneratedImage = await generateImage({ layerSizes: [LAYER, LAYER, LAYER], seed: "bench", format: "docker" });
  const size = img.totalBytes;
  const warmupImg = await generateImage({ layerSizes: [1_000_000], seed: "bench-warmup", format: "docker" });
  up = await startDockerRegistry();
  await pushGenerated(up.url, "bench/big", "1", img);
  await pushGenerated(up.url, WARMUP_REPO, "1", warmupImg);
  const ns = up.address.replace(":", "_");

  // ---- 1. pull through Fizz vs direct ----
  const cold: number[] = [];
  const warm: number[] = [];
  const direct: number[] = [];
  // docker-registry as a pull-through cache of the same upstream (distribution's proxy mode), fresh each run.
  const proxyCold: number[] = [];
  const proxyWarm: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const root = join(work, `pull-${i}`);
    const port = await freePort();
    const node = await startNode(root, port, ["--insecure", up.address]);
    warmUp(`127.0.0.1:${port}/${ns}`);
    const out = (tag: string) => {
      const d = join(work, `out-${tag}-${i}`);
      rmSync(d, { recursive: true, force: true });
      return `dir:${d}`;
    };
    direct.push(timed("skopeo", ["copy", "--src-tls-verify=false", `docker://${up.address}/bench/big:1`, out("direct")]));
    cold.push(timed("skopeo", ["copy", "--src-tls-verify=false", `docker://127.0.0.1:${port}/${ns}/bench/big:1`, out("cold")]));
    warm.push(timed("skopeo", ["copy", "--src-tls-verify=false", `docker://127.0.0.1:${port}/${ns}/bench/big:1`, out("warm")]));
    await stopNode(node);
    rmSync(root, { recursive: true, force: true });
    const proxy = await startDockerRegistry({ proxy: up.url });
    try {
      warmUp(proxy.address);
      proxyCold.push(timed("skopeo", ["copy", "--src-tls-verify=false", `docker://${proxy.address}/bench/big:1`, out("pcold")]));
      proxyWarm.push(timed("skopeo", ["copy", "--src-tls-verify=false", `docker://${proxy.address}/bench/big:1`, out("pwarm")]));
    } finally {
      await proxy.stop();
      removeDockerRegistry(proxy);
    }
    for (const t of ["direct", "cold", "warm", "pcold", "pwarm"]) rmSync(join(work, `out-${t}-${i}`), { recursive: true, force: true });
  }
  const d = mb(size, median(direct));
  row(`pull ${(size / 1e6).toFixed(0)} MB, skopeo → dir, cold`, `${mb(size, median(cold)).toFixed(0)} MB/s`, `${d.toFixed(0)} MB/s`, ratio(cold, direct));
  row(`pull ${(size / 1e6).toFixed(0)} MB, skopeo → dir, warm`, `${mb(size, median(warm)).toFixed(0)} MB/s`, `${d.toFixed(0)} MB/s`, ratio(warm, direct));
  // The same cache work done by distribution itself (shown: the target compares with the direct pull).
  row(`pull ${(size / 1e6).toFixed(0)} MB, skopeo → dir, cold, vs docker-registry's own pull-through cache`, `${mb(size, median(cold)).toFixed(0)} MB/s`, `${mb(size, median(proxyCold)).toFixed(0)} MB/s (proxy)`, ratio(cold, proxyCold));
  row(`pull ${(size / 1e6).toFixed(0)} MB, skopeo → dir, warm, vs docker-registry's own pull-through cache`, `${mb(size, median(warm)).toFixed(0)} MB/s`, `${mb(size, median(proxyWarm)).toFixed(0)} MB/s (proxy)`, ratio(warm, proxyWarm));

  if (canShape()) {
    link = shapedLink({ mbit: LINK_MBIT });
    const remote = await startDockerRegistry({ host: link.remoteIp, port: 5000, spawnVia: link.spawnVia });
    try {
      await pushGenerated(remote.url, "bench/big", "1", img);
      await pushGenerated(remote.url, WARMUP_REPO, "1", warmupImg);
      const rns = remote.address.replace(":", "_");
      const rdirect: number[] = [];
      const rcold: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const root = join(work, `rpull-${i}`);
        const port = await freePort();
        const node = await startNode(root, port, ["--insecure", remote.address]);
        warmUp(`127.0.0.1:${port}/${rns}`);
        const out = (tag: string) => {
          const dir = join(work, `rout-${tag}-${i}`);
          rmSync(dir, { recursive: true, force: true });
          return `dir:${dir}`;
        };
        rdirect.push(timed("skopeo", ["copy", "--src-tls-verify=false", `docker://${remote.address}/bench/big:1`, out("direct")]));
        rcold.push(timed("skopeo", ["copy", "--src-tls-verify=false", `docker://127.0.0.1:${port}/${rns}/bench/big:1`, out("cold")]));
        await stopNode(node);
        rmSync(root, { recursive: true, force: true });
        for (const t of ["direct", "cold"]) rmSync(join(work, `rout-${t}-${i}`), { recursive: true, force: true });
      }
      const rd = mb(size, median(rdirect));
      row(`pull ${(size / 1e6).toFixed(0)} MB, skopeo → dir, cold, upstream behind a ${LINK_MBIT} Mbit/s link`, `${mb(size, median(rcold)).toFixed(0)} MB/s`, `${rd.toFixed(0)} MB/s`, ratio(rcold, rdirect));
    } finally {
      await remote.stop();
      removeDockerRegistry(remote);
      link.destroy();
      link = undefined;
    }
  } else {
    process.stderr.write("not root: the cold pull with the upstream behind a rate-limited link is skipped\n");
  }

  if (hasDocker) {
    const dcold: number[] = [];
    const dwarm: number[] = [];
    const ddirect: number[] = [];
    const rmi = (ref: string) => spawnSync("docker", ["rmi", "-f", ref], { stdio: "ignore" });
    for (let i = 0; i < RUNS; i++) {
      const root = join(work, `dpull-${i}`);
      const port = await freePort();
      const node = await startNode(root, port, ["--insecure", up.address]);
      warmUp(`127.0.0.1:${port}/${ns}`);
      const viaFizz = `127.0.0.1:${port}/${ns}/bench/big:1`;
      // docker-registry on 127.0.0.1 is plain HTTP, which Docker allows for loopback.
      const viaUp = `${up.address}/bench/big:1`;
      rmi(viaUp);
      ddirect.push(timed("docker", ["pull", "-q", viaUp]));
      rmi(viaUp);
      dcold.push(timed("docker", ["pull", "-q", viaFizz]));
      rmi(viaFizz);
      dwarm.push(timed("docker", ["pull", "-q", viaFizz]));
      rmi(viaFizz);
      await stopNode(node);
      rmSync(root, { recursive: true, force: true });
    }
    const dd = mb(size, median(ddirect));
    row(`pull ${(size / 1e6).toFixed(0)} MB, docker pull, cold`, `${mb(size, median(dcold)).toFixed(0)} MB/s`, `${dd.toFixed(0)} MB/s`, ratio(dcold, ddirect));
    row(`pull ${(size / 1e6).toFixed(0)} MB, docker pull, warm`, `${mb(size, median(dwarm)).toFixed(0)} MB/s`, `${dd.toFixed(0)} MB/s`, ratio(dwarm, ddirect));
  }

  // ---- 2. N nodes pulling a new image at once ----
  const key = Buffer.alloc(32, 7).toString("hex");
  const ports = await Promise.all(Array.from({ length: NODES }, () => freePort()));
  const peerPorts = await Promise.all(Array.from({ length: NODES }, () => freePort()));
  const ids = ports.map((_, i) => `node${i}`);
  const peerList = ids.map((id, i) => `${id}=127.0.0.1:${peerPorts[i]}`).join(",");
  const nodes: ChildProcess[] = [];
  for (let i = 0; i < NODES; i++) {
    nodes.push(await startNode(join(work, `cluster-${i}`), ports[i]!, ["--insecure", up.address, "--self", ids[i]!, "--peer-port", String(peerPorts[i]), "--key", key, "--peers", peerList]));
  }
  const fresh = await generateImage({ layerSizes: [LAYER, LAYER, LAYER], seed: "bench-fresh", format: "docker" });
  await pushGenerated(up.url, "bench/fresh", "1", fresh);
  const pullAll = (refs: string[]) =>
    Promise.all(
      refs.map(
        (ref, i) =>
          new Promise<void>((resolve, reject) => {
            const outDir = join(work, `n-out-${i}`);
            rmSync(outDir, { recursive: true, force: true });
            const p = spawn("skopeo", ["copy", "--src-tls-verify=false", `docker://${ref}`, `dir:${outDir}`], { stdio: "ignore" });
            p.once("exit", (c) => (c === 0 ? resolve() : reject(new Error(`skopeo copy ${ref} exited ${c}`))));
          }),
      ),
    );
  let mark = up.access().length;
  let t0 = performance.now();
  await pullAll(ports.map((p) => `127.0.0.1:${p}/${ns}/bench/fresh:1`));
  const tFizz = (performance.now() - t0) / 1000;
  await up.logged();
  const bytesFizz = upstreamGetBytes(up, mark);
  mark = up.access().length;
  t0 = performance.now();
  await pullAll(ports.map(() => `${up!.address}/bench/fresh:1`));
  const tDirect = (performance.now() - t0) / 1000;
  await up.logged();
  const bytesDirect = upstreamGetBytes(up, mark);
  for (const n of nodes) await stopNode(n);
  row(`${NODES} nodes pull a new ${(fresh.totalBytes / 1e6).toFixed(0)} MB image at once: upstream bytes`, `${(bytesFizz / fresh.totalBytes).toFixed(2)}x image`, `${(bytesDirect / fresh.totalBytes).toFixed(2)}x image`, `${(bytesDirect / bytesFizz).toFixed(2)}x less`);
  row(`${NODES} nodes pull a new image at once: wall time`, `${tFizz.toFixed(2)} s`, `${tDirect.toFixed(2)} s`, `${(tDirect / tFizz).toFixed(2)}x`);

  // ---- 3. push throughput ----
  // skopeo's oci: transport reads OCI manifests: the same layers as an OCI image.
  const ociImg = await generateImage({ layerSizes: [LAYER, LAYER, LAYER], seed: "bench-push" });
  const layout = join(work, "layout");
  writeOciLayout(layout, [{ img: ociImg, tag: "1" }]);
  const pf: number[] = [];
  const pd: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const root = join(work, `push-${i}`);
    const port = await freePort();
    const node = await startNode(root, port, []);
    pf.push(timed("skopeo", ["copy", "--dest-tls-verify=false", `oci:${layout}:1`, `docker://127.0.0.1:${port}/bench/push:1`]));
    await stopNode(node);
    rmSync(root, { recursive: true, force: true });
    const fresh2 = await startDockerRegistry();
    pd.push(timed("skopeo", ["copy", "--dest-tls-verify=false", `oci:${layout}:1`, `docker://${fresh2.address}/bench/push:1`]));
    await fresh2.stop();
    removeDockerRegistry(fresh2);
  }
  const psize = ociImg.totalBytes;
  const pushBase = mb(psize, median(pd));
  row(`push ${(psize / 1e6).toFixed(0)} MB, skopeo oci → registry`, `${mb(psize, median(pf)).toFixed(0)} MB/s`, `${pushBase.toFixed(0)} MB/s`, ratio(pf, pd));

  // ---- 4. peer transfer (B gets every byte from A over mutual TLS) vs the gossip cipher ----
  const peerIds = ["peer-a", "peer-b"];
  const pp = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
  const peerArg = `${peerIds[0]}=127.0.0.1:${pp[2]},${peerIds[1]}=127.0.0.1:${pp[3]}`;
  const viaPeer: number[] = [];
  const fromHolder: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const a = await startNode(join(work, `peer-a-${i}`), pp[0]!, ["--self", peerIds[0]!, "--peer-port", String(pp[2]), "--key", key, "--peers", peerArg]);
    const b = await startNode(join(work, `peer-b-${i}`), pp[1]!, ["--self", peerIds[1]!, "--peer-port", String(pp[3]), "--key", key, "--peers", peerArg]);
    // Pushed content has no upstream: B asks its peers, A serves it as the holder.
    execFileSync("skopeo", ["copy", "--dest-tls-verify=false", `oci:${layout}:1`, `docker://127.0.0.1:${pp[0]}/bench/peer:1`], { stdio: "ignore", timeout: 600_000 });
    const out = (tag: string) => {
      const dir = join(work, `peer-out-${tag}`);
      rmSync(dir, { recursive: true, force: true });
      return `dir:${dir}`;
    };
    fromHolder.push(timed("skopeo", ["copy", "--src-tls-verify=false", `docker://127.0.0.1:${pp[0]}/bench/peer@${ociImg.manifest.digest}`, out("a")]));
    viaPeer.push(timed("skopeo", ["copy", "--src-tls-verify=false", `docker://127.0.0.1:${pp[1]}/bench/peer@${ociImg.manifest.digest}`, out("b")]));
    await stopNode(a);
    await stopNode(b);
    for (const x of ["peer-a", "peer-b"]) rmSync(join(work, `${x}-${i}`), { recursive: true, force: true });
    for (const x of ["a", "b"]) rmSync(join(work, `peer-out-${x}`), { recursive: true, force: true });
  }
  const peerRate = mb(psize, median(viaPeer));
  const kr = createKeyring(new Uint8Array(randomBytes(32)));
  if (!kr.ok) throw new Error(kr.error.message);
  const packet = new Uint8Array(randomBytes(1400));
  const nonces = new Uint8Array(randomBytes(1 << 16));
  let at = 0;
  const rng = (n: number) => {
    if (at + n > nonces.length) at = 0;
    at += n;
    return nonces.subarray(at - n, at);
  };
  // 32 MB is enough for a steady rate (the whole image would take most of a minute).
  const sample = Math.min(psize, 32_000_000);
  const tc = performance.now();
  for (let done = 0; done < sample; done += packet.byteLength) {
    if (!open(kr.keyring, "udp", seal(kr.keyring, "udp", packet, rng)).ok) throw new Error("open failed");
  }
  const cipherRate = mb(sample, (performance.now() - tc) / 1000);
  row(`peer transfer ${(psize / 1e6).toFixed(0)} MB: skopeo via node B, every byte from node A over mutual TLS (vs the same pull from A: ${mb(psize, median(fromHolder)).toFixed(0)} MB/s)`, `${peerRate.toFixed(0)} MB/s`, `gossip cipher (JS) ${cipherRate.toFixed(0)} MB/s`, `${(peerRate / cipherRate).toFixed(2)}x`);

  const table = [["registry (median of " + RUNS + ")", "fizz", "docker-registry", "ratio"], ...rows];
  const w = table[0]!.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
  for (const r of table) console.log(r.map((c, i) => c.padEnd(w[i]!)).join("  "));
  console.log(`load average (1 min) ${loadAtStart.toFixed(2)} at the start, ${loadavg()[0]!.toFixed(2)} at the end, ${cpus().length} cores`);
  writeFileSync(join(tmpdir(), "fizz-registry-bench.txt"), table.map((r) => r.join("\t")).join("\n"));
} finally {
  link?.destroy();
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  if (up) {
    await up.stop();
    removeDockerRegistry(up);
  }
  rmSync(work, { recursive: true, force: true });
}
