/** The names both resolvers serve in bench/dns.ts: 100 services × 3 replicas of project "bench". */
export const SERVICES = 100;

export function benchEndpoints() {
  const out = [];
  for (let s = 0; s < SERVICES; s++) {
    for (let r = 1; r <= 3; r++) {
      const address = ((10 << 24) >>> 0) + (208 << 16) + (s << 8) + 10 + r;
      out.push({ project: "bench", service: `svc${s}`, containerName: `bench-svc${s}-${r}`, ready: true, port: 80, networks: [{ network: "default", address, aliases: [] }] });
    }
  }
  return out;
}

export function hostsFile(): string {
  return benchEndpoints()
    .map((e) => {
      const a = e.networks[0]!.address;
      return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255} ${e.service}.${e.project}`;
    })
    .join("\n") + "\n";
}
