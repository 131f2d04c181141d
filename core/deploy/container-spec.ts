/**
 * Translates one normalised compose service into the engine's container-create
 * body. Done once per service (`serviceTemplate`); each replica is then an
 * `instantiate` of that template with its number, name and labels.
 *
 * Engines before API 1.44 accept only one network endpoint at create time, so
 * the template carries the first network in the body and the rest as
 * `extraNetworks` for the executor to connect before the container starts.
 */
import type { Project, SecretDef, Service, VolumeMount } from "../compose/model.ts";
import { labelsFor, type DependsOnLabel } from "../labels.ts";
import type { ContainerCreateBody, EndpointConfig, HostConfig, MountSpec } from "./engine-body.ts";

export interface NetworkAttachment {
  /** Engine network name. */
  name: string;
  endpoint: EndpointConfig;
}

/** Everything needed to create any replica of a service; JSON-serialisable. */
export interface ServiceTemplate {
  project: string;
  service: string;
  /** Create body without per-replica labels/hostname; networks excluded. */
  body: ContainerCreateBody;
  /** Networks in attach order; the first goes in the create body. */
  networks: NetworkAttachment[];
  /** Container-affecting labels (user labels; Fizz labels are added per replica). */
  userLabels: Record<string, string>;
  dependsOn: DependsOnLabel[];
  workingDir: string;
  configFiles: string[];
  /** `hostname:` given explicitly (otherwise the engine uses the container id). */
  explicitHostname: boolean;
  /** Short per-field hashes labelled on each container, so a later plan can say what changed. */
  configFields?: Record<string, string>;
}

export interface InstanceInput {
  number: number;
  name: string;
  configHash: string;
  configFields?: Readonly<Record<string, string>>;
  node?: string;
  deployment?: string;
  fizzVersion?: string;
  imageId?: string;
  /** Name of the container this one replaces (recreate). */
  replace?: string;
  /** A one-off container (`fizz run`): labelled oneoff=True, number 0 (not numbered). */
  oneoff?: boolean;
  /** Cluster networks: this replica's IPv4 address per engine network (core/net/deploy-shape.ts). */
  addresses?: Readonly<Record<string, string>>;
}

export interface Instance {
  name: string;
  body: ContainerCreateBody;
  /** Networks to connect after create, before start. */
  extraNetworks: NetworkAttachment[];
}

export interface TemplateResult {
  template: ServiceTemplate;
  /** Settings that could not be expressed; shown to the user, never silently dropped. */
  warnings: string[];
}

const NS_PER_S = 1_000_000_000;

