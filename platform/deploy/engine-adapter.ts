/** The plan executor's view of a real engine (Docker or Podman through platform/engine). */
import { mkdirSync, existsSync } from "node:fs";
import type { ContainerCreateBody as DeployCreateBody } from "../../core/deploy/engine-body.ts";
import type { ServiceTemplate } from "../../core/deploy/container-spec.ts";
import { healthFromStatus } from "../../core/deploy/actual.ts";
import { isAnonymousVolumeName, type OldMount } from "../../core/deploy/anon-volumes.ts";
import { LABEL } from "../../core/labels.ts";
import { buildHash } from "../../core/compose/hash.ts";
import type { DesiredNetwork, DesiredVolume } from "../../core/reconcile/types.ts";
import type { Engine, ContainerCreateBody, ProgressEvent } from "../engine/index.ts";
import type { GateStatus, ExecutorEngine, LayerBytes } from "./executor.ts";
import { runDueHealthcheck } from "./podman-health.ts";
import { CLUSTER_SUBNET_LABEL } from "../../core/net/deploy-shape.ts";
import { libpodClusterNetwork } from "./podman-network.ts";

export interface BuildSpec {
  context: string;
  dockerfile?: string;
  args: Record<string, string>;
  target?: string;
  labels?: Record<string, string>;
  noCache?: boolean;
  pull?: boolean;
}

export class EngineExecutor implements ExecutorEngine {
  constructor(
    private readonly engine: Engine,
    /** Build settings per service, from the compose project. */
    private readonly builds: ReadonlyMap<string, BuildSpec> = new Map(),
    /** Whether bind sources live on this machine (unix-socket engine) so missing ones may be created. */
    private readonly localBinds = engine.endpoint.transport === "unix",
  ) {}

  async createNetwork(n: DesiredNetwork): Promise<void> {
    const ipam = n.ipam as { driver?: string; config?: { subnet?: string; ip_range?: string; gateway?: string; aux_addresses?: Record<string, string> }[]; options?: Record<string, string> } | undefined;
    // A cluster network on Podman: its own API, to turn its DNS off (the cluster resolver listens on the gateway).
    if (this.engine.name === "podman" && n.labels?.[CLUSTER_SUBNET_LABEL] && ipam?.config?.[0]?.subnet) {
      await this.engine.networks.createLibpod(libpodClusterNetwork(n, ipam.config[0]));
      return;
    }
    await this.engine.networks.create({
      Name: n.name,
      CheckDuplicate: true,
      ...(n.driver ? { Driver: n.driver } : {}),
      ...(n.driverOpts ? { Options: { ...n.driverOpts } } : {}),
      ...(n.labels ? { Labels: { ...n.labels } } : {}),
      ...(n.internal ? { Internal: true } : {}),
      ...(n.attachable ? { Attachable: true } : {}),
      ...(n.enableIpv6 ? { EnableIPv6: true } : {}),
      ...(ipam
        ? {
            IPAM: {
              ...(ipam.driver ? { Driver: ipam.driver } : {}),
              Config: (ipam.config ?? []).map((c) => ({
                ...(c.subnet ? { Subnet: c.subnet } : {}),
                ...(c.ip_range ? { IPRange: c.ip_range } : {}),
                ...(c.gateway ? { Gateway: c.gateway } : {}),
                ...(c.aux_addresses ? { AuxiliaryAddresses: c.aux_addresses } : {}),
              })),
              ...(ipam.options ? { Options: ipam.options } : {}),
            },
          }
        : {}),
    });
  }

  async removeNetwork(name: string): Promise<void> {
    await this.engine.networks.remove(name);
  }

  async createVolume(v: DesiredVolume): Promise<void> {
    await this.engine.volumes.create({
      Name: v.name,
      ...(v.driver ? { Driver: v.driver } : {}),
      ...(v.driverOpts ? { DriverOpts: { ...v.driverOpts } } : {}),
      ...(v.labels ? { Labels: { ...v.labels } } : {}),
    });
  }

  async removeVolume(name: string): Promise<void> {
    await this.engine.volumes.remove(name);
  }

  async pullImage(ref: string, onProgress: (line: string, bytes?: LayerBytes) => void): Promise<void> {
    for await (const ev of this.engine.images.pull(ref)) {
      const d = ev.progressDetail;
      const bytes = ev.id && ev.status ? { layer: ev.id, status: ev.status, ...(d?.current !== undefined ? { current: d.current } : {}), ...(d?.total !== undefined ? { total: d.total } : {}) } : undefined;
      onProgress(progressLine(ev), bytes);
    }
  }

  async buildImage(_t: ServiceTemplate | undefined, service: string, image: string, onProgress: (line: string) => void): Promise<void> {
    const b = this.builds.get(service);
    if (!b) throw new Error(`service ${service} has no build section`);
    for await (const ev of this.engine.images.build(b.context, {
      tag: image,
      ...(b.dockerfile ? { dockerfile: b.dockerfile } : {}),
      buildArgs: b.args,
      ...(b.target ? { target: b.target } : {}),
      labels: { ...(b.labels ?? {}), [LABEL.project]: _t?.project ?? "", [LABEL.service]: service, [LABEL.buildHash]: buildHash(b) },
      ...(b.noCache ? { noCache: true } : {}),
      ...(b.pull ? { pull: true } : {}),
    })) {
      const line = progressLine(ev);
      if (line) onProgress(line);
    }
  }

