/**
 * The subset of the Docker Engine API's container-create body that Fizz writes
 * (POST /containers/create). Podman's compat API takes the same body.
 * Field names are the engine's (PascalCase); durations are nanoseconds.
 */

export interface EndpointConfig {
  Aliases?: string[];
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] };
  MacAddress?: string;
  DriverOpts?: Record<string, string>;
  GwPriority?: number;
}

export interface MountSpec {
  Type: "bind" | "volume" | "tmpfs" | "npipe" | "cluster" | "image";
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
  Consistency?: string;
  BindOptions?: { Propagation?: string; CreateMountpoint?: boolean };
  VolumeOptions?: { NoCopy?: boolean; Labels?: Record<string, string>; Subpath?: string };
  TmpfsOptions?: { SizeBytes?: number; Mode?: number };
}

export interface HostConfig {
  Mounts?: MountSpec[];
  /** `src:dst[:opts]` binds: only those relabelled for SELinux (`:z`/`:Z`), which the Mounts API cannot do. */
  Binds?: string[];
  PortBindings?: Record<string, { HostIp?: string; HostPort?: string }[]>;
  RestartPolicy?: { Name: "" | "no" | "always" | "on-failure" | "unless-stopped"; MaximumRetryCount?: number };
  /** The engine removes the container when it exits (`fizz run --rm`). */
  AutoRemove?: boolean;
  NetworkMode?: string;
  Privileged?: boolean;
  ReadonlyRootfs?: boolean;
  Init?: boolean;
  CapAdd?: string[];
  CapDrop?: string[];
  SecurityOpt?: string[];
  Dns?: string[];
  DnsOptions?: string[];
  DnsSearch?: string[];
  ExtraHosts?: string[];
  GroupAdd?: string[];
  IpcMode?: string;
  PidMode?: string;
  UTSMode?: string;
  UsernsMode?: string;
  Cgroup?: string;
  CgroupParent?: string;
  Isolation?: string;
  Runtime?: string;
  ShmSize?: number;
  Sysctls?: Record<string, string>;
  Tmpfs?: Record<string, string>;
  Ulimits?: { Name: string; Soft: number; Hard: number }[];
  LogConfig?: { Type: string; Config: Record<string, string> };
  Devices?: { PathOnHost: string; PathInContainer: string; CgroupPermissions: string }[];
  DeviceCgroupRules?: string[];
  DeviceRequests?: { Driver?: string; Count?: number; DeviceIDs?: string[]; Capabilities?: string[][]; Options?: Record<string, string> }[];
  OomKillDisable?: boolean;
  OomScoreAdj?: number;
  PidsLimit?: number;
  NanoCpus?: number;
  CpuShares?: number;
  CpuPeriod?: number;
  CpuQuota?: number;
  CpuRealtimeRuntime?: number;
  CpuRealtimePeriod?: number;
  CpusetCpus?: string;
  CpuCount?: number;
  CpuPercent?: number;
  Memory?: number;
  MemoryReservation?: number;
  MemorySwap?: number;
  MemorySwappiness?: number;
  BlkioWeight?: number;
  BlkioWeightDevice?: { Path: string; Weight: number }[];
  BlkioDeviceReadBps?: { Path: string; Rate: number }[];
  BlkioDeviceWriteBps?: { Path: string; Rate: number }[];
  BlkioDeviceReadIOps?: { Path: string; Rate: number }[];
  BlkioDeviceWriteIOps?: { Path: string; Rate: number }[];
  VolumesFrom?: string[];
  Links?: string[];
  StorageOpt?: Record<string, string>;
  Annotations?: Record<string, string>;
}

export interface ContainerCreateBody {
  Image: string;
  Hostname?: string;
  Domainname?: string;
  User?: string;
  Env?: string[];
  Cmd?: string[];
  Entrypoint?: string[];
  WorkingDir?: string;
  Labels?: Record<string, string>;
  ExposedPorts?: Record<string, Record<string, never>>;
  StopSignal?: string;
  /** Seconds. */
  StopTimeout?: number;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  MacAddress?: string;
  Healthcheck?: {
    Test?: string[];
    Interval?: number;
    Timeout?: number;
    Retries?: number;
    StartPeriod?: number;
    StartInterval?: number;
  };
  HostConfig: HostConfig;
  NetworkingConfig?: { EndpointsConfig: Record<string, EndpointConfig> };
}