export function serviceTemplate(project: Project, service: Service, image: string): TemplateResult {
  const warnings: string[] = [];
  const warn = (field: string, why: string) => warnings.push(`service '${service.name}': ${field}: ${why}`);

  const env = Object.entries(service.environment)
    .filter((e): e is [string, string] => e[1] !== null)
    .map(([k, v]) => `${k}=${v}`);

  const body: ContainerCreateBody = { Image: image, HostConfig: hostConfig(project, service, warn) };
  if (service.hostname !== undefined) body.Hostname = service.hostname;
  if (service.domainname !== undefined) body.Domainname = service.domainname;
  if (service.user !== undefined) body.User = service.user;
  if (env.length) body.Env = env;
  if (service.command !== undefined && service.command !== null) body.Cmd = service.command;
  if (service.entrypoint !== undefined && service.entrypoint !== null) body.Entrypoint = service.entrypoint;
  if (service.working_dir !== undefined) body.WorkingDir = service.working_dir;
  if (service.stop_signal !== undefined) body.StopSignal = service.stop_signal;
  if (service.stop_grace_period !== undefined) body.StopTimeout = Math.ceil(service.stop_grace_period / NS_PER_S);
  if (service.tty) body.Tty = true;
  if (service.stdin_open) {
    body.OpenStdin = true;
    body.AttachStdin = true;
  }
  body.AttachStdout = true;
  body.AttachStderr = true;
  if (service.mac_address !== undefined) body.MacAddress = service.mac_address;

  const exposed: Record<string, Record<string, never>> = {};
  for (const p of service.ports) exposed[`${p.target}/${p.protocol}`] = {};
  for (const e of service.expose ?? []) {
    const [range, proto = "tcp"] = e.split("/");
    const [lo, hi] = (range ?? "").split("-").map(Number);
    if (lo === undefined || !Number.isInteger(lo)) continue;
    for (let port = lo; port <= (hi !== undefined && Number.isInteger(hi) ? hi : lo); port++) exposed[`${port}/${proto}`] = {};
  }
  if (Object.keys(exposed).length) body.ExposedPorts = exposed;

  const hc = service.healthcheck;
  if (hc) {
    if (hc.disable) body.Healthcheck = { Test: ["NONE"] };
    else {
      body.Healthcheck = {};
      if (hc.test) body.Healthcheck.Test = hc.test;
      if (hc.interval !== undefined) body.Healthcheck.Interval = hc.interval;
      if (hc.timeout !== undefined) body.Healthcheck.Timeout = hc.timeout;
      if (hc.retries !== undefined) body.Healthcheck.Retries = hc.retries;
      if (hc.start_period !== undefined) body.Healthcheck.StartPeriod = hc.start_period;
      if (hc.start_interval !== undefined) body.Healthcheck.StartInterval = hc.start_interval;
    }
  }

  const networks: NetworkAttachment[] = [];
  if (!service.network_mode) {
    const attached = Object.keys(service.networks).length ? service.networks : { default: null };
    const ordered = Object.entries(attached).sort(
      ([, a], [, b]) => (b?.priority ?? b?.gw_priority ?? 0) - (a?.priority ?? a?.gw_priority ?? 0),
    );
    for (const [key, cfg] of ordered) {
      const net = project.networks[key];
      const name = net?.name ?? `${project.name}_${key}`;
      const endpoint: EndpointConfig = { Aliases: [service.name, ...(cfg?.aliases ?? [])] };
      if (cfg?.ipv4_address || cfg?.ipv6_address || cfg?.link_local_ips) {
        endpoint.IPAMConfig = {};
        if (cfg.ipv4_address) endpoint.IPAMConfig.IPv4Address = cfg.ipv4_address;
        if (cfg.ipv6_address) endpoint.IPAMConfig.IPv6Address = cfg.ipv6_address;
        if (cfg.link_local_ips) endpoint.IPAMConfig.LinkLocalIPs = cfg.link_local_ips;
      }
      if (cfg?.mac_address) endpoint.MacAddress = cfg.mac_address;
      if (cfg?.driver_opts) endpoint.DriverOpts = cfg.driver_opts;
      if (cfg?.gw_priority !== undefined) endpoint.GwPriority = cfg.gw_priority;
      networks.push({ name, endpoint });
    }
  }

  if (service.gpus !== undefined) warn("gpus", "GPU requests are passed to the engine as device requests; the engine must have a GPU runtime");
  if (service.post_start?.length || service.pre_stop?.length) warn("post_start/pre_stop", "lifecycle hooks are not run by fizz yet; ignored");
  if (service.credential_spec !== undefined) warn("credential_spec", "Windows-only; ignored");

  const userLabels = { ...service.labels };
  return {
    template: {
      project: project.name,
      service: service.name,
      body,
      networks,
      userLabels,
      dependsOn: Object.entries(service.depends_on).map(([dep, d]) => ({ service: dep, condition: d.condition, restart: d.restart })),
      workingDir: project.working_dir,
      configFiles: project.files,
      explicitHostname: service.hostname !== undefined,
    },
    warnings,
  };
}

/** The create body of replica `input.number`, labelled so a restarted agent can re-adopt it. */
export function instantiate(t: ServiceTemplate, input: InstanceInput): Instance {
  const labels = labelsFor({
    kind: "container",
    project: t.project,
    service: t.service,
    number: input.number,
    configHash: input.configHash,
    ...(input.configFields ?? t.configFields ? { configFields: input.configFields ?? t.configFields! } : {}),
    workingDir: t.workingDir,
    configFiles: t.configFiles,
    dependsOn: t.dependsOn,
    userLabels: t.userLabels,
    ...(input.node !== undefined ? { node: input.node } : {}),
    ...(input.deployment !== undefined ? { deployment: input.deployment } : {}),
    ...(input.fizzVersion !== undefined ? { fizzVersion: input.fizzVersion } : {}),
    ...(input.imageId !== undefined ? { imageId: input.imageId } : {}),
    ...(input.replace !== undefined ? { replace: input.replace } : {}),
    ...(input.oneoff ? { oneoff: true } : {}),
  });
  const addrs = input.addresses;
  const [first, ...rest] = addrs ? t.networks.map((n) => ({ name: n.name, endpoint: addrs[n.name] === undefined ? n.endpoint : { ...n.endpoint, IPAMConfig: { ...(n.endpoint.IPAMConfig ?? {}), IPv4Address: addrs[n.name]! } } })) : t.networks;
  const body: ContainerCreateBody = { ...t.body, Labels: labels };
  if (first) {
    body.HostConfig = { ...t.body.HostConfig, NetworkMode: first.name };
    body.NetworkingConfig = { EndpointsConfig: { [first.name]: first.endpoint } };
  }
  return { name: input.name, body, extraNetworks: rest };
}