  async ensureBindSources(body: DeployCreateBody): Promise<void> {
    if (!this.localBinds) return;
    for (const m of body.HostConfig.Mounts ?? []) {
      if (m.Type === "bind" && m.Source && m.BindOptions?.CreateMountpoint && !existsSync(m.Source)) {
        mkdirSync(m.Source, { recursive: true });
      }
    }
    // Relabelled binds (`:z`): Docker creates a missing source of a legacy bind, Podman refuses it; made here for both.
    for (const b of body.HostConfig.Binds ?? []) {
      const src = b.split(":")[0];
      if (src?.startsWith("/") && !existsSync(src)) mkdirSync(src, { recursive: true });
    }
  }

  async replacedMounts(oldId: string, image: string): Promise<{ mounts: OldMount[]; imageVolumes: string[] }> {
    const old = await this.engine.containers.find(oldId);
    if (!old?.Mounts?.some((m) => m.Type === "volume")) return { mounts: [], imageVolumes: [] };
    const img = await this.engine.images.inspect(image).catch(() => undefined);
    const volumes = (img?.Config as { Volumes?: Record<string, unknown> | null } | undefined)?.Volumes;
    return { mounts: old.Mounts, imageVolumes: Object.keys(volumes ?? {}) };
  }

  async anonymousVolumes(id: string): Promise<string[]> {
    const c = await this.engine.containers.find(id);
    return (c?.Mounts ?? []).filter((m) => m.Type === "volume" && m.Name !== undefined && isAnonymousVolumeName(m.Name)).map((m) => m.Name!);
  }

  async createContainer(name: string, body: DeployCreateBody): Promise<string> {
    const r = await this.engine.containers.create(body as unknown as ContainerCreateBody, { name });
    return r.Id;
  }

  async connectNetwork(network: string, containerId: string, endpoint: unknown): Promise<void> {
    await this.engine.networks.connect(network, containerId, endpoint as Record<string, unknown>);
  }

  async startContainer(id: string): Promise<void> {
    await this.engine.containers.start(id);
  }

  async stopContainer(id: string, timeoutSeconds?: number): Promise<void> {
    await this.engine.containers.stop(id, timeoutSeconds === undefined ? {} : { timeout: timeoutSeconds });
  }

  async renameContainer(id: string, name: string): Promise<void> {
    await this.engine.transport.empty({ method: "POST", path: `/containers/${encodeURIComponent(id)}/rename`, query: { name }, ctx: { action: "rename container", subject: { kind: "container", name: id } } });
  }

  async removeContainer(id: string, opts: { volumes: boolean; force: boolean }): Promise<void> {
    await this.engine.containers.remove(id, opts);
  }

  async logTail(containerId: string, lines: number): Promise<string> {
    const { collectOutput } = await import("../engine/streams.ts");
    const out = await collectOutput(this.engine.containers.logs(containerId, { tail: lines }));
    // Two streams, each its last lines; stderr last, where a failure usually says why.
    return [out.stdout, out.stderr].filter((x) => x.trim() !== "").join("\n");
  }

  async serviceContainers(project: string, service: string): Promise<{ id: string; name: string; status: GateStatus }[]> {
    const list = await this.engine.containers.list({ all: true, labels: { [LABEL.project]: project, [LABEL.service]: service } });
    const out: { id: string; name: string; status: GateStatus }[] = [];
    for (const c of list) {
      const name = (c.Names?.[0] ?? c.Id).replace(/^\//, "");
      // The list's Status text lags on some engines; inspect is authoritative for health and exit codes.
      let ins = await this.engine.containers.find(c.Id);
      if (!ins) continue;
      if (await runDueHealthcheck(this.engine, ins)) ins = (await this.engine.containers.find(c.Id)) ?? ins;
      const st = ins.State;
      const health = st.Health?.Status;
      const log = (st.Health as { Log?: { Output?: string }[] } | null | undefined)?.Log;
      const state = String(st.Status).toLowerCase();
      out.push({
        id: c.Id,
        name,
        status: {
          state: (state === "configured" ? "created" : state === "stopped" ? "exited" : state) as GateStatus["state"],
          health: health === "healthy" || health === "unhealthy" || health === "starting" ? health : healthFromStatus(c.Status),
          exitCode: st.ExitCode,
          ...(log?.length ? { healthOutput: log[log.length - 1]!.Output ?? "" } : {}),
        },
      });
    }
    return out;
  }
}

/** One plain line for a pull/build progress event; "" when it carries nothing worth showing. */
export function progressLine(ev: ProgressEvent): string {
  const e = ev as ProgressEvent & { stream?: string; status?: string; id?: string; progress?: string };
  if (e.stream) return e.stream.replace(/\n$/, "");
  if (e.status) return [e.id, e.status, e.progress].filter(Boolean).join(" ");
  return "";
}
