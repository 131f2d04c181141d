// A cluster network as each real engine makes it (Docker and Podman), through
// the executor's own createNetwork and core/net's shapes: the whole subnet and
// gateway on Fizz's bridge name, the node's slice as the range the engine
// leases from, the mesh MTU, the engine's masquerade/DNS off; a container
// created with its assigned address and the cluster resolver (a DnsServer on
// the gateway, port 53) as its DNS server resolves a service name through it
// and gets the table's answer. On Podman this is what needs the libpod API:
// the compat API turns aardvark-dns on, which takes the gateway's port 53.
// The cross-host path is test/cluster/mesh-deploy.test.ts (Docker hosts).
import { afterAll, describe, expect, test } from "bun:test";
import { clusterEndpoint, clusterNetwork } from "../../core/net/engine-network.ts";
import { cidr, formatIp, parseIp } from "../../core/net/cidr.ts";
import { answerQuery } from "../../core/net/dns-answer.ts";
import { buildDnsTable } from "../../core/net/dns-records.ts";
import { bridgeName, gatewayOf } from "../../core/net/ipam.ts";
import { CLUSTER_SUBNET_LABEL } from "../../core/net/deploy-shape.ts";
import { DnsServer } from "../../platform/dns/index.ts";
import { EngineExecutor } from "../../platform/deploy/engine-adapter.ts";
import { connectEngine, type Engine } from "../../platform/engine/index.ts";
import { interfaceExists } from "../../platform/net/index.ts";
import { engineSocket, type EngineKind } from "../support/engine.ts";
import { run } from "../cluster/shell.ts";

const isRoot = process.getuid?.() === 0;
if (!isRoot && process.env.CI === "true") throw new Error("cluster network tests need root (the resolver binds port 53 on the bridge gateway)");
const IMAGE = "fizz-test/busybox:1";

function suite(kind: EngineKind, socket: string | undefined): void {
  describe.skipIf(!socket || !isRoot)(`a cluster network on real ${kind}`, () => {
    const id = Math.random().toString(36).slice(2, 8);
    const project = `fzcn${id}`;
    const netName = `${project}_default`;
    const bridge = bridgeName(project, "default");
    // A /24 in the default cluster range, unlikely to be taken on this machine.
    const third = 128 + Math.floor(Math.random() * 120);
    const subnet = cidr(`10.222.${third}.0/24`);
    const slice = cidr(`10.222.${third}.32/28`);
    const gateway = formatIp(gatewayOf(subnet));
    const webIp = `10.222.${third}.34`;
    const apiIp = `10.222.${third}.77`; // another node's slice: only the resolver knows it
    let engine: Engine | undefined;
    let dns: DnsServer | undefined;
    const cli = (args: string[]) =>
      kind === "docker" ? run(["docker", "-H", `unix://${socket}`, ...args], { timeoutMs: 30_000 }) : run(["podman", "--url", `unix://${socket}`, ...args], { timeoutMs: 30_000 });

    afterAll(async () => {
      await dns?.close();
      await cli(["rm", "-f", `${project}-web-1`]);
      await cli(["network", "rm", netName]);
      await engine?.close();
    }, 60_000);

    test("the network, a container with its address and the cluster resolver on the gateway", async () => {
      engine = await connectEngine({ engine: `unix://${socket}` });
      const desired = clusterNetwork({ key: "default", name: netName, external: false, labels: { "com.docker.compose.project": project, [CLUSTER_SUBNET_LABEL]: `10.222.${third}.0/24` } }, bridge, subnet, [slice], 1420);
      await new EngineExecutor(engine).createNetwork(desired);

      const ins = JSON.parse((await cli(["network", "inspect", netName])).stdout)[0];
      if (kind === "docker") {
        expect(ins.IPAM.Config[0]).toMatchObject({ Subnet: `10.222.${third}.0/24`, Gateway: gateway, IPRange: `10.222.${third}.32/28` });
        expect(ins.Options).toMatchObject({ "com.docker.network.bridge.name": bridge, "com.docker.network.bridge.enable_ip_masquerade": "false", "com.docker.network.driver.mtu": "1420" });
      } else {
        expect(ins.network_interface).toBe(bridge);
        expect(ins.dns_enabled).toBe(false);
        expect(ins.subnets[0]).toMatchObject({ subnet: `10.222.${third}.0/24`, gateway, lease_range: { start_ip: `10.222.${third}.32`, end_ip: `10.222.${third}.47` } });
        expect(ins.options?.mtu).toBe("1420");
      }

      // The cluster resolver on the gateway: the asking container's network only.
      const table = buildDnsTable(
        [
          { project, service: "web", containerName: `${project}-web-1`, ready: true, networks: [{ network: "default", address: parseIp(webIp)!, aliases: [] }], port: 0 },
          { project, service: "api", containerName: `${project}-api-1`, ready: true, networks: [{ network: "default", address: parseIp(apiIp)!, aliases: ["backend"] }], port: 8080 },
        ],
        [{ project, network: "default", subnet }],
      );
      const asked: (number | undefined)[] = [];
      const start = async () => {
        dns = await DnsServer.start({
          listen: [{ host: gateway, port: 53 }],
          decide: (q, c) => {
            asked.push(c.askerIp);
            return answerQuery(table, q, c);
          },
          upstreams: () => [],
        });
      };

      // The container: its address, no engine aliases, DNS = the gateway (as core/net/deploy-shape.ts makes it).
      const endpoint = clusterEndpoint({ IPAMConfig: { IPv4Address: webIp }, Aliases: ["web"] });
      const created = await engine.containers.create(
        {
          Image: IMAGE,
          Cmd: ["sleep", "600"],
          Labels: { "com.docker.compose.project": project },
          HostConfig: { Dns: [gateway], NetworkMode: netName },
          NetworkingConfig: { EndpointsConfig: { [netName]: { ...endpoint, IPAMConfig: { IPv4Address: webIp } } } },
        },
        { name: `${project}-web-1` },
      );
      expect(created.Id).toBeTruthy();
      if (kind === "docker") {
        // Docker makes the bridge with the network (down until a container starts): the resolver binds before the first query.
        expect(interfaceExists(bridge)).toBe(true);
        await start();
        await engine.containers.start(`${project}-web-1`);
      } else {
        // netavark makes the bridge when the first container starts: the resolver binds right after (the dns and mesh controllers look again every 200 ms for 15 s after preparing a container).
        await engine.containers.start(`${project}-web-1`);
        expect(interfaceExists(bridge)).toBe(true);
        await start();
      }
      const got = (await cli(["inspect", "-f", "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}", `${project}-web-1`])).stdout.trim();
      expect(got).toBe(webIp);

      const r = await cli(["exec", `${project}-web-1`, "nslookup", "api"]);
      expect(`${r.stdout}${r.stderr}`).toContain(apiIp);
      const alias = await cli(["exec", `${project}-web-1`, "nslookup", "backend"]);
      expect(`${alias.stdout}${alias.stderr}`).toContain(apiIp);
      // The queries reached Fizz's resolver from the container's own address (Docker: through its embedded DNS, which forwards from the container's namespace).
      expect(asked.map((a) => (a === undefined ? "?" : formatIp(a)))).toContain(webIp);
    }, 120_000);
  });
}

suite("docker", await engineSocket("docker"));
suite("podman", await engineSocket("podman"));
