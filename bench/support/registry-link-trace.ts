/**
 * Per-request timelines of a cold pull behind the shaped link (as in
 * bench/registry.ts's link row): skopeo straight from docker-registry, and
 * skopeo through a warmed, cold-for-this-image Fizz node, captured with
 * tcpdump (headers and the first bytes of each segment) on the veth and on
 * loopback. For every TCP connection it prints when each request went out,
 * when its answer's first and last bytes came, its bytes, and zero-window
 * advertisements. A diagnostic for bench/registry.ts, not a target.
 *
 *   bun bench/support/registry-link-trace.ts [--runs 1] [--layer-mb 40] [--link-mbit 1000 (0: loopback)]
 *       [--timeline] [--strace] [--alt-env K=V] [--keep] [--docker]      (root, heavy lock)
 * --timeline prints each connection's requests (--headers-only: capture only
 * request and answer heads, SYN and FIN, which perturbs far less; the "last"
 * column is then the answer's head); --strace times skopeo's
 * fsyncs; --alt-env K=V starts odd runs' node with K=V, --alt-node FILE odd
 * runs' node from another checkout's bench/support/registry-node.ts (an
 * interleaved A/B of a switch, or of two versions of the code);
 * --keep leaves the captures, which --from DIR --port P prints again.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateImage, pushGenerated } from "../../test/support/oci-image.ts";
import { freePort, removeDockerRegistry, startDockerRegistry } from "../../test/support/docker-registry.ts";
import { shapedLink } from "./shaped-link.ts";

const { values } = parseArgs({ options: { runs: { type: "string", default: "1" }, "layer-mb": { type: "string", default: "40" }, "link-mbit": { type: "string", default: "1000" }, keep: { type: "boolean" }, "alt-env": { type: "string" }, timeline: { type: "boolean" }, from: { type: "string" }, port: { type: "string" }, strace: { type: "boolean" }, "headers-only": { type: "boolean" }, "alt-node": { type: "string" }, docker: { type: "boolean" } } });
const LAYER = Number(values["layer-mb"]) * 1_000_000;
const work = mkdtempSync(join(tmpdir(), "fizz-link-trace-"));
const procs: ChildProcess[] = [];
const veth = `fzb${process.pid % 10_000}h`;

interface Seg {
  t: number;
  src: string;
  dst: string;
  flags: string;
  len: number;
  win: number;
  text: string;
}

/** tcpdump -A text → segments with the first line of their payload. */
function parse(file: string): Seg[] {
  const out = execFileSync("tcpdump", ["-r", file, "-tt", "-nn", "-A"], { maxBuffer: 1 << 30, stdio: ["ignore", "pipe", "ignore"] }).toString("latin1");
  const segs: Seg[] = [];
  let cur: Seg | undefined;
  for (const line of out.split("\n")) {
    const m = /^(\d+\.\d+) IP (\S+) > (\S+): Flags \[([^\]]*)\](.*)length (\d+)/.exec(line);
    if (m) {
      const w = /win (\d+)/.exec(m[5]!);
      cur = { t: Number(m[1]), src: m[2]!, dst: m[3]!.replace(/:$/, ""), flags: m[4]!, len: Number(m[6]), win: w ? Number(w[1]) : -1, text: "" };
      segs.push(cur);
      continue;
    }
    if (cur && cur.len > 0 && !cur.text) {
      const g = /(GET|HEAD|POST|PUT|PATCH) \/v2\S*|HTTP\/1\.1 (\d{3})/.exec(line);
      if (g) cur.text = g[0]!;
    }
  }
  return segs;
}

/** Per connection (client port), each request and its answer. */
function timeline(label: string, segs: Seg[], serverPort: string, t0: number): void {
  const conns = new Map<string, Seg[]>();
  for (const s of segs) {
    const client = s.dst.endsWith(`.${serverPort}`) ? s.src : s.src.endsWith(`.${serverPort}`) ? s.dst : undefined;
    if (!client) continue;
    if (!conns.has(client)) conns.set(client, []);
    conns.get(client)!.push(s);
  }
  console.log(`-- ${label}: ${conns.size} connections (times in ms from the first segment)`);
  for (const [client, ss] of conns) {
    const ms = (t: number) => ((t - t0) * 1000).toFixed(1).padStart(7);
    let req: { t: number; text: string } | undefined;
    let first = 0;
    let last = 0;
    let bytes = 0;
    let zeroWin = 0;
    let minWin = Infinity;
    const flush = () => {
      if (req) console.log(`  ${client.padEnd(22)} ${ms(req.t)} ${req.text.slice(0, 60).padEnd(60)} first ${first ? ms(first) : "   -   "} last ${last ? ms(last) : "   -   "} ${(bytes / 1e6).toFixed(2).padStart(7)} MB${zeroWin ? ` zero-win x${zeroWin}` : ""} minwin ${minWin === Infinity ? "-" : minWin}`);
    };
    const syn = ss.find((s) => s.flags === "S");
    if (syn) console.log(`  ${client.padEnd(22)} ${ms(syn.t)} SYN`);
    for (const s of ss) {
      const toServer = s.dst.endsWith(`.${serverPort}`);
      if (toServer && s.len > 0 && /^(GET|HEAD|POST|PUT|PATCH)/.test(s.text)) {
        flush();
        req = { t: s.t, text: s.text };
        first = last = bytes = zeroWin = 0;
        minWin = Infinity;
        continue;
      }
      if (!toServer && s.len > 0) {
        if (!first) first = s.t;
        last = s.t;
        bytes += s.len;
      }
      if (toServer && req && first) {
        if (s.win === 0) zeroWin++;
        if (s.win >= 0) minWin = Math.min(minWin, s.win);
      }
    }
    flush();
  }
}

