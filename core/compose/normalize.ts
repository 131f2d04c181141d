/**
 * Raw (interpolated, merged, extends-resolved) compose document → the typed
 * model. The service table below lists every field the compose spec defines;
 * each maps to a schema spec or a handler for its short/long syntaxes.
 */
import type {
  Build,
  ConfigDef,
  DependsOn,
  DependsOnCondition,
  DeviceMapping,
  EnvFile,
  Healthcheck,
  Network,
  PortMapping,
  Service,
  ServiceFileRef,
  ServiceNetwork,
  Ulimit,
  Volume,
  VolumeMount,
} from "./model.ts";
import { isDict, toDict } from "./merge.ts";
import { readBool, readFileMode, readInt, readObj, readSpec, readStr, readStrs, typeName, type Cx, type Schema, type Spec } from "./schema.ts";
import { echo } from "../limits.ts";
import type { Path } from "./source.ts";
import { parseDeviceShort, parsePortShort, parseVolumeShort } from "./syntax.ts";
import { limitMessage, MAX_REPLICAS } from "../limits.ts";
import { readXFizzService } from "./xfizz.ts";
import { ENV_FILE_FORMATS } from "./dotenv.ts";

const RESOURCE: Schema = { cpus: "num", memory: "bytes", pids: "int" };
const DEVICE_REQ: Spec = {
  obj: {
    capabilities: "list",
    driver: "str",
    count: { fn: (v, p, cx) => (v === "all" ? "all" : readInt(v, p, cx, 0)) },
    device_ids: "list",
    options: "dict",
  },
};
const UPDATE: Spec = {
  obj: {
    parallelism: "uint",
    delay: "dur",
    failure_action: { enum: ["continue", "rollback", "pause"] },
    monitor: "dur",
    max_failure_ratio: "num",
    order: { enum: ["stop-first", "start-first"] },
  },
};
export const DEPLOY_SCHEMA: Schema = {
  mode: { enum: ["replicated", "global", "replicated-job", "global-job"] },
  replicas: "uint",
  endpoint_mode: { enum: ["vip", "dnsrr"] },
  labels: "dict",
  placement: {
    obj: {
      constraints: "list",
      preferences: { listOf: { obj: { spread: "str" } } },
      max_replicas_per_node: "uint",
    },
  },
  resources: {
    obj: {
      limits: { obj: RESOURCE },
      reservations: { obj: { ...RESOURCE, devices: { listOf: DEVICE_REQ }, generic_resources: "any" } },
    },
  },
  restart_policy: { obj: { condition: { enum: ["none", "on-failure", "any"] }, delay: "dur", max_attempts: "uint", window: "dur" } },
  update_config: UPDATE,
  rollback_config: UPDATE,
};

const ULIMITS: Spec = {
  fn: (v, p, cx) => {
    if (!isDict(v)) return readSpec(v, p, cx, "map");
    const out: Record<string, Ulimit> = {};
    for (const k in v) {
    const val = v[k];
      if (isDict(val)) {
        const o = readObj(val, [...p, k], cx, { soft: "int", hard: "int" }, ["soft", "hard"]);
        if (o && typeof o.soft === "number" && typeof o.hard === "number") {
          if (o.soft > o.hard && o.hard !== -1) cx.diags.error([...p, k], "compose.bad_value", `soft limit ${o.soft} is above hard limit ${o.hard}`);
          out[k] = { soft: o.soft, hard: o.hard };
        }
      } else {
        const n = readInt(val, [...p, k], cx);
        if (n !== undefined) out[k] = { soft: n, hard: n };
      }
    }
    return out;
  },
};

const EXTRA_HOSTS: Spec = {
  fn: (v, p, cx) => {
    const d = toDict(v, "");
    if (!isDict(d)) return readSpec(v, p, cx, "dict");
    const out: Record<string, string[]> = {};
    for (const host in d) {
    const ip = d[host];
      if (ip === null || ip === undefined) {
        cx.diags.error([...p, host], "compose.bad_value", `extra host '${host}' has no address`, "write host:ip or host=ip");
        continue;
      }
      const list = Array.isArray(ip) ? ip : [ip];
      if (list.some((a) => typeof a === "object" && a !== null)) {
        cx.diags.error([...p, host], "compose.wrong_type", `extra host '${echo(host)}' must map to an address or a list of addresses, got ${typeName(ip)}`);
        continue;
      }
      const ips = list.map(String);
      out[host] = ips.map((a) => a.replace(/^\[(.*)\]$/, "$1"));
    }
    return out;
  },
};