/** Why a secret or config has no file to mount on the engine directly (`environment:` and `content:` ones get one: core/deploy/local-file-objects.ts). */
function unmountable(def: SecretDef | undefined): string {
  if (!def) return "is not defined at the top level; not mounted";
  if (def.environment !== undefined) return `its variable ${def.environment} is not set; not mounted`;
  return "comes from the agent (external or encrypted for the cluster); not mounted without it: run fizz up -d with an agent";
}

/**
 * uid/gid/mode of a file bind-mounted on the engine directly cannot be applied: the container sees the host file's
 * owner and mode (a `mode: 0400` secret stays as readable as it is on the host). Compose warns too; the agent honours them.
 */
function ownershipIgnored(ref: { uid?: string; gid?: string; mode?: number }, warn: (why: string) => void): void {
  const set = (["uid", "gid", "mode"] as const).filter((k) => ref[k] !== undefined);
  if (!set.length) return;
  warn(`${set.join(", ")} ${set.length === 1 ? "is" : "are"} not applied without the agent: the file is bind-mounted with its owner and mode on the host; set them on the file, or run fizz up -d with an agent, which delivers it with them`);
}

function hostConfig(project: Project, s: Service, warn: (field: string, why: string) => void): HostConfig {
  const h: HostConfig = {};
  // A bind to relabel for SELinux (`:z`, `:Z`) goes as a legacy bind, as Compose sends it: the Mounts API has no relabel option.
  const relabelled = (v: VolumeMount): v is Extract<VolumeMount, { type: "bind" }> => v.type === "bind" && v.bind?.selinux !== undefined && v.source !== "";
  const binds = s.volumes.filter(relabelled).map(bindString);
  const mounts = s.volumes.filter((v) => !relabelled(v)).map((v) => mountSpec(project, v));
  if (binds.length) h.Binds = binds;
  // A definition `fizz up` sealed for the agent is delivered on tmpfs by the secrets controller (core/secrets/delivery.ts).
  for (const ref of s.secrets) {
    const def = project.secrets[ref.source];
    const target = ref.target ?? `/run/secrets/${ref.source}`;
    if (def?.sealed) continue;
    if (def?.file) {
      mounts.push({ Type: "bind", Source: def.file, Target: target.startsWith("/") ? target : `/run/secrets/${target}`, ReadOnly: true });
      ownershipIgnored(ref, (why) => warn(`secrets.${ref.source}`, why));
    } else warn(`secrets.${ref.source}`, unmountable(def));
  }
  for (const ref of s.configs) {
    const def = project.configs[ref.source];
    const target = ref.target ?? `/${ref.source}`;
    if (def?.sealed) continue;
    if (def?.file) {
      mounts.push({ Type: "bind", Source: def.file, Target: target, ReadOnly: true });
      ownershipIgnored(ref, (why) => warn(`configs.${ref.source}`, why));
    } else warn(`configs.${ref.source}`, unmountable(def));
  }
  if (mounts.length) h.Mounts = mounts;

  if (s.ports.length) {
    const pb: Record<string, { HostIp?: string; HostPort?: string }[]> = {};
    for (const p of s.ports) {
      const key = `${p.target}/${p.protocol}`;
      const binding: { HostIp?: string; HostPort?: string } = {};
      if (p.host_ip) binding.HostIp = p.host_ip;
      binding.HostPort = p.published ?? "";
      (pb[key] ??= []).push(binding);
    }
    h.PortBindings = pb;
  }

  const restart = s.restart ?? restartFromDeploy(s);
  if (restart) {
    const [name, count] = restart.split(":");
    if (name === "no" || name === "always" || name === "on-failure" || name === "unless-stopped") {
      h.RestartPolicy = { Name: name, ...(count ? { MaximumRetryCount: Number(count) } : {}) };
    }
  }
  if (s.network_mode) h.NetworkMode = resolveNetworkMode(project, s.network_mode);
  if (s.privileged) h.Privileged = true;
  if (s.read_only) h.ReadonlyRootfs = true;
  if (s.init !== undefined) h.Init = s.init;
  if (s.cap_add) h.CapAdd = s.cap_add;
  if (s.cap_drop) h.CapDrop = s.cap_drop;
  if (s.security_opt) h.SecurityOpt = s.security_opt;
  if (s.dns) h.Dns = s.dns;
  if (s.dns_opt) h.DnsOptions = s.dns_opt;
  if (s.dns_search) h.DnsSearch = s.dns_search;
  if (s.extra_hosts) h.ExtraHosts = Object.entries(s.extra_hosts).flatMap(([host, ips]) => ips.map((ip) => `${host}:${ip}`));
  if (s.group_add) h.GroupAdd = s.group_add;
  if (s.ipc) h.IpcMode = resolveNetworkMode(project, s.ipc);
  if (s.pid) h.PidMode = resolveNetworkMode(project, s.pid);
  if (s.uts) h.UTSMode = s.uts;
  if (s.userns_mode) h.UsernsMode = s.userns_mode;
  if (s.cgroup) h.Cgroup = s.cgroup;
  if (s.cgroup_parent) h.CgroupParent = s.cgroup_parent;
  if (s.isolation) h.Isolation = s.isolation;
  if (s.runtime) h.Runtime = s.runtime;
  if (s.shm_size !== undefined) h.ShmSize = s.shm_size;
  if (s.sysctls) h.Sysctls = s.sysctls;
  if (s.tmpfs?.length) {
    h.Tmpfs = {};
    for (const t of s.tmpfs) {
      const i = t.indexOf(":");
      h.Tmpfs[i < 0 ? t : t.slice(0, i)] = i < 0 ? "" : t.slice(i + 1);
    }
  }
  if (s.ulimits) h.Ulimits = Object.entries(s.ulimits).map(([Name, u]) => ({ Name, Soft: u.soft, Hard: u.hard }));
  if (s.logging?.driver || s.logging?.options) h.LogConfig = { Type: s.logging.driver ?? "", Config: s.logging.options ?? {} };
  if (s.devices) h.Devices = s.devices.map((d) => ({ PathOnHost: d.source, PathInContainer: d.target, CgroupPermissions: d.permissions ?? "rwm" }));
  if (s.device_cgroup_rules) h.DeviceCgroupRules = s.device_cgroup_rules;
  if (s.oom_kill_disable !== undefined) h.OomKillDisable = s.oom_kill_disable;
  if (s.oom_score_adj !== undefined) h.OomScoreAdj = s.oom_score_adj;
  if (s.cpu_shares !== undefined) h.CpuShares = s.cpu_shares;
  if (s.cpu_period !== undefined) h.CpuPeriod = s.cpu_period;
  if (s.cpu_quota !== undefined) h.CpuQuota = s.cpu_quota;
  if (s.cpu_rt_runtime !== undefined) h.CpuRealtimeRuntime = Math.round(s.cpu_rt_runtime / 1000);
  if (s.cpu_rt_period !== undefined) h.CpuRealtimePeriod = Math.round(s.cpu_rt_period / 1000);
  if (s.cpuset) h.CpusetCpus = s.cpuset;
  if (s.cpu_count !== undefined) h.CpuCount = s.cpu_count;
  if (s.cpu_percent !== undefined) h.CpuPercent = s.cpu_percent;
  if (s.mem_swappiness !== undefined) h.MemorySwappiness = s.mem_swappiness;
  if (s.memswap_limit !== undefined) h.MemorySwap = s.memswap_limit;
  if (s.volumes_from) h.VolumesFrom = s.volumes_from.map((v) => volumesFrom(project, v));
  if (s.links) h.Links = s.links.map((l) => (l.includes(":") ? l : `${l}:${l}`));
  if (s.storage_opt) h.StorageOpt = s.storage_opt;
  if (s.annotations) h.Annotations = s.annotations;
  const b = s.blkio_config;
  if (b) {
    if (b.weight !== undefined) h.BlkioWeight = b.weight;
    if (b.weight_device) h.BlkioWeightDevice = b.weight_device.map((d) => ({ Path: d.path, Weight: d.weight }));
    if (b.device_read_bps) h.BlkioDeviceReadBps = b.device_read_bps.map((d) => ({ Path: d.path, Rate: d.rate }));
    if (b.device_write_bps) h.BlkioDeviceWriteBps = b.device_write_bps.map((d) => ({ Path: d.path, Rate: d.rate }));
    if (b.device_read_iops) h.BlkioDeviceReadIOps = b.device_read_iops.map((d) => ({ Path: d.path, Rate: d.rate }));
    if (b.device_write_iops) h.BlkioDeviceWriteIOps = b.device_write_iops.map((d) => ({ Path: d.path, Rate: d.rate }));
  }

  // Resources: service-level fields, overridden by deploy.resources (as Compose does).
  const limits = s.deploy?.resources?.limits;
  const reservations = s.deploy?.resources?.reservations;
  const cpus = limits?.cpus ?? s.cpus;
  if (cpus !== undefined) h.NanoCpus = Math.round(cpus * 1e9);
  const mem = limits?.memory ?? s.mem_limit;
  if (mem !== undefined) h.Memory = mem;
  const memRes = reservations?.memory ?? s.mem_reservation;
  if (memRes !== undefined) h.MemoryReservation = memRes;
  const pids = limits?.pids ?? s.pids_limit;
  if (pids !== undefined) h.PidsLimit = pids;
  const devices = [...(reservations?.devices ?? []), ...(Array.isArray(s.gpus) ? s.gpus : [])];
  if (s.gpus === "all") devices.push({ capabilities: ["gpu"], count: "all" });
  if (devices.length) {
    h.DeviceRequests = devices.map((d) => ({
      ...(d.driver ? { Driver: d.driver } : {}),
      ...(d.count !== undefined ? { Count: d.count === "all" ? -1 : d.count } : {}),
      ...(d.device_ids ? { DeviceIDs: d.device_ids } : {}),
      Capabilities: [d.capabilities],
      ...(d.options ? { Options: d.options } : {}),
    }));
  }
  return h;
}

