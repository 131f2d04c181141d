/**
 * An engine in memory, for unit tests and the cluster simulator: containers,
 * networks, volumes and images as the deployments controller sees them
 * (`NodeEngine`), on an injected clock, with hooks to make starts fail,
 * health checks fail, or the engine go away. Deterministic: ids come from a
 * counter. Several agents may share one (as nodes sharing a Docker engine do).
 */
import type { ContainerCreateBody } from "../../core/deploy/engine-body.ts";
import { actualState } from "../../core/deploy/actual.ts";
import { LABEL } from "../../core/labels.ts";
import type { DesiredNetwork, DesiredVolume } from "../../core/reconcile/types.ts";
import type { NodeEngine } from "../../controllers/deployments/node-engine.ts";
import type { ContainerInspect, ContainerSummary } from "../../platform/engine/index.ts";
import type { GateStatus, ExecutorEngine } from "../../platform/deploy/executor.ts";

export interface MemoryContainer {
  readonly id: string;
  name: string;
  readonly image: string;
  readonly labels: Record<string, string>;
  readonly env: readonly string[];
  /** The command it was created with (`Cmd`). */
  readonly cmd: readonly string[];
  readonly hasHealthcheck: boolean;
  state: "created" | "running" | "exited" | "dead";
  exitCode: number;
  /** ms on the engine's clock. */
  readonly createdAt: number;
  startedAt: number;
  /** Set by a test: the health check fails from now on. */
  unhealthy: boolean;
}

export interface MemoryEngineOptions {
  readonly now: () => number;
  readonly name?: string;
  /** The engine instance's id (default: a counter, so each engine differs). */
  readonly id?: string;
  /** Images present from the start (refs as written, e.g. `fizz-test/busybox:1`). */
  readonly images?: readonly string[];
  /** Images a pull can fetch (default: any). */
  readonly registry?: (ref: string) => boolean;
  /** A start that fails (the engine's error message), or undefined to start. */
  readonly failStart?: (c: MemoryContainer) => string | undefined;
  /** How long a health check stays `starting` after a start (ms). */
  readonly healthDelayMs?: number;
  /** A container whose health check fails (as its command made it: no `/ok`, say). */
  readonly unhealthy?: (c: MemoryContainer) => boolean;
}

let engines = 0;

export class MemoryEngine implements NodeEngine {
  readonly name: string;
  /** This engine instance's id (as a Docker daemon's ID): agents sharing one see the same. */
  readonly id: string;
  readonly containersById = new Map<string, MemoryContainer>();
  readonly networks = new Map<string, Record<string, string>>();
  readonly volumes = new Map<string, Record<string, string>>();
  readonly images = new Set<string>();
  private seq = 0;
  /** While set, every call fails as an unreachable engine would. */
  down = false;
  /** Every mutating call, in order (for assertions). */
  readonly calls: string[] = [];

  constructor(private readonly o: MemoryEngineOptions) {
    this.name = o.name ?? "memory";
    this.id = o.id ?? `mem${++engines}`;
    for (const i of o.images ?? []) this.images.add(norm(i));
  }

  private check(): void {
    if (this.down) throw new Error("engine unreachable (memory engine is down)");
  }

  private status(c: MemoryContainer): string {
    if (c.state === "created") return "Created";
    if (c.state === "exited" || c.state === "dead") return `Exited (${c.exitCode}) 1 second ago`;
    if (!c.hasHealthcheck) return "Up 1 second";
    if (c.unhealthy || c.env.includes("BROKEN=yes") || this.o.unhealthy?.(c)) return "Up 1 second (unhealthy)";
    return this.o.now() - c.startedAt < (this.o.healthDelayMs ?? 0) ? "Up 1 second (health: starting)" : "Up 1 second (healthy)";
  }

  summary(c: MemoryContainer): ContainerSummary {
    return { Id: c.id, Names: [`/${c.name}`], Image: c.image, ImageID: `sha256:${norm(c.image)}`, Command: "", Created: Math.floor(c.createdAt / 1000), State: c.state, Status: this.status(c), Labels: c.labels, Ports: [] };
  }

  list(filter: (c: MemoryContainer) => boolean = () => true): ContainerSummary[] {
    this.check();
    return [...this.containersById.values()].filter(filter).map((c) => this.summary(c));
  }

  async containers(project: string): Promise<ContainerSummary[]> {
    return this.list((c) => c.labels[LABEL.project] === project);
  }

  async managed(): Promise<ContainerSummary[]> {
    return this.list((c) => c.labels[LABEL.managed] === "true");
  }

  async observe(project: string, node?: string) {
    const containers = this.list((c) => c.labels[LABEL.project] === project && (node === undefined || !c.labels[LABEL.node] || c.labels[LABEL.node] === node));
    const networks = [...this.networks].filter(([, l]) => l[LABEL.project] === project).map(([Name, Labels]) => ({ Name, Labels }));
    const volumes = [...this.volumes].filter(([, l]) => l[LABEL.project] === project).map(([Name, Labels]) => ({ Name, Labels }));
    const images = [...this.images].map((ref) => ({ Id: `sha256:${ref}`, RepoTags: [ref] }));
    return { actual: actualState({ containers, networks, volumes, images }), containers };
  }