/** secrets/configs references: a name, or {source, target, uid, gid, mode}. */
const FILE_REF: Spec = {
  fn: (v, p, cx) => {
    if (!Array.isArray(v)) return readSpec(v, p, cx, "list");
    const out: ServiceFileRef[] = [];
    v.forEach((item, i) => {
      if (typeof item === "string") out.push({ source: item });
      else {
        const o = readObj(item, [...p, i], cx, { source: "str", target: "str", uid: "str", gid: "str", mode: { fn: readFileMode } }, ["source"]);
        if (o && typeof o.source === "string") out.push(o as unknown as ServiceFileRef);
      }
    });
    return out;
  },
};

const HOOK_FIELDS: Schema = { command: { fn: (v, p, cx) => readCommand(v, p, cx) }, user: "str", privileged: "bool", working_dir: "str", environment: "env" };
const HOOK: Spec = { listOf: { obj: HOOK_FIELDS, required: ["command"] } };
/** pre_start runs a one-off container (its own image, or the service's) before the service starts. */
const PRE_START_HOOK: Spec = { listOf: { obj: { ...HOOK_FIELDS, image: "str", per_replica: "bool" } } };

const WATCH_ACTIONS = ["sync", "rebuild", "restart", "sync+restart", "sync+exec"] as const;
/** develop.watch: what `fizz watch` does on a change under each path. */
const DEVELOP: Spec = {
  fn: (v, p, cx) => {
    if (v === null) return {};
    const o = readObj(v, p, cx, {
      watch: {
        listOf: {
          obj: {
            path: { fn: (x, pp, c) => readNonEmpty(x, pp, c, "a watched path") },
            action: { enum: WATCH_ACTIONS },
            target: "str",
            exec: { obj: HOOK_FIELDS, required: ["command"] },
            include: "strs",
            ignore: "strs",
            initial_sync: "bool",
          },
          required: ["path", "action"],
        },
      },
    });
    if (!o) return undefined;
    const watch = (o.watch as Record<string, unknown>[] | undefined) ?? [];
    watch.forEach((w, i) => {
      if (typeof w.path === "string") w.path = cx.resolvePath(w.path);
      if ((w.action === "sync" || w.action === "sync+restart" || w.action === "sync+exec") && w.target === undefined) {
        cx.diags.error([...p, "watch", i], "compose.missing_field", `watch action '${String(w.action)}' needs a target (the path in the container to sync to)`);
      }
      if (w.action === "sync+exec" && w.exec === undefined) cx.diags.error([...p, "watch", i], "compose.missing_field", "watch action 'sync+exec' needs exec.command");
    });
    return o;
  },
};

function readNonEmpty(v: unknown, p: Path, cx: Cx, what: string): string | undefined {
  const s = readStr(v, p, cx);
  if (s === "") cx.diags.error(p, "compose.bad_value", `${what} cannot be empty`);
  return s === "" ? undefined : s;
}

const BUILD_SCHEMA: Schema = {
  context: "str",
  dockerfile: "str",
  dockerfile_inline: "str",
  args: "env",
  target: "str",
  labels: "dict",
  cache_from: "list",
  cache_to: "list",
  no_cache: "bool",
  no_cache_filter: "strs",
  pull: "bool",
  network: "str",
  shm_size: "bytes",
  extra_hosts: EXTRA_HOSTS,
  isolation: "str",
  privileged: "bool",
  secrets: FILE_REF,
  ssh: "env", // ["default", "key=path"] or {default: null, key: path}
  tags: "list",
  platforms: "list",
  ulimits: ULIMITS,
  additional_contexts: "dict",
  entitlements: "list",
  provenance: "any",
  sbom: "any",
};