function restartFromDeploy(s: Service): string | undefined {
  const rp = s.deploy?.restart_policy;
  if (!rp?.condition) return undefined;
  if (rp.condition === "none") return "no";
  if (rp.condition === "any") return "always";
  return rp.max_attempts ? `on-failure:${rp.max_attempts}` : "on-failure";
}

/** `service:web` → `container:<project>-web-1`, as Compose resolves it. */
function resolveNetworkMode(project: Project, mode: string): string {
  if (mode.startsWith("service:")) {
    const svc = mode.slice("service:".length);
    const target = project.services[svc];
    return `container:${target?.container_name ?? `${project.name}-${svc}-1`}`;
  }
  return mode;
}

function volumesFrom(project: Project, v: string): string {
  const [src, mode] = v.split(":");
  if (src === undefined || src.startsWith("container:")) return src ? `${src.slice("container:".length)}${mode ? `:${mode}` : ""}` : v;
  const target = project.services[src];
  const name = target?.container_name ?? `${project.name}-${src}-1`;
  return mode ? `${name}:${mode}` : name;
}

/** `src:dst:opts` for the engine's Binds (a missing source is created by Docker, as Compose's short syntax does). */
function bindString(v: Extract<VolumeMount, { type: "bind" }>): string {
  const opts = [...(v.read_only ? ["ro"] : []), ...(v.bind?.propagation ? [v.bind.propagation] : []), v.bind!.selinux!];
  return `${v.source}:${v.target}:${opts.join(",")}`;
}

