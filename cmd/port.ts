/** `fizz port [--protocol tcp|udp] [--index n] service private_port`: the host address a container port is published on. */
import { FizzError, usageError } from "../core/errors.ts";
import { optString, type RegisterVerb } from "./command.ts";
import type { Context } from "./context.ts";
import { connect, projectOrName, withProjectOptions, requireServices } from "./project-common.ts";
import { containerName, indexOption, noContainerError, pickContainers } from "./service-containers.ts";

export const register: RegisterVerb = (cli, action) => {
  withProjectOptions(cli.command("port <service> <private_port>", "Print the public address a container port is published on"))
    .option("--protocol <proto>", "tcp (default) or udp")
    .option("--index <n>", "Which replica, when the service has several (default 1)")
    .example("fizz port web 80")
    .example("fizz port --protocol udp --index 2 dns 53")
    .action(
      action(async (ctx, args, options) => {
        const [service, portArg] = args;
        const protocol = optString(options, "protocol") ?? "tcp";
        if (!["tcp", "udp", "sctp"].includes(protocol)) throw usageError(`unknown protocol '${protocol}'`, "use --protocol tcp or udp");
        if (!portArg || !/^\d+$/.test(portArg) || Number(portArg) > 65535) throw usageError(`invalid port '${portArg ?? ""}'`, "give the container port as a number, e.g. fizz port web 80");
        const index = indexOption(options.index) ?? 1;
        const { project, name } = await projectOrName(options);
        requireServices(project, [service!]);
        const engine = await connect(options, ctx);
        try {
          const [c] = await pickContainers(engine, name, { services: [service!], index, all: false });
          if (!c) {
            // In a cluster the ingress accepts a published port on every node, so it has an answer here even when
            // this node runs no such replica (that replica's ingress port is the service's, on every node).
            const published = await ingressPort(ctx, name, service!, `${name}-${service}-${index}`, Number(portArg), protocol);
            if (published !== undefined) {
              ctx.out(`0.0.0.0:${published}\n`);
              return 0;
            }
            throw await noContainerError(ctx, name, service!, index, "running container");
          }
          const ins = await engine.containers.inspect(c.Id);
          const bindings = ins.NetworkSettings.Ports?.[`${portArg}/${protocol}`];
          const b = bindings?.find((x) => x.HostPort) ?? undefined;
          if (!b) {
            // In a cluster the ingress serves a published port on every node; the engine does not bind it.
            const published = await ingressPort(ctx, name, service!, containerName(c), Number(portArg), protocol);
            if (published !== undefined) {
              ctx.out(`0.0.0.0:${published}\n`);
              return 0;
            }
            throw new FizzError({
              code: "port.not_published",
              message: `no port ${portArg}/${protocol} published for container ${containerName(c)}`,
              hint: `publish it under services.${service}.ports, e.g. "${portArg}" or "8080:${portArg}"`,
            });
          }
          ctx.out(`${b.HostIp || "0.0.0.0"}:${b.HostPort}\n`);
          return 0;
        } finally {
          await engine.close();
        }
      }),
    );
};

/** The port the cluster's ingress accepts on every node for `container`'s `target`/`protocol`, as the local agent reports it. */
async function ingressPort(ctx: Context, project: string, service: string, container: string, target: number, protocol: string): Promise<number | undefined> {
  const { ingressPortsHere } = await import("./cluster-ports.ts");
  return (await ingressPortsHere(ctx, project, service)).get(container)?.find((p) => p.target === target && p.protocol === protocol)?.published;
}
