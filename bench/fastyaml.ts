/**
 * core/compose/fastyaml.ts against the `yaml` package it falls back to, on
 * a generated 1,000-service compose file (median of 7 each after a warm-up, interleaved, same run): why the
 * repository keeps a hand-written parser for the compose subset of YAML.
 * Run: bun bench/fastyaml.ts
 */
import { parseYamlFile, parseYamlFileFull } from "../core/compose/source.ts";
const lines = ["services:"];
for (let i = 0; i < 1000; i++)
  lines.push(`  svc${i}:`, `    image: "registry.example.com/team/app-${i}:1.${i}"`, `    command: ["serve", "--port", "${8000 + i}"]`, `    environment:`, `      MODE: production`, `      INDEX: "${i}"`, `    ports:`, `      - "${10000 + i}:80"`, `    deploy:`, `      replicas: 2`, `      resources: { limits: { memory: 256M } }`, `    healthcheck:`, `      test: ["CMD", "true"]`, `      interval: 5s`, `    labels:`, `      team: a`, `    depends_on: [svc${Math.max(0, i - 1)}]`);
const text = lines.join("\n") + "\n";
const once = (f: () => unknown) => {
  const t = performance.now();
  f();
  return performance.now() - t;
};
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const fastRuns: number[] = [];
const fullRuns: number[] = [];
once(() => parseYamlFile("c.yaml", text));
once(() => parseYamlFileFull("c.yaml", text));
for (let k = 0; k < 7; k++) {
  fastRuns.push(once(() => parseYamlFile("c.yaml", text)));
  fullRuns.push(once(() => parseYamlFileFull("c.yaml", text)));
}
const fast = median(fastRuns);
const full = median(fullRuns);
console.log(`1,000 services (${(text.length / 1024).toFixed(0)} KiB): fastyaml ${fast.toFixed(1)} ms, yaml ${full.toFixed(1)} ms, x${(full / fast).toFixed(1)}`);