function mountSpec(project: Project, v: VolumeMount): MountSpec {
  const m: MountSpec = { Type: v.type, Target: v.target };
  if (v.read_only) m.ReadOnly = true;
  if (v.consistency) m.Consistency = v.consistency;
  switch (v.type) {
    case "bind":
      m.Source = v.source;
      // Compose creates a missing host path for short syntax; the engine's Mounts API refuses one unless asked.
      m.BindOptions = { CreateMountpoint: v.bind?.create_host_path ?? true, ...(v.bind?.propagation ? { Propagation: v.bind.propagation } : {}) };
      break;
    case "volume": {
      if (v.source) m.Source = project.volumes[v.source]?.name ?? v.source;
      const vo: NonNullable<MountSpec["VolumeOptions"]> = {};
      if (v.volume?.nocopy) vo.NoCopy = true;
      if (v.volume?.subpath) vo.Subpath = v.volume.subpath;
      if (v.volume?.labels) vo.Labels = v.volume.labels;
      if (Object.keys(vo).length) m.VolumeOptions = vo;
      break;
    }
    case "tmpfs":
      if (v.tmpfs?.size !== undefined || v.tmpfs?.mode !== undefined) {
        m.TmpfsOptions = {};
        if (v.tmpfs.size !== undefined) m.TmpfsOptions.SizeBytes = v.tmpfs.size;
        if (v.tmpfs.mode !== undefined) m.TmpfsOptions.Mode = v.tmpfs.mode;
      }
      break;
    default:
      if (v.source) m.Source = v.source;
  }
  return m;
}
