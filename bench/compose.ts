/**
 * Compose loading benchmark (issue 3): parse + interpolate + validate +
 * normalise a generated 1,000-service compose file, in process (median of 7
 * after a warm-up), against `docker-compose config` (Debian's 1.29, median of
 * 3) on the same file in the same run. Targets: ≤ 150 ms and ≤ 0.1×.
 * Run: bun bench/compose.ts [services]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadProject } from "../core/compose/load.ts";
import { createFsReader } from "../platform/fs-reader.ts";

const N = Number(process.argv[2] ?? 1000);

function generate(n: number): string {
  const lines: string[] = ["x-common: &common", "  restart: unless-stopped", "  logging:", "    driver: json-file", "    options: {max-size: 10m}", "services:"];
  for (let i = 0; i < n; i++) {
    lines.push(
      `  svc${i}:`,
      "    <<: *common",
      `    image: "registry.local/app${i % 17}:\${TAG:-1.${i % 10}}"`,
      `    command: ["serve", "--port", "8080", "--id", "${i}"]`,
      "    environment:",
      `      - SERVICE_ID=${i}`,
      "      - LOG_LEVEL=${LOG_LEVEL:-info}",
      `      - PEER=svc${(i + 1) % n}:8080`,
      `    ports: ["${10000 + i}:8080", "127.0.0.1:${20000 + i}:9090/udp"]`,
      `    volumes: ["data${i % 50}:/data", "./conf/${i}:/etc/app:ro"]`,
      ...(i > 0 ? ["    depends_on:", `      svc${i - 1}:`, "        condition: service_healthy"] : []),
      "    healthcheck:",
      '      test: ["CMD", "wget", "-q", "-O-", "http://localhost:8080/health"]',
      "      interval: 30s",
      "      timeout: 5s",
      "      retries: 3",
      "      start_period: 1m",
      "    deploy:",
      "      resources:",
      "        limits: {cpus: '0.5', memory: 256M}",
      "        reservations: {memory: 64M}",
      `    labels: {com.example.tier: t${i % 3}, com.example.index: "${i}"}`,
      `    networks: [net${i % 5}]`,
      "    ulimits: {nofile: {soft: 1024, hard: 2048}}",
    );
  }
  lines.push("networks:");
  for (let i = 0; i < 5; i++) lines.push(`  net${i}: {}`);
  lines.push("volumes:");
  for (let i = 0; i < 50; i++) lines.push(`  data${i}: {}`);
  return lines.join("\n") + "\n";
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const dir = mkdtempSync(join(tmpdir(), "fizz-bench-compose-"));
try {
  const file = join(dir, "compose.yaml");
  const text = generate(N);
  writeFileSync(file, text);
  const env = { HOME: process.env.HOME ?? "/root", PATH: process.env.PATH ?? "/usr/bin:/bin" };
  const reader = createFsReader();
  const fizzCpu: number[] = [];
  const fizzRun = () => {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const r = loadProject({ files: [file], cwd: dir, env, reader });
    const t = performance.now() - t0;
    const c = process.cpuUsage(c0);
    fizzCpu.push((c.user + c.system) / 1000);
    const errors = r.diagnostics.filter((d) => d.severity === "error");
    if (errors.length || Object.keys(r.project?.services ?? {}).length !== N) throw new Error(`fizz failed on the bench file: ${JSON.stringify(errors.slice(0, 3))}`);
    return t;
  };
  fizzRun(); // warm-up (JIT, module init)
  fizzCpu.length = 0;
  const fizz = Array.from({ length: 7 }, fizzRun);

  const dc = !process.env.NO_BASELINE && spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status === 0;
  const theirs: number[] = [];
  const theirsCpu: number[] = [];
  // CPU time (user+sys) is reported next to wall time: on a loaded machine it is the steadier ratio.
  const timeBin = spawnSync("/usr/bin/time", ["-f", "%U", "true"], { stdio: "ignore" }).status === 0;
  if (dc) {
    for (let i = 0; i < 3; i++) {
      const t0 = performance.now();
      const cmd = timeBin ? "/usr/bin/time" : "docker-compose";
      const args = timeBin ? ["-f", "FIZZCPU %U %S", "docker-compose", "-f", file, "config", "-q"] : ["-f", file, "config", "-q"];
      const r = spawnSync(cmd, args, { cwd: dir, env, stdio: ["ignore", "ignore", "pipe"] });
      theirs.push(performance.now() - t0);
      if (r.status !== 0) throw new Error(`docker-compose config failed: ${r.stderr.toString().slice(0, 500)}`);
      const m = /FIZZCPU ([\d.]+) ([\d.]+)/.exec(r.stderr.toString());
      if (m) theirsCpu.push((Number(m[1]) + Number(m[2])) * 1000);
    }
  }
  const f = median(fizz);
  const kb = (Buffer.byteLength(text) / 1024).toFixed(0);
  console.log(`compose load: ${N} services, ${kb} KiB`);
  const fc = median(fizzCpu);
  console.log(`  fizz loadProject (parse+interpolate+merge+validate+normalise), median of 7: ${f.toFixed(1)} ms wall, ${fc.toFixed(1)} ms CPU   [target ≤ 150 ms: ${f <= 150 ? "met" : "MISSED"} (wall), ${fc <= 150 ? "met" : "MISSED"} (CPU)]`);
  if (dc) {
    const d = median(theirs);
    const ratio = f / d;
    const dcpu = theirsCpu.length ? median(theirsCpu) : undefined;
    console.log(`  docker-compose 1.29 config -q, median of 3:                              ${d.toFixed(1)} ms wall${dcpu !== undefined ? `, ${dcpu.toFixed(1)} ms CPU` : ""}`);
    console.log(`  ratio fizz / docker-compose: ${ratio.toFixed(3)}× wall${dcpu !== undefined ? `, ${(fc / dcpu).toFixed(3)}× CPU` : ""}   [target ≤ 0.1×: ${ratio <= 0.1 ? "met" : "MISSED"}]`);
    console.log(`  load average at the end: ${loadavg().map((x) => x.toFixed(1)).join(" ")} on ${cpus().length} CPUs (timings are noisy when this is high)`);
  } else {
    console.log("  no baseline: docker-compose not installed (apt-get install docker-compose) or NO_BASELINE set");
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