function isRemoteContext(s: string): boolean {
  return /^(https?|git|ssh):\/\//.test(s) || s.startsWith("git@") || s.startsWith("github.com/") || /^[a-z]+-?image:\/\//.test(s) || s.startsWith("docker-image://");
}

function readBuild(v: unknown, p: Path, cx: Cx): Build | undefined {
  const raw = typeof v === "string" ? { context: v } : v;
  const o = readObj(raw, p, cx, BUILD_SCHEMA);
  if (!o) return undefined;
  const ctx = typeof o.context === "string" ? o.context : ".";
  const b = { ...o, context: isRemoteContext(ctx) ? ctx : cx.resolvePath(ctx), args: (o.args as Record<string, string | null>) ?? {} } as Build;
  if (b.dockerfile !== undefined && b.dockerfile_inline !== undefined) {
    cx.diags.error(p, "compose.conflict", "build.dockerfile and build.dockerfile_inline are mutually exclusive");
  }
  return b;
}

/** command/entrypoint: a string is split like a shell would (quotes honoured); a list is kept. */
export function readCommand(v: unknown, p: Path, cx: Cx): string[] | null | undefined {
  if (v === null) return null;
  if (typeof v === "string") return shellSplit(v);
  return readStrs(v, p, cx, false);
}

/** POSIX-ish word splitting, as Compose does with go-shellwords. */
export function shellSplit(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let inWord = false;
  let q: string | null = null;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (q) {
      if (c === q) q = null;
      else if (c === "\\" && q === '"' && i + 1 < s.length && '"\\$`'.includes(s[i + 1]!)) cur += s[++i];
      else cur += c;
    } else if (c === "'" || c === '"') {
      q = c;
      inWord = true;
    } else if (c === "\\" && i + 1 < s.length) {
      cur += s[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) out.push(cur);
      cur = "";
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}

function readPorts(v: unknown, p: Path, cx: Cx): PortMapping[] | undefined {
  if (!Array.isArray(v)) return readSpec(v, p, cx, "list") as undefined;
  const out: PortMapping[] = [];
  v.forEach((item, i) => {
    const ip = [...p, i];
    if (typeof item === "string" || typeof item === "number") {
      const r = parsePortShort(item);
      if (!r.ok) cx.diags.error(ip, "compose.bad_port", r.message);
      else for (const m of r.value) out.push(origin(m, i));
      return;
    }
    const o = readObj(
      item,
      ip,
      cx,
      {
        target: { fn: (x, pp, c) => readInt(x, pp, c, 0) },
        published: { fn: (x, pp, c) => readStr(x, pp, c) },
        host_ip: "str",
        protocol: { enum: ["tcp", "udp", "sctp"] },
        mode: { enum: ["ingress", "host"] },
        app_protocol: "str",
        name: "str",
      },
      ["target"],
    );
    if (!o || typeof o.target !== "number") return;
    if (o.target > 65535) cx.diags.error([...ip, "target"], "compose.bad_port", `container port ${o.target} is above 65535`);
    if (typeof o.published === "string" && !/^\d+(-\d+)?$/.test(o.published)) {
      cx.diags.error([...ip, "published"], "compose.bad_port", `invalid published port "${o.published}"`, "use a port like 8080 or a range like 8000-8010");
    }
    out.push(origin({ protocol: "tcp", mode: "ingress", ...o } as PortMapping, i));
  });
  return out;

  function origin(m: PortMapping, i: number): PortMapping {
    cx.portOrigins?.set(m, i);
    return m;
  }
}

function readVolumes(v: unknown, p: Path, cx: Cx): VolumeMount[] | undefined {
  if (!Array.isArray(v)) return readSpec(v, p, cx, "list") as undefined;
  const out: VolumeMount[] = [];
  v.forEach((item, i) => {
    const ip = [...p, i];
    if (typeof item === "string") {
      const r = parseVolumeShort(item);
      if (!r.ok) {
        cx.diags.error(ip, "compose.bad_volume", r.message);
        return;
      }
      const s = r.value;
      if (s.kind === "bind") {
        const bind: Record<string, unknown> = { create_host_path: true };
        if (s.propagation) bind.propagation = s.propagation;
        if (s.selinux) bind.selinux = s.selinux;
        out.push({
          type: "bind",
          source: cx.resolvePath(s.source!),
          target: s.target,
          ...(s.read_only ? { read_only: true } : {}),
          ...(s.consistency ? { consistency: s.consistency } : {}),
          bind,
        });
      } else {
        out.push({
          type: "volume",
          ...(s.source !== undefined ? { source: s.source } : {}),
          target: s.target,
          ...(s.read_only ? { read_only: true } : {}),
          ...(s.nocopy ? { volume: { nocopy: true } } : {}),
        });
      }
      return;
    }
    const o = readObj(
      item,
      ip,
      cx,
      {
        type: { enum: ["bind", "volume", "tmpfs", "npipe", "cluster", "image"] },
        source: "str",
        target: "str",
        read_only: "bool",
        consistency: "str",
        bind: { obj: { propagation: "str", create_host_path: "bool", selinux: { enum: ["z", "Z"] }, recursive: "str" } },
        volume: { obj: { nocopy: "bool", subpath: "str", labels: "dict" } },
        tmpfs: { obj: { size: { fn: readTmpfsSize }, mode: "uint" } },
        image: { obj: { subpath: "str" } },
      },
      ["type", "target"],
    );
    if (!o || typeof o.type !== "string" || typeof o.target !== "string") return;
    if (o.type === "bind") {
      if (typeof o.source !== "string") {
        cx.diags.error(ip, "compose.missing_field", "a bind mount needs a source path");
        return;
      }
      o.source = cx.resolvePath(o.source);
    }
    if (o.type === "tmpfs" && o.source !== undefined) cx.diags.error([...ip, "source"], "compose.bad_volume", "a tmpfs mount has no source");
    out.push(o as unknown as VolumeMount);
  });
  return out;
}

function readNetworksOfService(v: unknown, p: Path, cx: Cx): Record<string, ServiceNetwork | null> | undefined {
  const d = toDict(v, "");
  if (!isDict(d)) return readSpec(v, p, cx, "map") as undefined;
  const out: Record<string, ServiceNetwork | null> = {};
  for (const name in d) {
    const val = d[name];
    if (val === null) {
      out[name] = null;
      continue;
    }
    const o = readObj(val, [...p, name], cx, {
      aliases: "list",
      ipv4_address: "str",
      ipv6_address: "str",
      link_local_ips: "list",
      mac_address: "str",
      priority: "int",
      gw_priority: "int",
      driver_opts: "dict",
      interface_name: "str",
    });
    if (o) out[name] = o as ServiceNetwork;
  }
  return out;
}

const CONDITIONS: readonly DependsOnCondition[] = ["service_started", "service_healthy", "service_completed_successfully"];

function readDependsOn(v: unknown, p: Path, cx: Cx): Record<string, DependsOn> | undefined {
  if (Array.isArray(v)) {
    const out: Record<string, DependsOn> = {};
    v.forEach((name, i) => {
      const s = readStr(name, [...p, i], cx);
      if (s !== undefined) out[s] = { condition: "service_started", restart: false, required: true };
    });
    return out;
  }
  if (!isDict(v)) return readSpec(v, p, cx, "list") as undefined;
  const out: Record<string, DependsOn> = {};
  for (const name in v) {
    const val = v[name];
    if (val === null) {
      out[name] = { condition: "service_started", restart: false, required: true };
      continue;
    }
    const o = readObj(val, [...p, name], cx, { condition: { enum: CONDITIONS }, restart: "bool", required: "bool" }, ["condition"]);
    if (!o) continue;
    out[name] = {
      condition: (o.condition as DependsOnCondition) ?? "service_started",
      restart: (o.restart as boolean) ?? false,
      required: (o.required as boolean) ?? true,
    };
  }
  return out;
}

function readEnvFile(v: unknown, p: Path, cx: Cx): EnvFile[] | undefined {
  const items = typeof v === "string" ? [v] : v;
  if (!Array.isArray(items)) {
    // A number (env_file: 0) reads as its string, like other string fields; anything else is reported there.
    const strs = readSpec(v, p, cx, "strs") as string[] | undefined;
    return strs?.map((s) => ({ path: cx.resolvePath(s), required: true }));
  }
  const out: EnvFile[] = [];
  items.forEach((item, i) => {
    if (typeof item === "string") out.push({ path: cx.resolvePath(item), required: true });
    else {
      const o = readObj(item, [...p, i], cx, { path: "str", required: "bool", format: { enum: ENV_FILE_FORMATS } }, ["path"]);
      if (o && typeof o.path === "string") out.push({ path: cx.resolvePath(o.path), required: (o.required as boolean) ?? true, ...(o.format ? { format: o.format as string } : {}) });
    }
  });
  return out;
}

function readHealthcheck(v: unknown, p: Path, cx: Cx): Healthcheck | undefined {
  const o = readObj(v, p, cx, {
    test: { fn: (x, pp, c) => (typeof x === "string" ? ["CMD-SHELL", x] : readStrs(x, pp, c, false)) },
    interval: "dur",
    timeout: "dur",
    retries: "uint",
    start_period: "dur",
    start_interval: "dur",
    disable: "bool",
  });
  if (!o) return undefined;
  const test = o.test as string[] | undefined;
  if (test && test.length && !["NONE", "CMD", "CMD-SHELL"].includes(test[0]!)) {
    cx.diags.error([...p, "test"], "compose.bad_value", `healthcheck test must start with "CMD", "CMD-SHELL" or "NONE", got "${test[0]}"`, `write ["CMD", ${JSON.stringify(test[0])}, …] or a plain string`);
  }
  const disable = o.disable === true || (test !== undefined && test[0] === "NONE");
  return { ...(o as Omit<Healthcheck, "disable">), disable };
}

function readDevices(v: unknown, p: Path, cx: Cx): DeviceMapping[] | undefined {
  if (!Array.isArray(v)) return readSpec(v, p, cx, "list") as undefined;
  const out: DeviceMapping[] = [];
  v.forEach((item, i) => {
    if (typeof item === "string") {
      const r = parseDeviceShort(item);
      if (!r.ok) cx.diags.error([...p, i], "compose.bad_device", r.message);
      else out.push(r.value);
    } else {
      const o = readObj(item, [...p, i], cx, { source: "str", target: "str", permissions: "str" }, ["source"]);
      if (o && typeof o.source === "string") out.push({ ...(o as object), target: (o.target as string) ?? o.source } as DeviceMapping);
    }
  });
  return out;
}

const BLKIO_RATE: Spec = { listOf: { obj: { path: "str", rate: "bytes" }, required: ["path", "rate"] } };
const BLKIO_IOPS: Spec = { listOf: { obj: { path: "str", rate: "uint" }, required: ["path", "rate"] } };

/** Every service field the compose spec defines. Keep sorted by concern, not alphabet. */
export const SERVICE_SCHEMA: Schema = {
  image: "str",
  build: { fn: readBuild },
  pull_policy: { fn: (v, p, cx) => readPullPolicy(v, p, cx) },
  pull_refresh_after: "str",
  platform: "str",
  container_name: { fn: readContainerName },
  hostname: "str",
  domainname: "str",
  command: { fn: readCommand },
  entrypoint: { fn: readCommand },
  working_dir: "str",
  user: "str",
  environment: "env",
  env_file: { fn: readEnvFile },
  labels: "dict",
  label_file: "strs",
  annotations: "dict",
  ports: { fn: readPorts },
  expose: "list",
  volumes: { fn: readVolumes },
  volumes_from: "list",
  tmpfs: "strs",
  networks: { fn: readNetworksOfService },
  network_mode: "str",
  depends_on: { fn: readDependsOn },
  links: "list",
  external_links: "list",
  extra_hosts: EXTRA_HOSTS,
  dns: "strs",
  dns_opt: "list",
  dns_search: "strs",
  mac_address: "str",
  healthcheck: { fn: readHealthcheck },
  restart: { fn: (v, p, cx) => readRestart(v, p, cx) },
  deploy: { obj: DEPLOY_SCHEMA },
  scale: "uint",
  stop_grace_period: "dur",
  stop_signal: "str",
  init: "bool",
  tty: "bool",
  stdin_open: "bool",
  privileged: "bool",
  read_only: "bool",
  secrets: FILE_REF,
  configs: FILE_REF,
  logging: { obj: { driver: "str", options: "dict" } },
  ulimits: ULIMITS,
  sysctls: "dict",
  cap_add: "list",
  cap_drop: "list",
  security_opt: "list",
  devices: { fn: readDevices },
  device_cgroup_rules: "list",
  group_add: "list",
  ipc: "str",
  pid: "str",
  uts: "str",
  userns_mode: "str",
  cgroup: { enum: ["host", "private"] },
  cgroup_parent: "str",
  isolation: "str",
  runtime: "str",
  storage_opt: "dict",
  shm_size: "bytes",
  oom_kill_disable: "bool",
  oom_score_adj: { fn: (v, p, cx) => readRange(v, p, cx, -1000, 1000) },
  pids_limit: "int",
  cpus: "num",
  cpu_count: "uint",
  cpu_percent: { fn: (v, p, cx) => readRange(v, p, cx, 0, 100) },
  cpu_shares: "int",
  cpu_period: "int",
  cpu_quota: "int",
  cpu_rt_runtime: "dur",
  cpu_rt_period: "dur",
  cpuset: "str",
  mem_limit: "bytes",
  mem_reservation: "bytes",
  memswap_limit: "bytes",
  mem_swappiness: { fn: (v, p, cx) => readRange(v, p, cx, 0, 100) },
  blkio_config: {
    obj: {
      weight: "uint",
      weight_device: { listOf: { obj: { path: "str", weight: "uint" }, required: ["path", "weight"] } },
      device_read_bps: BLKIO_RATE,
      device_write_bps: BLKIO_RATE,
      device_read_iops: BLKIO_IOPS,
      device_write_iops: BLKIO_IOPS,
    },
  },
  credential_spec: "map",
  gpus: { fn: (v, p, cx) => (v === "all" ? "all" : readSpec(v, p, cx, { listOf: DEVICE_REQ })) },
  develop: DEVELOP,
  pre_start: PRE_START_HOOK,
  post_start: HOOK,
  pre_stop: HOOK,
  attach: "bool",
  provider: "any",
  use_api_socket: "bool",
  models: "any",
  profiles: "list",
  extends: "any", // resolved before normalisation
};

function readRange(v: unknown, p: Path, cx: Cx, min: number, max: number): number | undefined {
  const n = readInt(v, p, cx);
  if (n === undefined) return undefined;
  if (n < min || n > max) {
    cx.diags.error(p, "compose.bad_value", `${n} is out of range ${min}..${max}`);
    return undefined;
  }
  return n;
}

function readRestart(v: unknown, p: Path, cx: Cx): string | undefined {
  const s = v === false ? "no" : readStr(v, p, cx);
  if (s === undefined) return undefined;
  if (!/^(no|always|unless-stopped|on-failure(:\d+)?)$/.test(s)) {
    cx.diags.error(p, "compose.bad_value", `unknown restart policy '${s}'`, "use no, always, on-failure[:max-retries] or unless-stopped");
    return undefined;
  }
  return s;
}

function readTmpfsSize(v: unknown, p: Path, cx: Cx): number | undefined {
  if (v === -1 || v === "-1" || (typeof v === "number" && v < 0) || (typeof v === "string" && /^\s*-/.test(v))) {
    cx.diags.error(p, "compose.bad_bytes", `tmpfs size cannot be negative, got ${String(v)}`, "give a size like 64m, or leave it out for the engine's default");
    return undefined;
  }
  return readSpec(v, p, cx, "bytes") as number | undefined;
}

/** The spec's pattern: what the engine accepts as a container name. */
function readContainerName(v: unknown, p: Path, cx: Cx): string | undefined {
  const s = readStr(v, p, cx);
  if (s !== undefined && !/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(s)) {
    cx.diags.error(p, "compose.bad_value", `invalid container_name '${s}'`, "use letters, digits, '.', '-' and '_', starting with a letter or digit, at least 2 characters");
    return undefined;
  }
  return s;
}

function readPullPolicy(v: unknown, p: Path, cx: Cx): string | undefined {
  const s = readStr(v, p, cx);
  if (s === undefined) return undefined;
  if (!/^(always|never|missing|build|if_not_present|refresh|daily|weekly|every_(\d+[smhdw])+)$/.test(s)) {
    cx.diags.error(p, "compose.bad_value", `unknown pull_policy '${s}'`, "use always, never, missing, build, refresh, daily, weekly or every_<duration>");
    return undefined;
  }
  return s;
}

export function normalizeService(name: string, raw: unknown, p: Path, cx: Cx): Service | undefined {
  if (raw === null) raw = {};
  if (!isDict(raw)) {
    cx.diags.error(p, "compose.wrong_type", `service '${name}' must be a mapping`);
    return undefined;
  }
  const o = readObj(raw, p, cx, SERVICE_SCHEMA) ?? {};
  const extensions: Record<string, unknown> = {};
  for (const k in raw) if (k.startsWith("x-") && k !== "x-fizz") extensions[k] = raw[k];
  delete o.extends;
  const svc = {
    ...o,
    name,
    profiles: (o.profiles as string[]) ?? [],
    environment: (o.environment as Record<string, string | null>) ?? {},
    labels: (o.labels as Record<string, string>) ?? {},
    ports: (o.ports as PortMapping[]) ?? [],
    volumes: (o.volumes as VolumeMount[]) ?? [],
    networks: (o.networks as Record<string, ServiceNetwork | null>) ?? {},
    depends_on: (o.depends_on as Record<string, DependsOn>) ?? {},
    secrets: (o.secrets as ServiceFileRef[]) ?? [],
    configs: (o.configs as ServiceFileRef[]) ?? [],
    x_fizz: raw["x-fizz"] === undefined ? undefined : readXFizzService(raw["x-fizz"], [...p, "x-fizz"], cx),
    extensions,
  } as Service;
  if (svc.image === undefined && svc.build === undefined && svc.provider === undefined) {
    cx.diags.error(p, "compose.missing_field", `service '${name}' has neither an image nor a build section`, "add image: <name> or build: <context>");
  }
  if (svc.deploy?.replicas !== undefined && svc.scale !== undefined && svc.deploy.replicas !== svc.scale) {
    cx.diags.error([...p, "scale"], "compose.conflict", `scale (${svc.scale}) and deploy.replicas (${svc.deploy.replicas}) disagree`);
  }
  for (const [field, n] of [["deploy.replicas", svc.deploy?.replicas], ["scale", svc.scale]] as const) {
    if (typeof n === "number" && n > MAX_REPLICAS) cx.diags.error([...p, ...field.split(".")], "compose.too_many_replicas", limitMessage("replicas", field, n), `run at most ${MAX_REPLICAS} replicas of one service`);
  }
  if (svc.network_mode !== undefined && raw.networks !== undefined) {
    cx.diags.error([...p, "network_mode"], "compose.conflict", "network_mode and networks cannot both be set");
  }
  return svc;
}

const NETWORK_SCHEMA: Schema = {
  name: "str",
  driver: "str",
  driver_opts: "dict",
  attachable: "bool",
  enable_ipv4: "bool",
  enable_ipv6: "bool",
  internal: "bool",
  external: { fn: readExternal },
  labels: "dict",
  ipam: {
    obj: {
      driver: "str",
      config: { listOf: { obj: { subnet: "str", ip_range: "str", gateway: "str", aux_addresses: "map" } } },
      options: "map",
    },
  },
};

function readExternal(v: unknown, p: Path, cx: Cx): unknown {
  // Legacy `external: {name: x}` means external with that engine name.
  if (isDict(v)) return readObj(v, p, cx, { name: "str" });
  return readBool(v, p, cx);
}

function extOf(raw: unknown): Record<string, unknown> {
  const e: Record<string, unknown> = {};
  if (!isDict(raw)) return e;
  for (const k in raw) if (k.startsWith("x-")) e[k] = raw[k];
  return e;
}

function resourceName(project: string, key: string, o: Record<string, unknown>): { name: string; external: boolean } {
  const ext = o.external;
  if (isDict(ext)) return { name: typeof ext.name === "string" ? ext.name : typeof o.name === "string" ? o.name : key, external: true };
  if (ext === true) return { name: typeof o.name === "string" ? o.name : key, external: true };
  return { name: typeof o.name === "string" ? o.name : `${project}_${key}`, external: false };
}

export function normalizeNetwork(project: string, key: string, raw: unknown, p: Path, cx: Cx): Network | undefined {
  const o = readObj(raw ?? {}, p, cx, NETWORK_SCHEMA);
  if (!o) return undefined;
  const { name, external } = resourceName(project, key, o);
  const { name: _n, external: _e, ...rest } = o;
  const n = { ...rest, name, external, labels: (o.labels as Record<string, string>) ?? {}, extensions: extOf(raw) } as Network;
  if (external) {
    // Compose accepts these and ignores them: the network exists already, Fizz only attaches to it.
    for (const k of Object.keys(rest)) if (k !== "labels") cx.diags.warn([...p, k], "compose.ignored", `'${k}' is ignored: network '${key}' is external, so Fizz uses it as it is`);
  }
  return n;
}

const VOLUME_SCHEMA: Schema = { name: "str", driver: "str", driver_opts: "dict", external: { fn: readExternal }, labels: "dict" };

export function normalizeVolume(project: string, key: string, raw: unknown, p: Path, cx: Cx): Volume | undefined {
  const o = readObj(raw ?? {}, p, cx, VOLUME_SCHEMA);
  if (!o) return undefined;
  const { name, external } = resourceName(project, key, o);
  const { name: _n, external: _e, ...rest } = o;
  if (external) {
    for (const k of Object.keys(rest)) if (k !== "labels") cx.diags.error([...p, k], "compose.conflict", `volume '${key}' is external, so '${k}' cannot be set`);
  }
  return { ...rest, name, external, labels: (o.labels as Record<string, string>) ?? {}, extensions: extOf(raw) } as Volume;
}

const SECRET_SCHEMA: Schema = {
  name: "str",
  file: "str",
  environment: "str",
  content: "str",
  external: { fn: readExternal },
  labels: "dict",
  driver: "str",
  driver_opts: "dict",
  template_driver: "str",
};

export function normalizeSecret(kind: "secret" | "config", project: string, key: string, raw: unknown, p: Path, cx: Cx): ConfigDef | undefined {
  const schema = kind === "secret" ? (({ content: _c, ...s }) => s)(SECRET_SCHEMA) : SECRET_SCHEMA;
  const o = readObj(raw, p, cx, schema);
  if (!o) return undefined;
  const { name, external } = resourceName(project, key, o);
  const { name: _n, external: _e, ...rest } = o;
  // An inline age-encrypted value (`x-fizz: {encrypted: …}`, GitOps) is a source of its own.
  const xf = (raw as Record<string, unknown> | null)?.["x-fizz"];
  const inline = typeof xf === "object" && xf !== null && (xf as Record<string, unknown>).encrypted !== undefined;
  const sources = [...["file", "environment", "content"].filter((k) => o[k] !== undefined), ...(inline ? ["x-fizz.encrypted"] : [])];
  if (!external && sources.length !== 1 && o.driver === undefined) {
    cx.diags.error(
      p,
      sources.length ? "compose.conflict" : "compose.missing_field",
      sources.length ? `${kind} '${key}' sets ${sources.join(" and ")}; set exactly one` : `${kind} '${key}' needs one of ${kind === "secret" ? "file or environment" : "file, environment or content"} (or x-fizz.encrypted, or external: true)`,
    );
  }
  if (typeof rest.file === "string") rest.file = cx.resolvePath(rest.file);
  return { ...rest, name, external, labels: (o.labels as Record<string, string>) ?? {}, extensions: extOf(raw) } as ConfigDef;
}

