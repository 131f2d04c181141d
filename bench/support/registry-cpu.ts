/**
 * CPU per MB of a pull, by process: Fizz's registry node, docker-registry and
 * the client (skopeo), for a pull straight from docker-registry, a cold pull
 * through Fizz (it fetches from docker-registry while it serves) and a warm
 * one (from Fizz's store). CPU time (utime+stime from /proc) rather than wall
 * time: on a 2-core machine shared with other work it says where the cold
 * path's cycles go even when the wall time is noise. A profiling aid for
 * bench/registry.ts, not a target.
 *
 *   bun bench/support/registry-cpu.ts [--layer-mb 40] [--runs 2] [--cpu-prof DIR]
 * --cpu-prof starts the node with `bun --cpu-prof` (profiles land in DIR);
 * --alt-env K=V starts odd runs' node with K=V set (an interleaved A/B of a switch the node reads);
 * --perf FILE records the node's cold pull with `perf record -g` (run i to FILE.i).
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { generateImage, pushGenerated } from "../../test/support/oci-image.ts";
import { freePort, startDockerRegistry, removeDockerRegistry } from "../../test/support/docker-registry.ts";

const { values } = parseArgs({ options: { "alt-env": { type: "string" }, "layer-mb": { type: "string", default: "40" }, runs: { type: "string", default: "2" }, "cpu-prof": { type: "string" }, perf: { type: "string" } } });
const LAYER = Number(values["layer-mb"]) * 1_000_000;
const RUNS = Number(values.runs);
const TICK = 100; // USER_HZ

/** utime+stime (s) of a process; `children`: of its waited-for children instead. */
function cpu(pid: number | "self", children = false): number {
  const s = readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
  // fields after the comm: state=0 … utime=11 stime=12 cutime=13 cstime=14
  return children ? (Number(f[13]) + Number(f[14])) / TICK : (Number(f[11]) + Number(f[12])) / TICK;
}

/** CPU (s) per thread of a process, by thread name. */
function threads(pid: number): Map<string, number> {
  const m = new Map<string, number>();
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const s = readFileSync(`/proc/${pid}/task/${t}/stat`, "utf8");
      const name = `${s.slice(s.indexOf("(") + 1, s.lastIndexOf(")"))}#${t === String(pid) ? "main" : "t"}`;
      m.set(name, (m.get(name) ?? 0) + cpu(`${pid}/task/${t}` as unknown as number));
    } catch {
      // ended
    }
  }
  return m;
}

function childPid(name: string): number {
  for (const p of readdirSync("/proc")) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const s = readFileSync(`/proc/${p}/stat`, "utf8");
      const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
      if (Number(f[1]) === process.pid && s.includes(`(${name})`)) return Number(p);
    } catch {
      // gone
    }
  }
  throw new Error(`no child ${name}`);
}

const work = mkdtempSync(join(tmpdir(), "fizz-registry-cpu-"));
const procs: ChildProcess[] = [];
const img = await generateImage({ layerSizes: [LAYER, LAYER, LAYER], seed: "cpu", format: "docker" });
const MB = img.totalBytes / 1e6;
const up = await startDockerRegistry();
try {
  await pushGenerated(up.url, "bench/big", "1", img);
  const upPid = childPid("docker-registry");
  const ns = up.address.replace(":", "_");
  const rows: string[] = [];
  for (let i = 0; i < RUNS; i++) {
    const port = await freePort();
    const root = join(work, `node-${i}`);
    const args = [...(values["cpu-prof"] ? ["--cpu-prof", `--cpu-prof-dir=${values["cpu-prof"]}`] : []), join(import.meta.dir, "registry-node.ts"), root, String(port), "--insecure", up.address];
    // --alt-env K=V: odd runs start the node with K=V set (an interleaved A/B).
    const alt = values["alt-env"] && i % 2 === 1 ? values["alt-env"].split("=") : undefined;
    const node = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], env: alt ? { ...process.env, [alt[0]!]: alt.slice(1).join("=") } : process.env });
    if (values["alt-env"]) rows.push(`run ${i}: ${alt ? values["alt-env"] : "(no alt env)"}`);
    procs.push(node);
    await new Promise<void>((res, rej) => {
      node.stdout!.on("data", (d: Buffer) => d.toString().includes("ready") && res());
      node.once("exit", (c) => rej(new Error(`node exited ${c}`)));
    });
    const pull = (what: string, ref: string) => {
      const out = join(work, `out-${what}-${i}`);
      const c0 = { node: cpu(node.pid!), up: cpu(upPid), client: cpu("self", true) };
      const th0 = threads(node.pid!);
      const t0 = performance.now();
      execFileSync("skopeo", ["copy", "--src-tls-verify=false", `docker://${ref}`, `dir:${out}`], { stdio: ["ignore", "ignore", "pipe"] });
      const s = (performance.now() - t0) / 1000;
      const ms = (a: number, b: number) => (((b - a) * 1000) / MB).toFixed(2);
      rows.push(`${what.padEnd(6)} run ${i}: ${(MB / s).toFixed(0).padStart(4)} MB/s  cpu ms/MB: fizz ${ms(c0.node, cpu(node.pid!))}  docker-registry ${ms(c0.up, cpu(upPid))}  skopeo ${ms(c0.client, cpu("self", true))}`);
      const th1 = threads(node.pid!);
      rows.push(`         fizz threads ms/MB: ${[...th1].map(([k, v]) => [k, v - (th0.get(k) ?? 0)] as const).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${((v * 1000) / MB).toFixed(2)}`).join(", ")}`);
      rmSync(out, { recursive: true, force: true });
    };
    pull("direct", `${up.address}/bench/big:1`);
    const perf = values.perf ? spawn("perf", ["record", "-g", "-o", `${values.perf}.${i}`, "-p", String(node.pid)], { stdio: "ignore" }) : undefined;
    if (perf) await new Promise((r) => setTimeout(r, 500));
    pull("cold", `127.0.0.1:${port}/${ns}/bench/big:1`);
    if (perf) {
      await new Promise((r) => {
        perf.once("exit", r);
        perf.kill("SIGINT");
      });
    }
    pull("warm", `127.0.0.1:${port}/${ns}/bench/big:1`);
    await new Promise((r) => {
      node.once("exit", r);
      node.kill("SIGTERM");
    });
  }
  console.log(`${MB.toFixed(0)} MB image, ${RUNS} runs, load ${readFileSync("/proc/loadavg", "utf8").split(" ")[0]}`);
  for (const r of rows) console.log(r);
} finally {
  for (const p of procs) if (p.exitCode === null) p.kill("SIGKILL");
  await up.stop();
  removeDockerRegistry(up);
  rmSync(work, { recursive: true, force: true });
}