/** Segments whose payload starts with GET, HEAD or HTTP, and SYN/FIN: a light capture (no byte counts). */
const HEADERS_ONLY = "(tcp[tcpflags] & (tcp-syn|tcp-fin) != 0 or tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x47455420 or tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x48454144 or tcp[((tcp[12:1] & 0xf0) >> 2):4] = 0x48545450)";

function capture(iface: string, filter: string, file: string): ChildProcess {
  const f = values["headers-only"] ? `${filter} and ${HEADERS_ONLY}` : filter;
  const p = spawn("tcpdump", ["-i", iface, "-s", "160", "-B", "16384", "-w", file, "-U", f], { stdio: ["ignore", "ignore", "pipe"] });
  procs.push(p);
  return p;
}

async function stopCapture(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  await new Promise((r) => {
    p.once("exit", r);
    p.kill("SIGINT");
  });
}

if (values.from) {
  for (const what of ["direct", "fizz"]) {
    const v = parse(join(values.from, `${what}-0-veth.pcap`));
    const l = what === "fizz" ? parse(join(values.from, `${what}-0-lo.pcap`)) : [];
    const t00 = Math.min(v[0]?.t ?? Infinity, l[0]?.t ?? Infinity);
    if (what === "fizz") timeline("skopeo ↔ fizz (lo)", l, values.port!, t00);
    timeline(what, v, "5000", t00);
  }
  rmSync(work, { recursive: true, force: true });
  process.exit(0);
}
// --link-mbit 0: docker-registry on loopback, as in bench/registry.ts's loopback rows.
const link = Number(values["link-mbit"]) > 0 ? shapedLink({ mbit: Number(values["link-mbit"]) }) : undefined;
const upIface = link ? veth : "lo";
let upPort = "5000";
let remote: Awaited<ReturnType<typeof startDockerRegistry>> | undefined;
try {
  const img = await generateImage({ layerSizes: [LAYER, LAYER, LAYER], seed: "trace", format: "docker" });
  const warm = await generateImage({ layerSizes: [1_000_000], seed: "trace-warmup", format: "docker" });
  remote = link ? await startDockerRegistry({ host: link.remoteIp, port: 5000, spawnVia: link.spawnVia }) : await startDockerRegistry();
  upPort = remote.address.split(":")[1]!;
  await pushGenerated(remote.url, "bench/big", "1", img);
  await pushGenerated(remote.url, "bench/warmup", "1", warm);
  const ns = remote.address.replace(":", "_");
  for (let i = 0; i < Number(values.runs); i++) {
    const root = join(work, `node-${i}`);
    const port = await freePort();
    // --alt-env K=V: odd runs start the node with K=V set (an interleaved A/B).
    // --alt-node FILE: odd runs start that registry-node.ts instead (another checkout's code).
    const alt = values["alt-env"] && i % 2 === 1 ? values["alt-env"].split("=") : undefined;
    const altNode = values["alt-node"] && i % 2 === 1 ? values["alt-node"] : undefined;
    const env = alt ? { ...process.env, [alt[0]!]: alt.slice(1).join("=") } : process.env;
    const tag = values["alt-env"] || values["alt-node"] ? (alt ? ` [${values["alt-env"]}]` : altNode ? ` [${altNode}]` : " [base]") : "";
    const summary: string[] = [];
    const node = spawn(process.execPath, [altNode ?? join(import.meta.dir, "registry-node.ts"), root, String(port), "--insecure", remote.address], { stdio: ["ignore", "pipe", "inherit"], env });
    procs.push(node);
    await new Promise<void>((res, rej) => {
      node.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && res());
      node.once("exit", (c) => rej(new Error(`node exited ${c}`)));
    });
    execFileSync("skopeo", ["copy", "--src-tls-verify=false", `docker://127.0.0.1:${port}/${ns}/bench/warmup:1`, `dir:${join(work, "w")}`], { stdio: "ignore" });
    rmSync(join(work, "w"), { recursive: true, force: true });
    const pull = async (what: string, ref: string) => {
      const vf = join(work, `${what}-${i}-veth.pcap`);
      const lf = join(work, `${what}-${i}-lo.pcap`);
      const cv = values.timeline ? capture(upIface, `tcp port ${upPort}`, vf) : undefined;
      const cl = values.timeline ? capture("lo", `tcp port ${port}`, lf) : undefined;
      if (values.timeline) await new Promise((r) => setTimeout(r, 700));
      const t0 = performance.now();
      // --docker: the client is `docker pull` (loopback only: Docker allows plain HTTP there), its image removed after.
      const sk = values.docker ? ["docker", "pull", "-q", ref] : ["skopeo", "copy", "--src-tls-verify=false", `docker://${ref}`, `dir:${join(work, "out")}`];
      if (values.docker) spawnSync("docker", ["rmi", "-f", ref], { stdio: "ignore" });
      const st = join(work, `${what}-${i}.strace`);
      const argv = values.strace ? ["strace", "-f", "--seccomp-bpf", "-ttt", "-T", "-e", "trace=fsync,fdatasync,renameat", "-o", st, ...sk] : sk;
      execFileSync(argv[0]!, argv.slice(1), { stdio: "ignore" });
      const s = (performance.now() - t0) / 1000;
      if (cv && cl) {
        await new Promise((r) => setTimeout(r, 300));
        await stopCapture(cv);
        await stopCapture(cl);
      }
      rmSync(join(work, "out"), { recursive: true, force: true });
      if (values.docker) spawnSync("docker", ["rmi", "-f", ref], { stdio: "ignore" });
      const rate = img.totalBytes / 1e6 / s;
      if (values.timeline) console.log(`== ${what} run ${i}${tag}: ${s.toFixed(3)} s, ${rate.toFixed(1)} MB/s`);
      summary.push(`${what} ${rate.toFixed(1)} MB/s`);
      rates.push(rate);
      const v = values.timeline ? parse(vf) : [];
      const l = values.timeline ? parse(lf) : [];
      const t00 = Math.min(v[0]?.t ?? Infinity, l[0]?.t ?? Infinity);
      if (values.strace) {
        const big: string[] = [];
        for (const line of execFileSync("cat", [st]).toString().trim().split("\n")) {
          const m = /^\d+\s+(\d+\.\d+) (\w+)\(.*<(\d+\.\d+)>$/.exec(line);
          if (m && values.timeline) console.log(`  skopeo ${m[2]} at ${((Number(m[1]) - t00) * 1000).toFixed(1)} ms took ${(Number(m[3]) * 1000).toFixed(1)} ms`);
          if (m && Number(m[3]) > 0.005) big.push((Number(m[3]) * 1000).toFixed(0));
        }
        summary.push(`(skopeo fsyncs > 5 ms: ${big.join("/")} ms)`);
      }
      if (!values.timeline) return;
      const ml = l.length ? l : v;
      const mreq = ml.find((x) => /manifests\//.test(x.text));
      const mans = mreq && ml.find((x) => x.t > mreq.t && x.src === mreq.dst && x.dst === mreq.src && x.len > 0);
      if (mreq && mans) summary.push(`(manifest by tag ${((mans.t - mreq.t) * 1000).toFixed(1)} ms)`);
      if (what === "fizz") timeline("skopeo ↔ fizz (lo)", l, String(port), t00);
      timeline(what === "fizz" ? `fizz ↔ docker-registry (${upIface})` : `skopeo ↔ docker-registry (${upIface})`, v, upPort, t00);
    };
    const rates: number[] = [];
    await pull("direct", `${remote.address}/bench/big:1`);
    await pull("fizz", `127.0.0.1:${port}/${ns}/bench/big:1`);
    console.log(`run ${i}${tag}: ${summary.join(", ")}, ratio ${(rates[1]! / rates[0]!).toFixed(3)}, load ${loadavg()[0]!.toFixed(2)}`);
    await new Promise((r) => {
      node.once("exit", r);
      node.kill("SIGTERM");
    });
  }
} finally {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  if (remote) {
    await remote.stop();
    removeDockerRegistry(remote);
  }
  link?.destroy();
  if (!values.keep) rmSync(work, { recursive: true, force: true });
  else console.log(`kept ${work}`);
}
