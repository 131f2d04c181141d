/**
 * The Docker Engine API JSON shapes fizz sends and reads (API 1.41, which
 * Podman's compat API also speaks). Only the fields we use are typed; the
 * engines send more, and an index signature is deliberately absent so a typo
 * in a field name is a compile error.
 */

export type Labels = Record<string, string>;
/** Docker's filter encoding: `{"label": ["a=b"], "status": ["running"]}`. */
export type Filters = Record<string, string[]>;

export interface PingResult {
  readonly apiVersion: string | undefined;
  readonly os: string | undefined;
  /** "Docker/20.10.24 (linux)" or "Libpod/4.3.1 (linux)" */
  readonly server: string | undefined;
  /** Present only on Podman. */
  readonly libpodApiVersion: string | undefined;
}

export interface VersionComponent {
  Name: string;
  Version: string;
  Details?: Record<string, string>;
}

export interface VersionInfo {
  Platform?: { Name: string };
  Components?: VersionComponent[];
  Version: string;
  ApiVersion: string;
  MinAPIVersion?: string;
  GitCommit?: string;
  GoVersion?: string;
  Os: string;
  Arch: string;
  KernelVersion?: string;
}

export interface SystemInfo {
  ID?: string;
  Name: string;
  /** Docker's data root; Podman reports its storage root (graphRoot) here. */
  DockerRootDir?: string;
  Containers: number;
  ContainersRunning: number;
  Images: number;
  Driver: string;
  OperatingSystem: string;
  OSType: string;
  Architecture: string;
  NCPU: number;
  MemTotal: number;
  ServerVersion: string;
  CgroupDriver?: string;
  /** The engine's clock (RFC 3339, nanoseconds), Docker's and Podman's compatible API. */
  SystemTime?: string;
  CgroupVersion?: string;
  SecurityOptions?: string[] | null;
  Warnings?: string[] | null;
}

// ---- images -----------------------------------------------------------------

export interface ImageSummary {
  Id: string;
  ParentId: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  Labels: Labels | null;
}

export interface ImageInspect {
  Id: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: string;
  Size: number;
  Architecture: string;
  Os: string;
  Config: {
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Env?: string[] | null;
    Labels?: Labels | null;
    WorkingDir?: string;
    ExposedPorts?: Record<string, object> | null;
    Healthcheck?: HealthConfig | null;
    User?: string;
  } | null;
}

export interface ImageDeleteItem {
  Untagged?: string;
  Deleted?: string;
}

/** One line of pull/push/build progress. */
export interface ProgressEvent {
  status?: string;
  id?: string;
  progress?: string;
  progressDetail?: { current?: number; total?: number };
  /** Build output text. */
  stream?: string;
  /** Build result: the image ID (`aux.ID`). */
  aux?: { ID?: string };
  error?: string;
  errorDetail?: { code?: number; message?: string };
}

// ---- containers ---------------------------------------------------------------

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  Retries?: number;
  StartPeriod?: number;
}

export interface PortBinding {
  HostIp?: string;
  HostPort?: string;
}

export interface RestartPolicy {
  Name: "" | "no" | "always" | "unless-stopped" | "on-failure";
  MaximumRetryCount?: number;
}

export interface Mount {
  Type: "bind" | "volume" | "tmpfs";
  Source?: string;
  Target: string;
  ReadOnly?: boolean;
}

export interface HostConfig {
  Binds?: string[];
  Mounts?: Mount[];
  PortBindings?: Record<string, PortBinding[]>;
  PublishAllPorts?: boolean;
  RestartPolicy?: RestartPolicy;
  NetworkMode?: string;
  AutoRemove?: boolean;
  Memory?: number;
  NanoCpus?: number;
  CpuShares?: number;
  PidsLimit?: number;
  Privileged?: boolean;
  CapAdd?: string[];
  CapDrop?: string[];
  ExtraHosts?: string[];
  Dns?: string[];
  Init?: boolean;
  ReadonlyRootfs?: boolean;
  Tmpfs?: Record<string, string>;
  Ulimits?: { Name: string; Soft: number; Hard: number }[];
  LogConfig?: { Type: string; Config?: Record<string, string> };
  Sysctls?: Record<string, string>;
}

export interface EndpointSettings {
  Aliases?: string[] | null;
  IPAMConfig?: { IPv4Address?: string; IPv6Address?: string } | null;
  NetworkID?: string;
  EndpointID?: string;
  Gateway?: string;
  IPAddress?: string;
  IPPrefixLen?: number;
  MacAddress?: string;
}

