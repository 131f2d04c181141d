/**
 * `fizz doctor`: finds the container engine (--engine, DOCKER_HOST, the usual
 * sockets), says what it is and how we talk to it, and runs a few read-only
 * checks. Exit 0 when every check passes, 1 when the engine is unreachable or
 * a check fails.
 */
import type { RegisterVerb } from "./command.ts";
import { optString } from "./command.ts";
import { paint } from "./context.ts";
import { isFizzError, usageError, type FizzError } from "../core/errors.ts";

interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface DoctorReport {
  readonly ok: boolean;
  readonly engine: {
    readonly name: "Docker" | "Podman";
    readonly version: string;
    readonly apiVersion: string;
    readonly serverApiVersion: string | undefined;
    readonly address: string;
    readonly source: string;
  };
  readonly os: string;
  readonly arch: string;
  readonly operatingSystem: string | undefined;
  readonly kernel: string | undefined;
  readonly runtime: string;
  /** True when running as the single executable (bun build --compile). */
  readonly compiled: boolean;
  readonly checks: readonly Check[];
}

export const register: RegisterVerb = (cli, action) => {
  cli
    .command("doctor", "Find the container engine and check that fizz can use it")
    .option("--engine <engine>", "docker, podman, or an address (unix:///path.sock, tcp://host:port); default: FIZZ_ENGINE, DOCKER_HOST, then the usual sockets")
    .option("--format <format>", "Output format: text (default) or json")
    .action(
      action(async (ctx, _args, options) => {
        const format = optString(options, "format") ?? "text";
        if (format !== "text" && format !== "json") throw usageError(`unknown format '${format}'`, "use --format text or --format json");
        const engineOpt = optString(options, "engine");
        const { connectEngine } = await import("../platform/engine/index.ts");
        const { runtimeVersion, isCompiledBinary } = await import("../platform/runtime.ts");

        let engine: Awaited<ReturnType<typeof connectEngine>>;
        try {
          engine = await connectEngine({ engine: engineOpt });
        } catch (e) {
          if (format === "json" && isFizzError(e) && e.code !== "cli.usage") {
            ctx.out(`${JSON.stringify({ ok: false, error: (e as FizzError).toJSON() }, null, 2)}\n`);
            return e.exitCode;
          }
          throw e;
        }
        try {
          // Podman answers /version and /info slowly (it probes its runtimes), so
          // everything runs at once; results keep the order listed here.
          const check = async (name: string, run: () => Promise<string | { ok: boolean; detail: string }>): Promise<Check> => {
            try {
              const r = await run();
              return typeof r === "string" ? { name, ok: true, detail: r } : { name, ok: r.ok, detail: r.detail };
            } catch (e) {
              return { name, ok: false, detail: isFizzError(e) ? `${e.message}${e.hint ? ` (hint: ${e.hint})` : ""}` : String(e) };
            }
          };
          let info: Awaited<ReturnType<typeof engine.info>> | undefined;
          const [version, ...checks] = await Promise.all([
            engine.version(),
            check("engine info", async () => {
              info = await engine.info();
              return `${info.Driver} storage, cgroup ${info.CgroupVersion ?? "?"} (${info.CgroupDriver ?? "?"}), ${info.NCPU} CPUs`;
            }),
            check("list containers", async () => {
              const all = await engine.containers.list({ all: true });
              return `${all.length} containers, ${all.filter((c) => c.State === "running").length} running`;
            }),
            check("list images", async () => `${(await engine.images.list()).length} images`),
            check("list networks", async () => `${(await engine.networks.list()).length} networks`),
            check("list volumes", async () => `${(await engine.volumes.list()).length} volumes`),
            // Compose services reach each other by name; Podman with CNI needs a plugin for that.
            ...(engine.name === "podman" ? [check("service names", async () => (await import("../platform/engine/podman-dns.ts")).podmanNameResolution(engine))] : []),
          ]);

          const ep = engine.endpoint;
          const report: DoctorReport = {
            ok: checks.every((c) => c.ok),
            engine: {
              name: engine.name === "podman" ? "Podman" : "Docker",
              version: version.Version,
              apiVersion: engine.apiVersion,
              serverApiVersion: engine.pingResult.apiVersion,
              address: ep.address,
              source: ep.source === "flag" ? "--engine" : ep.source === "default" ? "auto-detected" : ep.source,
            },
            os: version.Os,
            arch: version.Arch,
            operatingSystem: info?.OperatingSystem,
            kernel: version.KernelVersion,
            runtime: runtimeVersion(),
            compiled: isCompiledBinary(),
            checks,
          };
          if (format === "json") {
            ctx.out(`${JSON.stringify(report, null, 2)}\n`);
          } else {
            const e = report.engine;
            const lines = [
              `engine:   ${e.name} ${e.version}`,
              `api:      ${e.apiVersion} (engine offers ${e.serverApiVersion ?? "?"})`,
              `socket:   ${e.address} (${e.source})`,
              `os/arch:  ${report.os}/${report.arch}${report.operatingSystem ? `, ${report.operatingSystem}` : ""}${report.kernel ? `, kernel ${report.kernel}` : ""}`,
              `runtime:  ${report.runtime}${report.compiled ? " (single executable)" : ""}`,
              "checks:",
              ...checks.map((c) => `  ${c.ok ? paint(ctx, "32", "ok  ") : paint(ctx, "31", "FAIL")} ${c.name}: ${c.detail}`),
            ];
            ctx.out(`${lines.join("\n")}\n`);
          }
          return report.ok ? 0 : 1;
        } finally {
          await engine.close();
        }
      }),
    );
};