  async find(id: string): Promise<ContainerInspect | undefined> {
    this.check();
    const c = this.containersById.get(id) ?? [...this.containersById.values()].find((x) => x.name === id || x.id.startsWith(id));
    if (!c) return undefined;
    return {
      Id: c.id,
      Name: `/${c.name}`,
      Created: new Date(c.createdAt).toISOString(),
      Path: "",
      Args: [],
      State: { Status: c.state, Running: c.state === "running", Paused: false, Restarting: false, OOMKilled: false, Dead: c.state === "dead", Pid: 0, ExitCode: c.exitCode, Error: "", StartedAt: new Date(c.startedAt).toISOString(), FinishedAt: "" },
      Image: c.image,
      RestartCount: 0,
      Config: { Hostname: c.name, Image: c.image, Env: [...c.env], Labels: c.labels, Tty: false },
      HostConfig: {},
      NetworkSettings: {},
    } as ContainerInspect;
  }

  async *logs(): AsyncGenerator<never> {}

  async restart(id: string): Promise<void> {
    this.check();
    const c = this.containersById.get(id);
    if (!c) throw new Error(`no such container: ${id}`);
    this.calls.push(`restartContainer ${c.name}`);
    c.unhealthy = false;
    c.state = "running";
    c.startedAt = this.o.now();
  }

  /** A test's hand on a container: by name. */
  byName(name: string): MemoryContainer | undefined {
    return [...this.containersById.values()].find((c) => c.name === name);
  }

  /** Containers in a state, by project (and service). */
  running(project: string, service?: string): MemoryContainer[] {
    return [...this.containersById.values()].filter((c) => c.state === "running" && c.labels[LABEL.project] === project && (service === undefined || c.labels[LABEL.service] === service));
  }

  executor(): ExecutorEngine {
    const e = this;
    const get = (id: string) => {
      e.check();
      const c = e.containersById.get(id) ?? e.byName(id);
      if (!c) throw new Error(`no such container: ${id}`);
      return c;
    };
    return {
      async createNetwork(n: DesiredNetwork) {
        e.check();
        e.calls.push(`createNetwork ${n.name}`);
        if (e.networks.has(n.name)) throw new Error(`network with name ${n.name} already exists`);
        e.networks.set(n.name, { ...(n.labels ?? {}) });
      },
      async removeNetwork(name: string) {
        e.check();
        e.calls.push(`removeNetwork ${name}`);
        e.networks.delete(name);
      },
      async createVolume(v: DesiredVolume) {
        e.check();
        e.calls.push(`createVolume ${v.name}`);
        e.volumes.set(v.name, { ...(v.labels ?? {}) });
      },
      async removeVolume(name: string) {
        e.check();
        e.calls.push(`removeVolume ${name}`);
        e.volumes.delete(name);
      },
      async pullImage(ref: string) {
        e.check();
        e.calls.push(`pullImage ${ref}`);
        if (e.o.registry && !e.o.registry(ref)) throw new Error(`pull access denied for ${ref}`);
        e.images.add(norm(ref));
      },
      async buildImage(_t, service: string, image: string) {
        e.check();
        e.calls.push(`buildImage ${service} ${image}`);
        e.images.add(norm(image));
      },
      async createContainer(name: string, body: ContainerCreateBody) {
        e.check();
        e.calls.push(`createContainer ${name}`);
        if (e.byName(name)) throw new Error(`Conflict. The container name "/${name}" is already in use`);
        if (!e.images.has(norm(body.Image))) throw new Error(`No such image: ${body.Image}`);
        const id = `c${(++e.seq).toString(16).padStart(12, "0")}`;
        const hc = body.Healthcheck as { Test?: string[] } | undefined;
        e.containersById.set(id, {
          id,
          name,
          image: body.Image,
          labels: { ...(body.Labels ?? {}) },
          env: [...((body.Env as string[] | undefined) ?? [])],
          cmd: [...((body.Cmd as string[] | undefined) ?? [])],
          hasHealthcheck: hc?.Test !== undefined && hc.Test[0] !== "NONE",
          state: "created",
          exitCode: 0,
          createdAt: e.o.now(),
          startedAt: 0,
          unhealthy: false,
        });
        return id;
      },
      async connectNetwork() {
        e.check();
      },
      async startContainer(id: string) {
        const c = get(id);
        e.calls.push(`startContainer ${c.name}`);
        const why = e.o.failStart?.(c);
        if (why) {
          c.state = "exited";
          c.exitCode = 127;
          throw new Error(why);
        }
        c.state = "running";
        c.startedAt = e.o.now();
      },
      async stopContainer(id: string) {
        const c = get(id);
        e.calls.push(`stopContainer ${c.name}`);
        c.state = "exited";
        c.exitCode = 0;
      },
      async renameContainer(id: string, name: string) {
        const c = get(id);
        e.calls.push(`renameContainer ${c.name} ${name}`);
        c.name = name;
      },
      async removeContainer(id: string) {
        e.check();
        const c = e.containersById.get(id) ?? e.byName(id);
        if (!c) return;
        e.calls.push(`removeContainer ${c.name}`);
        e.containersById.delete(c.id);
      },
      async serviceContainers(project: string, service: string): Promise<{ id: string; name: string; status: GateStatus }[]> {
        e.check();
        return [...e.containersById.values()]
          .filter((c) => c.labels[LABEL.project] === project && c.labels[LABEL.service] === service)
          .map((c) => {
            const s = e.summary(c).Status;
            const health = /\(healthy\)/.test(s) ? "healthy" : /\(unhealthy\)/.test(s) ? "unhealthy" : /starting/.test(s) ? "starting" : "none";
            return { id: c.id, name: c.name, status: { state: c.state, health, exitCode: c.exitCode } };
          });
      },
    };
  }
}

/** `busybox` and `busybox:latest` are one image; `docker.io/library/` prefixes are dropped. */
function norm(ref: string): string {
  const r = ref.replace(/^docker\.io\/(library\/)?/, "");
  const last = r.slice(r.lastIndexOf("/") + 1);
  return r.includes("@") || last.includes(":") ? r : `${r}:latest`;
}