export interface ContainerCreateBody {
  Image: string;
  Cmd?: string[];
  Entrypoint?: string[];
  Env?: string[];
  Labels?: Labels;
  WorkingDir?: string;
  User?: string;
  Hostname?: string;
  Domainname?: string;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: HealthConfig;
  HostConfig?: HostConfig;
  NetworkingConfig?: { EndpointsConfig?: Record<string, EndpointSettings> };
}

export interface ContainerCreateResult {
  Id: string;
  Warnings: string[] | null;
}

export type EngineContainerState = "created" | "restarting" | "running" | "removing" | "paused" | "exited" | "dead";

export interface ContainerSummary {
  Id: string;
  Names: string[];
  Image: string;
  ImageID: string;
  Command: string;
  Created: number;
  State: EngineContainerState | string;
  Status: string;
  Labels: Labels | null;
  Ports: { IP?: string; PrivatePort: number; PublicPort?: number; Type: string }[] | null;
  NetworkSettings?: { Networks?: Record<string, EndpointSettings> | null } | null;
}

export interface ContainerState {
  Status: EngineContainerState | string;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  Health?: { Status: "starting" | "healthy" | "unhealthy" | string; FailingStreak: number } | null;
}

export interface ContainerInspect {
  Id: string;
  Name: string;
  Created: string;
  Path: string;
  Args: string[];
  State: ContainerState;
  Image: string;
  RestartCount: number;
  Config: {
    Hostname: string;
    Image: string;
    Cmd?: string[] | null;
    Entrypoint?: string[] | null;
    Env?: string[] | null;
    Labels?: Labels | null;
    Tty: boolean;
    User?: string;
    WorkingDir?: string;
  };
  HostConfig: HostConfig;
  NetworkSettings: {
    Ports?: Record<string, PortBinding[] | null> | null;
    Networks?: Record<string, EndpointSettings> | null;
    IPAddress?: string;
  };
  Mounts?: { Type: string; Name?: string; Source: string; Destination: string; RW: boolean }[];
}

export interface ContainerTop {
  Titles: string[];
  Processes: string[][];
}

/** A path's stat inside a container (`HEAD /containers/{id}/archive`). */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits: permission bits plus type bits (dir = 1<<31, symlink = 1<<27). */
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface ContainerWaitResult {
  StatusCode: number;
  Error?: { Message: string } | null;
}

export interface ExecCreateBody {
  Cmd: string[];
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  Tty?: boolean;
  Env?: string[];
  User?: string;
  WorkingDir?: string;
  Privileged?: boolean;
}

export interface ExecInspect {
  ID: string;
  Running: boolean;
  ExitCode: number | null;
  Pid: number;
  ContainerID: string;
  ProcessConfig?: { entrypoint: string; arguments: string[]; tty: boolean };
}

// ---- networks and volumes -------------------------------------------------------

export interface IpamConfig {
  Subnet?: string;
  Gateway?: string;
  IPRange?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

export interface NetworkCreateBody {
  Name: string;
  Driver?: string;
  Internal?: boolean;
  Attachable?: boolean;
  EnableIPv6?: boolean;
  CheckDuplicate?: boolean;
  IPAM?: { Driver?: string; Config?: IpamConfig[]; Options?: Record<string, string> };
  Options?: Record<string, string>;
  Labels?: Labels;
}

export interface NetworkInspect {
  Name: string;
  Id: string;
  Created: string;
  Scope: string;
  Driver: string;
  EnableIPv6: boolean;
  Internal: boolean;
  Attachable: boolean;
  IPAM: { Driver: string; Config: IpamConfig[] | null; Options?: Record<string, string> | null };
  Containers?: Record<string, { Name: string; EndpointID: string; MacAddress: string; IPv4Address: string; IPv6Address: string }> | null;
  Options?: Record<string, string> | null;
  Labels: Labels | null;
}

export interface VolumeCreateBody {
  Name?: string;
  Driver?: string;
  DriverOpts?: Record<string, string>;
  Labels?: Labels;
}

export interface VolumeInspect {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt?: string;
  Labels: Labels | null;
  Scope: string;
  Options?: Record<string, string> | null;
}

// ---- events ---------------------------------------------------------------------

export type EventType = "container" | "image" | "network" | "volume" | "daemon" | "plugin" | "service" | "node" | "secret" | "config" | "builder";

export interface EngineEvent {
  Type: EventType | string;
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope?: string;
  time: number;
  timeNano: number;
  /** Deprecated fields some engines still send. */
  status?: string;
  id?: string;
  from?: string;
}
