/**
 * The cluster resolver in a process of its own, for runtimes bun:test does
 * not run (deno-dns.test.ts starts it under Deno): serves a small table on
 * 127.0.0.1, prints `port=<n> impl=<bun|node>`, and exits when its stdin
 * closes (so it never outlives the test) or after 60 s.
 */
import { answerQuery } from "../../../core/net/dns-answer.ts";
import { buildDnsTable } from "../../../core/net/dns-records.ts";
import { parseIp } from "../../../core/net/cidr.ts";
import { DnsServer, udpImplementation } from "../../../platform/dns/index.ts";

const ep = (service: string, n: number, address: string) => ({ project: "p", service, containerName: `p-${service}-${n}`, ready: true, port: 80, networks: [{ network: "default", address: parseIp(address)!, aliases: [] }] });
const table = buildDnsTable([ep("api", 1, "10.1.0.1"), ep("api", 2, "10.1.0.2"), ep("api", 3, "10.1.0.3"), ...Array.from({ length: 40 }, (_, i) => ep("big", i + 1, `10.2.0.${i + 1}`))]);
const server = await DnsServer.start({ listen: [{ host: "127.0.0.1", port: 0 }], decide: (q, ctx) => answerQuery(table, q, ctx), upstreams: () => [] });
console.log(`port=${server.addresses()[0]!.port} impl=${udpImplementation()}`);
const stop = async () => {
  await server.close();
  process.exit(0);
};
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
setTimeout(stop, 60_000);
