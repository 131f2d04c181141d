/**
 * Fizz's ingress as bench/ingress.ts runs it: the real IngressServer with a
 * route table built from a compose project (one x-fizz.ingress HTTP route),
 * in its own process like the agent, in front of the given backends, with
 * the agent's per-route metrics recorded as in the agent.
 * Usage: bun bench/support/ingress-proxy.ts PORT BACKEND_PORT…
 */
import { Registry } from "prom-client";
import { loadProject } from "../../core/compose/index.ts";
import { buildRouteTable } from "../../core/ingress/routes.ts";
import { CertStore } from "../../platform/ingress/certs.ts";
import { createIngressMetrics } from "../../platform/ingress/metrics.ts";
import { IngressServer, targetKey } from "../../platform/ingress/server.ts";

const [port, ...backends] = process.argv.slice(2).map(Number);
const yaml = `services:\n  web:\n    image: x\n    x-fizz:\n      ingress: [{host: bench.test, port: ${port}, target: 80}]\n`;
const r = loadProject({ cwd: "/b", projectName: "bench", env: {}, reader: { read: (f) => (f === "/b/compose.yaml" ? yaml : undefined) } });
const table = buildRouteTable([{ id: "bench", created: "1", project: r.project! }], true);
const server = new IngressServer({ bind: "127.0.0.1", trustedProxies: [], acceptProxyFrom: [], certs: new CertStore(), acmeChallenge: () => undefined, now: () => performance.now(), metrics: createIngressMetrics(new Registry()) });
const key = targetKey({ deployment: "bench", project: "bench", service: "web" }, 80);
const problems = await server.apply({ table, backends: new Map([[key, backends.map((p, i) => ({ key: `web/${i}`, state: "ready" as const, target: { host: "127.0.0.1", port: p! } }))]]) });
if (problems.length) throw new Error(JSON.stringify(problems));
console.log("ready");
process.on("SIGTERM", () => {
  server.close();
  process.exit(0);
});
